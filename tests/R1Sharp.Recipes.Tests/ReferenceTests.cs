using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Tests;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Optim;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Tests;

/// <summary>
/// SFT loss, gradient and reward-model scores against an independent PyTorch implementation that ran every example
/// alone (tests/fixtures/sft/generate_golden.py over tests/fixtures/hf-tiny/qwen2-tiny).
/// </summary>
public class ReferenceTests
{
    static readonly JsonNode Golden = JsonNode.Parse(File.ReadAllText(RepoPaths.Fixture("sft", "golden.json")))!;
    static string Checkpoint_ => RepoPaths.Fixture("hf-tiny", "qwen2-tiny");

    static List<TokenSequence> Examples => Golden["examples"]!.AsArray().Select(e => new TokenSequence(
        e!["ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray(),
        e["targets"]!.AsArray().Select(x => x!.GetValue<bool>()).ToArray())).ToList();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Packed_and_padded_loss_and_gradient_norm_match_the_reference(bool packed)
    {
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(Checkpoint_);
        var examples = Examples;
        TokenBatch batch;
        if (packed)
        {
            var rows = SequencePacking.BestFitDecreasing(examples.Select(e => e.Length).ToList(), 24);
            Assert.True(rows.Count < examples.Count); // several examples share rows
            batch = TokenBatch.Packed(rows.Select(r => (IReadOnlyList<TokenSequence>)r.Select(i => examples[i]).ToList()).ToList(), 24, CPU);
        }
        else batch = TokenBatch.Padded(examples, CPU);

        Assert.Equal(Golden["target_tokens"]!.GetValue<long>(), batch.TargetTokens);
        var loss = -TokenLosses.TargetLogProbs(batch.TargetLogits(model), batch.TargetIds).sum() / (double)batch.TargetTokens;
        loss.backward();
        Assert.Equal(Golden["loss"]!.GetValue<double>(), loss.item<float>(), 1e-5);
        double gradNorm = Optimizers.ClipGradients(model, 0);
        Assert.Equal(Golden["grad_norm"]!.GetValue<double>(), gradNorm, 1e-4 * Golden["grad_norm"]!.GetValue<double>());
    }

    [Fact]
    public void Reward_model_scores_and_bradley_terry_loss_match_the_reference()
    {
        using var scope = NewDisposeScope();
        using var scorer = Checkpoint.LoadScorer(Checkpoint_);
        using (no_grad()) scorer.score.weight.copy_(tensor(Golden["score_weight"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray()).unsqueeze(0));
        var examples = Examples.Select(e => e.Ids).ToList();
        var (ids, lengths) = RewardModelRecipe.PadRight(examples, CPU);
        var scores = scorer.Forward(ids, lengths);
        var expected = Golden["scores"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
        var actual = scores.data<float>().ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5);

        var pairs = Golden["pairs"]!.AsArray();
        Tensor Pick(string key) => scores.index_select(0, tensor(pairs.Select(p => (long)p![key]!.GetValue<int>()).ToArray()));
        var margin = tensor(pairs.Select(p => p!["margin"]!.GetValue<float>()).ToArray());
        var bt = BradleyTerryLoss.PerPair(Pick("chosen"), Pick("rejected"), margin, Golden["center_coefficient"]!.GetValue<double>()).mean();
        Assert.Equal(Golden["bt_loss"]!.GetValue<double>(), bt.item<float>(), 1e-5);
    }
}
