using static TorchSharp.torch;

namespace R1Sharp.Training.Losses.Grpo;

/// <summary>
/// A correction for rollouts sampled by another engine than the trainer (an inference server whose numerics differ, or
/// weights some steps old): per-token weights that multiply the per-token loss ℓ_{i,t} before aggregation. Each one reads
/// the log-ratio r_{i,t} = log π_trainer(o_{i,t}) − log π_sampler(o_{i,t}) of the sampled tokens: the trainer's log-probabilities
/// (detached) against those the sampler reported with the rollout. The weights carry no gradient.
/// </summary>
public interface IRolloutCorrection
{
    /// <summary>Weights (B, T), no gradient; 0 outside <paramref name="mask"/>.</summary>
    /// <param name="trainerLogProbs">log π_trainer of the sampled tokens (B, T).</param>
    /// <param name="samplerLogProbs">log π_sampler of the same tokens, as the sampler reported them (B, T).</param>
    /// <param name="mask">The completion tokens (B, T), 1 or 0.</param>
    Tensor Weights(Tensor trainerLogProbs, Tensor samplerLogProbs, Tensor mask);
}

/// <summary>Token or sequence level.</summary>
public enum CorrectionLevel
{
    /// <summary>Each token by its own ratio ρ_{i,t} = exp(r_{i,t}).</summary>
    Token,
    /// <summary>Every token of a sequence by the sequence's ratio ρ_i = exp(Σ_t r_{i,t}) (the ratio of the two probabilities of the whole completion).</summary>
    Sequence,
}

/// <summary>
/// Truncated importance sampling (Yao et al. 2025, "Your efficient RL framework secretly brings you off-policy RL training";
/// verl's rollout correction in truncate mode): w = min(ρ, C), with ρ the token's ratio or, at sequence level, the
/// sequence's. Unbiased up to the truncation, variance bounded by C.
/// </summary>
public sealed class TruncatedImportanceSampling(double cap, CorrectionLevel level = CorrectionLevel.Token) : IRolloutCorrection
{
    public double Cap { get; } = cap > 0 ? cap : throw new ArgumentOutOfRangeException(nameof(cap), "the cap C must be positive");
    public CorrectionLevel Level { get; } = level;

    public Tensor Weights(Tensor trainerLogProbs, Tensor samplerLogProbs, Tensor mask)
    {
        using var noGrad = no_grad();
        var ratio = Ratios.Of(trainerLogProbs, samplerLogProbs, mask, Level);
        return ratio.clamp_max(Cap) * mask;
    }
}

/// <summary>
/// Masked importance sampling at sequence level (MIS; verl's rollout correction in mask mode): a sequence whose ratio
/// ρ_i = exp(Σ_t r_{i,t}) lies outside [lo, hi] gets no gradient; the others keep weight 1.
/// </summary>
public sealed class SequenceMasking(double low, double high) : IRolloutCorrection
{
    public double Low { get; } = low;
    public double High { get; } = high >= low && low >= 0 ? high : throw new ArgumentOutOfRangeException(nameof(high), "need 0 ≤ lo ≤ hi");

    public Tensor Weights(Tensor trainerLogProbs, Tensor samplerLogProbs, Tensor mask)
    {
        using var noGrad = no_grad();
        var ratio = Ratios.Of(trainerLogProbs, samplerLogProbs, mask, CorrectionLevel.Sequence);
        return ((ratio >= Low) & (ratio <= High)).to(mask.dtype) * mask;
    }
}

/// <summary>
/// IcePop (Ling Team 2025, Ring-1T): token-level discrepancy masking. A token whose ratio ρ_{i,t} = π_trainer / π_sampler lies
/// outside [α, β] gets no gradient; inside, its loss is weighted by ρ_{i,t} (the paper's M(k) = k on [α, β], 0 outside).
/// The paper and prime-rl use α = 0.5, β = 5.
/// </summary>
public sealed class IcePop(double low = 0.5, double high = 5.0) : IRolloutCorrection
{
    public double Low { get; } = low;
    public double High { get; } = high >= low && low >= 0 ? high : throw new ArgumentOutOfRangeException(nameof(high), "need 0 ≤ α ≤ β");

    public Tensor Weights(Tensor trainerLogProbs, Tensor samplerLogProbs, Tensor mask)
    {
        using var noGrad = no_grad();
        var ratio = Ratios.Of(trainerLogProbs, samplerLogProbs, mask, CorrectionLevel.Token);
        return ratio * ((ratio >= Low) & (ratio <= High)).to(ratio.dtype) * mask;
    }
}

/// <summary>Several corrections at once: the product of their weights.</summary>
public sealed class CombinedCorrection(IReadOnlyList<IRolloutCorrection> parts) : IRolloutCorrection
{
    public IReadOnlyList<IRolloutCorrection> Parts { get; } = parts;

    public Tensor Weights(Tensor trainerLogProbs, Tensor samplerLogProbs, Tensor mask)
    {
        var w = mask.clone();
        foreach (var p in Parts) w = w * p.Weights(trainerLogProbs, samplerLogProbs, mask);
        return w;
    }
}

internal static class Ratios
{
    /// <summary>π_trainer / π_sampler per token, or the sequence's ratio broadcast over its tokens; 1 on padding.</summary>
    public static Tensor Of(Tensor trainer, Tensor sampler, Tensor mask, CorrectionLevel level)
    {
        var r = (trainer - sampler) * mask;                       // log-ratio, 0 on padding
        return level == CorrectionLevel.Token ? r.exp() : r.sum(1, keepdim: true).exp().expand_as(r);
    }
}
