// A reward model: the decoder stack of CausalLM.cs with a scalar head on the last token, stored as transformers'
// Qwen2ForSequenceClassification / LlamaForSequenceClassification / Qwen3ForSequenceClassification (and the MoE
// families' Qwen3MoeForSequenceClassification / DeepseekV3ForSequenceClassification) with num_labels = 1 (the layout
// TRL's RewardTrainer trains and saves):
//
//   h = model(ids)                     (B, T, C)   the same model.* weights and forward as the causal LM
//   r = score.weight · h[last token]   (B)         score.weight is (1, C), no bias
//
// transformers takes the last token as the rightmost id that is not pad_token_id. Here callers pass each row's
// length (rows are right-padded), which is the same token unless a sequence itself ends in the pad id.
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace R1Sharp.Model;

/// <summary>A sequence scorer (reward model): <c>model.*</c> plus <c>score</c>, one scalar per sequence.</summary>
public sealed class SequenceScorer : nn.Module, IPretrainedModel
{
    public DecoderStack model;
    public Dense score;

    public SequenceScorer(ModelConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(SequenceScorer))
    {
        if (config.Head != ModelHead.SequenceClassification)
            throw new ArgumentException($"config is a {config.Head} model; a SequenceScorer needs Head = SequenceClassification", nameof(config));
        device ??= CPU;
        Config = config;
        model = new DecoderStack(config, dtype, device);
        score = new Dense(config.HiddenSize, 1, false, dtype, device);
        RegisterComponents();
    }

    public ModelConfig Config { get; }
    public ScalarType DType => model.norm.weight.dtype;
    public Device Device => model.norm.weight.device;

    /// <summary>
    /// Float32 scores (B) of right-padded rows: <paramref name="ids"/> (B, T), <paramref name="lengths"/> (B) int64,
    /// the number of real tokens of each row (≥ 1). Right padding needs no mask: causal attention never looks ahead.
    /// </summary>
    public Tensor Forward(Tensor ids, Tensor lengths, Tensor? positions = null, Tensor? mask = null)
    {
        var hidden = model.Forward(ids, positions, mask);                                  // (B, T, C)
        var index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, hidden.shape[2]);           // (B, 1, C)
        var last = hidden.gather(1, index).squeeze(1);                                     // (B, C)
        return score.forward(last).squeeze(-1).to(ScalarType.Float32);                    // (B)
    }

    /// <summary>A fresh head: score.weight ~ N(0, initializer_range), as transformers initialises a new classification head.</summary>
    public void InitializeHead(long seed)
    {
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed, CPU);
        score.weight.copy_(normal(0.0, Config.InitializerRange, score.weight.shape, dtype: ScalarType.Float32, generator: generator).to(score.weight.dtype));
    }

    /// <summary>Initialisation for training from scratch (tests, benchmarks): as <see cref="CausalLM.InitializeWeights"/>.</summary>
    public void InitializeWeights(long seed)
    {
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed, CPU);
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("norm.weight")) p.fill_(1.0);
            else if (name.EndsWith(".bias")) p.zero_();
            else p.copy_(normal(0.0, Config.InitializerRange, p.shape, dtype: ScalarType.Float32, generator: generator).to(p.dtype));
        }
    }
}
