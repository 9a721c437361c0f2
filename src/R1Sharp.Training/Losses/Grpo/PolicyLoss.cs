using static TorchSharp.torch;

namespace R1Sharp.Training.Losses.Grpo;

/// <summary>Per-token clipped-surrogate loss with a k3 KL penalty, before aggregation over tokens.</summary>
/// <param name="Loss">ℓ_{i,t} (B, T).</param>
/// <param name="Kl">k3 KL per token (B, T), or null when β = 0.</param>
/// <param name="LowClipped">ρ &lt; 1 − ε_low where Â &lt; 0 (the clip binds from below), (B, T) bool.</param>
/// <param name="HighClipped">ρ &gt; 1 + ε_high where Â &gt; 0 (the clip binds from above), (B, T) bool.</param>
public sealed record PerTokenLoss(Tensor Loss, Tensor? Kl, Tensor LowClipped, Tensor HighClipped);

public static class PolicyLoss
{
    /// <summary>
    /// ρ = exp(log π_θ − log π_old);  ℓ = −min(ρ·Â, clip(ρ, 1 − ε_low, 1 + ε_high)·Â) + β·KL,
    /// KL = exp(ref − log π_θ) − (ref − log π_θ) − 1 (Schulman's k3 estimator, ≥ 0, = 0 when the policies agree).
    /// </summary>
    /// <param name="logProbs">log π_θ of the completion tokens (B, T), with gradient.</param>
    /// <param name="oldLogProbs">log π_old (B, T), no gradient. With one update per batch (μ = 1) pass logProbs.detach(): ρ = 1.</param>
    /// <param name="advantages">Â (B).</param>
    /// <param name="refLogProbs">log π_ref (B, T), or null for no KL term.</param>
    public static PerTokenLoss Compute(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, double epsLow, double epsHigh,
        Tensor? refLogProbs = null, double beta = 0.0)
    {
        var a = advantages.unsqueeze(1);                                   // (B, 1)
        var ratio = (logProbs - oldLogProbs).exp();                        // (B, T)
        var clipped = ratio.clamp(1 - epsLow, 1 + epsHigh);
        var loss = -minimum(ratio * a, clipped * a);
        Tensor? kl = null;
        if (refLogProbs is not null && beta != 0)
        {
            var diff = refLogProbs - logProbs;
            kl = diff.exp() - diff - 1;
            loss = loss + beta * kl;
        }
        return new PerTokenLoss(loss, kl, (ratio < 1 - epsLow) & (a < 0), (ratio > 1 + epsHigh) & (a > 0));
    }
}
