using R1Sharp.Training.Losses.Grpo;
using static TorchSharp.torch;

namespace R1Sharp.Training.Tests;

/// <summary>
/// Each loss aggregation's per-completion weights (what data-parallel GRPO back-propagates on each rank) against the
/// aggregation itself: Σ over the step's micro-batches of <see cref="ILossAggregation.Reduce"/> — the one-process loss —
/// equals Σ_i w_i Σ_t m ℓ, and splitting the completions between ranks in any way and summing the ranks' shares gives it too.
/// </summary>
public class AggregationWeightsTests
{
    [Theory]
    [InlineData(LossType.Grpo, 4)]
    [InlineData(LossType.Bnpo, 4)]
    [InlineData(LossType.Dapo, 4)]
    [InlineData(LossType.DrGrpo, 4)]
    [InlineData(LossType.Grpo, 11)]   // a single micro-batch
    [InlineData(LossType.Bnpo, 3)]    // 11 completions: the last micro-batch holds 2
    [InlineData(LossType.DrGrpo, 3)]
    public void Per_completion_weights_reproduce_the_step_loss_of_the_micro_batched_aggregation(LossType type, int microBatchSize)
    {
        const int b = 11, t = 7, lmax = 9;
        var random = new Random(5);
        var loss = tensor(Enumerable.Range(0, b * t).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray(), [b, t]);
        var lengths = Enumerable.Range(0, b).Select(i => i == 4 ? 0 : random.Next(1, t + 1)).ToArray(); // completion 4 masked out
        var mask = tensor(lengths.SelectMany(n => Enumerable.Range(0, t).Select(j => j < n ? 1f : 0f)).ToArray(), [b, t]);
        var aggregation = LossAggregations.For(type);

        int batches = (b + microBatchSize - 1) / microBatchSize;
        var context = new AggregationContext(lmax, lengths.Sum(), batches);
        double reference = 0;
        for (int start = 0; start < b; start += microBatchSize)
        {
            int n = Math.Min(microBatchSize, b - start);
            reference += aggregation.Reduce(loss.narrow(0, start, n), mask.narrow(0, start, n), context).item<float>();
        }

        var w = aggregation.SampleWeights(lengths, microBatchSize, lmax);
        var perCompletion = (loss * mask).sum(1).to(ScalarType.Float64).data<double>().ToArray();
        double weighted = Enumerable.Range(0, b).Sum(i => w[i] * perCompletion[i]);
        Assert.Equal(reference, weighted, 5);

        // Three "ranks" holding 5, 2 and 4 of the completions: their shares add up to the same loss.
        double shares = new[] { (0, 5), (5, 2), (7, 4) }.Sum(r => Enumerable.Range(r.Item1, r.Item2).Sum(i => w[i] * perCompletion[i]));
        Assert.Equal(reference, shares, 5);
        Assert.Equal(0, w.Count(double.IsNaN));
    }

    [Fact]
    public void Dapo_weights_are_one_over_the_step_tokens_and_grpo_weights_one_over_rows_and_length()
    {
        int[] lengths = [2, 1, 2, 2, 1, 2];
        Assert.All(new DapoAggregation().SampleWeights(lengths, 4, 2), w => Assert.Equal(0.1, w, 12));
        var grpo = new GrpoAggregation().SampleWeights(lengths, 4, 2); // micro-batches of 4 and 2 rows, 2 micro-batches
        Assert.Equal(1 / (2.0 * 4 * 2), grpo[0], 12);
        Assert.Equal(1 / (2.0 * 4 * 1), grpo[1], 12);
        Assert.Equal(1 / (2.0 * 2 * 1), grpo[4], 12);
    }
}
