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
}

/// <summary><c>grpo</c>: mean over sequences of Σ_t m·ℓ / Σ_t m (DeepSeekMath) — long sequences' tokens weigh less.</summary>
public sealed class GrpoAggregation : ILossAggregation
{
    public string Name => "grpo";
    public Tensor Reduce(Tensor loss, Tensor mask, AggregationContext c)
        => ((loss * mask).sum(1) / mask.sum(1).clamp_min(1)).mean() / c.MicroBatches;
}

/// <summary><c>bnpo</c>: Σ m·ℓ / Σ m over the micro-batch (token-level; TRL's bnpo normalises per local batch).</summary>
public sealed class BnpoAggregation : ILossAggregation
{
    public string Name => "bnpo";
    public Tensor Reduce(Tensor loss, Tensor mask, AggregationContext c)
        => (loss * mask).sum() / mask.sum().clamp_min(1) / c.MicroBatches;
}

/// <summary><c>dapo</c>: Σ m·ℓ over the micro-batch / the active tokens of the whole optimiser step (DAPO, Yu et al. 2025, eq. 8).</summary>
public sealed class DapoAggregation : ILossAggregation
{
    public string Name => "dapo";
    public Tensor Reduce(Tensor loss, Tensor mask, AggregationContext c)
        => (loss * mask).sum() / Math.Max(1, c.StepActiveTokens);
}

/// <summary><c>dr_grpo</c>: Σ m·ℓ / (B · L_max), a constant normaliser with no length bias (Dr. GRPO, Liu et al. 2025).</summary>
public sealed class DrGrpoAggregation : ILossAggregation
{
    public string Name => "dr_grpo";
    public Tensor Reduce(Tensor loss, Tensor mask, AggregationContext c)
        => (loss * mask).sum() / (loss.shape[0] * (double)c.MaxCompletionLength) / c.MicroBatches;
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
