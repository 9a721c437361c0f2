using R1Sharp.Model;
using R1Sharp.Rewards;
using R1Sharp.Text.Tokenization;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.RewardModel;

/// <summary>What of a completion the reward model reads.</summary>
public enum RewardScope
{
    /// <summary>The whole response, reasoning included (R1 judges harmlessness this way).</summary>
    Full,
    /// <summary>Only the summary: the text after the last <c>&lt;/think&gt;</c>, or the whole response when there is none (R1 judges helpfulness this way).</summary>
    Summary,
}

/// <summary>
/// A trained reward model as a reward function for GRPO (R1's final RL stage): the score r(prompt, response) of
/// <see cref="SequenceScorer"/>, with the response being the completion or its summary (<see cref="RewardScope"/>).
/// Inputs are encoded as in training (<see cref="RewardEncoding"/>) and scored in batches of similar length, without
/// gradients. Never throws on completion text; an input that encodes to no tokens gets null. Longer inputs keep their
/// last <c>maxLength</c> tokens, so the scored token is still the response's end. Not thread-safe.
/// </summary>
public sealed class RewardModelReward : IReward, IDisposable
{
    readonly SequenceScorer model;
    readonly HfTokenizer tokenizer;
    readonly RewardScope scope;
    readonly int batchSize, maxLength;
    readonly bool ownsModel;

    /// <param name="model">The reward model (not disposed by this object).</param>
    /// <param name="name">The name in configs and metrics, e.g. <c>helpfulness</c>.</param>
    public RewardModelReward(SequenceScorer model, HfTokenizer tokenizer, string name = "reward_model", RewardScope scope = RewardScope.Full,
        int batchSize = 16, int? maxLength = null) : this(model, tokenizer, name, scope, batchSize, maxLength, false) { }

    RewardModelReward(SequenceScorer model, HfTokenizer tokenizer, string name, RewardScope scope, int batchSize, int? maxLength, bool ownsModel)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be at least 1");
        this.model = model;
        this.tokenizer = tokenizer;
        this.scope = scope;
        this.batchSize = batchSize;
        this.maxLength = maxLength ?? model.Config.MaxPositionEmbeddings;
        this.ownsModel = ownsModel;
        Name = name;
    }

    /// <summary>Loads a reward model folder (weights and tokenizer) saved by <see cref="RewardModelRecipe"/> or transformers.</summary>
    public static RewardModelReward Load(string directory, string name = "reward_model", RewardScope scope = RewardScope.Full,
        Device? device = null, ScalarType? dtype = null, int batchSize = 16)
    {
        var tokenizer = HfTokenizer.Load(directory);
        var config = ModelConfig.Load(Path.Combine(directory, Checkpoint.ConfigFile));
        if (config.Head != ModelHead.SequenceClassification)
            throw new InvalidDataException($"{directory}: not a reward model (config.json says {config.Head}); train one with RewardModelRecipe");
        var model = Checkpoint.LoadScorer(directory, dtype, device ?? CPU);
        return new RewardModelReward(model, tokenizer, name, scope, batchSize, null, ownsModel: true);
    }

    public string Name { get; }

    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var sequences = batch.Select(i =>
        {
            var ids = RewardEncoding.Encode(tokenizer, i.Prompt, scope == RewardScope.Summary ? Summary(i.Completion) : i.Completion, model.Config.PadTokenId);
            return ids.Length > maxLength ? ids[^maxLength..] : ids;
        }).ToList();
        var scores = new double?[batch.Count];
        var order = Enumerable.Range(0, batch.Count).Where(i => sequences[i].Length > 0).OrderByDescending(i => sequences[i].Length).ToList();
        bool training = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            for (int start = 0; start < order.Count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var disposeScope = NewDisposeScope();
                var part = order.GetRange(start, Math.Min(batchSize, order.Count - start));
                var (ids, lengths) = RewardModelRecipe.PadRight(part.Select(i => sequences[i]).ToList(), model.Device);
                var rewards = model.Forward(ids, lengths).cpu().data<float>().ToArray();
                for (int k = 0; k < part.Count; k++) scores[part[k]] = double.IsFinite(rewards[k]) ? rewards[k] : null;
            }
        }
        finally
        {
            if (training) model.train();
        }
        return scores;
    }

    /// <summary>The summary of an R1-style response: the text after the last <c>&lt;/think&gt;</c> (leading whitespace trimmed), or the whole response.</summary>
    public static string Summary(string completion)
    {
        const string close = "</think>";
        int at = completion.LastIndexOf(close, StringComparison.Ordinal);
        return at < 0 ? completion : completion[(at + close.Length)..].TrimStart();
    }

    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }
}
