using static TorchSharp.torch;

namespace R1Sharp.Training.Losses.Grpo;

/// <summary>What an aggregation may need beyond the micro-batch it reduces.</summary>
/// <param name="MaxCompletionLength">The generation limit L_max (Dr. GRPO's constant normaliser).</param>
/// <param name="StepActiveTokens">Completion tokens in the whole optimiser step, over all micro-batches (DAPO).</param>
/// <param name="MicroBatches">Micro-batches accumulated into one optimiser step.</param>
public sealed record AggregationContext(int MaxCompletionLength, long StepActiveTokens, int MicroBatches);

/// <summary>
/// Reduces per-token losses ℓ (B, T) with completion mask m (B, T) to the scalar that is back-propagated for one
/// micro-batch. The GRPO variants differ only here (docs/architecture.md); each is its own small type, chosen by <see cref="LossType"/>.
/// </summary>
public interface ILossAggregation
{
    string Name { get; }
    Tensor Reduce(Tensor loss, Tensor mask, AggregationContext context);

    /// <summary>
    /// The same aggregation as one weight per completion: Σ_micro-batches Reduce(ℓ, m) = Σ_i w_i Σ_t m_{i,t} ℓ_{i,t} when the
    /// step's B completions (with <paramref name="tokens"/>[i] = Σ_t m_{i,t}) are split in order into micro-batches of
    /// <paramref name="microBatchSize"/>. Every quantity it needs (token counts of the step or of a micro-batch, B) is one of
    /// the whole step, so ranks that each hold part of the step back-propagate Σ over their completions and the gradients
    /// summed over ranks are the one-process step's (docs/distributed.md).
    /// </summary>
    double[] SampleWeights(IReadOnlyList<int> tokens, int microBatchSize, int maxCompletionLength);
}

/// <summary>Helpers of the per-completion form of the aggregations.</summary>
public static class AggregationWeights
{
    /// <summary>(start, count) of each micro-batch when <paramref name="count"/> completions are split in order into <paramref name="size"/>.</summary>
    public static IEnumerable<(int Start, int Count)> MicroBatches(int count, int size)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "micro-batch size must be ≥ 1");
        for (int start = 0; start < count; start += size) yield return (start, Math.Min(size, count - start));
    }

    /// <summary>w_i = f(micro-batch of i) for each completion.</summary>
    internal static double[] PerMicroBatch(IReadOnlyList<int> tokens, int size, Func<int, int, int, double> weight)
    {
        var w = new double[tokens.Count];
        int batches = (tokens.Count + size - 1) / Math.Max(1, size);
        foreach (var (start, count) in MicroBatches(tokens.Count, size))
        {
            int sum = 0;
            for (int i = start; i < start + count; i++) sum += tokens[i];
            for (int i = start; i < start + count; i++) w[i] = weight(i, count, sum) / batches;
        }
        return w;
    }
}

/// <summary><c>grpo</c>: mean over sequences of Σ_t m·ℓ / Σ_t m (DeepSeekMath) — long sequences' tokens weigh less.</summary>
public sealed class GrpoAggregation : ILossAggregation
{
    public string Name => "grpo";
    public Tensor Reduce(Tensor loss, Tensor mask, AggregationContext c)
        => ((loss * mask).sum(1) / mask.sum(1).clamp_min(1)).mean() / c.MicroBatches;

    public double[] SampleWeights(IReadOnlyList<int> tokens, int microBatchSize, int maxCompletionLength)
        => AggregationWeights.PerMicroBatch(tokens, microBatchSize, (i, rows, _) => 1.0 / (rows * (double)Math.Max(1, tokens[i])));
}

/// <summary><c>bnpo</c>: Σ m·ℓ / Σ m over the micro-batch (token-level; TRL's bnpo normalises per local batch).</summary>
public sealed class BnpoAggregation : ILossAggregation
{
    public string Name => "bnpo";
    public Tensor Reduce(Tensor loss, Tensor mask, AggregationContext c)
        => (loss * mask).sum() / mask.sum().clamp_min(1) / c.MicroBatches;

    public double[] SampleWeights(IReadOnlyList<int> tokens, int microBatchSize, int maxCompletionLength)
        => AggregationWeights.PerMicroBatch(tokens, microBatchSize, (_, _, sum) => 1.0 / Math.Max(1, sum));
}

/// <summary><c>dapo</c>: Σ m·ℓ over the micro-batch / the active tokens of the whole optimiser step (DAPO, Yu et al. 2025, eq. 8).</summary>
public sealed class DapoAggregation : ILossAggregation
{
    public string Name => "dapo";
    public Tensor Reduce(Tensor loss, Tensor mask, AggregationContext c)
        => (loss * mask).sum() / Math.Max(1, c.StepActiveTokens);

    public double[] SampleWeights(IReadOnlyList<int> tokens, int microBatchSize, int maxCompletionLength)
    {
        long total = tokens.Sum(t => (long)t);
        return [.. tokens.Select(_ => 1.0 / Math.Max(1, total))];
    }
}

/// <summary><c>dr_grpo</c>: Σ m·ℓ / (B · L_max), a constant normaliser with no length bias (Dr. GRPO, Liu et al. 2025).</summary>
public sealed class DrGrpoAggregation : ILossAggregation
{
    public string Name => "dr_grpo";
    public Tensor Reduce(Tensor loss, Tensor mask, AggregationContext c)
        => (loss * mask).sum() / (loss.shape[0] * (double)c.MaxCompletionLength) / c.MicroBatches;

    public double[] SampleWeights(IReadOnlyList<int> tokens, int microBatchSize, int maxCompletionLength)
        => AggregationWeights.PerMicroBatch(tokens, microBatchSize, (_, rows, _) => 1.0 / (rows * (double)maxCompletionLength));
}

/// <summary>The GRPO loss variants, named as TRL's <c>loss_type</c>.</summary>
public enum LossType { Grpo, Bnpo, Dapo, DrGrpo }

public static class LossAggregations
{
    public static ILossAggregation For(LossType type) => type switch
    {
        LossType.Grpo => new GrpoAggregation(),
        LossType.Bnpo => new BnpoAggregation(),
        LossType.Dapo => new DapoAggregation(),
        LossType.DrGrpo => new DrGrpoAggregation(),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
