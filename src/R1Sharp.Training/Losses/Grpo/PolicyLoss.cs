using static TorchSharp.torch;

namespace R1Sharp.Training.Losses.Grpo;

/// <summary>The per-token loss of one micro-batch, before aggregation over tokens.</summary>
/// <param name="Loss">ℓ_{i,t} (B, T): w ⊙ the objective's loss + β·KL.</param>
/// <param name="Kl">k3 KL per token (B, T), or null when β = 0.</param>
/// <param name="Policy">What the objective computed (its loss, ratio and clip masks), for the log.</param>
public sealed record PerTokenLoss(Tensor Loss, Tensor? Kl, PolicyTerms Policy)
{
    /// <summary>Where the lower clip bound binds (B, T) bool.</summary>
    public Tensor LowClipped => Policy.LowClipped;
    /// <summary>Where the upper clip bound binds (B, T) bool.</summary>
    public Tensor HighClipped => Policy.HighClipped;
}

/// <summary>
/// The loss is a per-token weight × a mask × an aggregation: ℓ = w ⊙ objective(log π_θ, log π_old, Â) + β·KL_k3(π_θ ‖ π_ref),
/// then <see cref="ILossAggregation.Reduce"/>(ℓ, mask). The objective is the policy-gradient variant (<see cref="IPolicyObjective"/>);
/// w is where off-policy corrections go (truncated importance sampling: min(π_old / π_rollout, C); masked importance
/// sampling and IcePop: a 0/1 mask), multiplied into the policy term only, as TRL applies its importance-sampling
/// correction and off-policy mask; the aggregation still counts masked tokens in its normaliser, as TRL does.
/// </summary>
public static class PolicyLoss
{
    /// <param name="objective">The policy-gradient variant.</param>
    /// <param name="x">log π_θ, log π_old, Â and the completion mask.</param>
    /// <param name="refLogProbs">log π_ref (B, T), or null for no KL term.</param>
    /// <param name="beta">β; the KL term is left out when it is 0.</param>
    /// <param name="tokenWeights">w (B, T), no gradient, or null for 1.</param>
    public static PerTokenLoss Compute(IPolicyObjective objective, PolicyInputs x, Tensor? refLogProbs = null, double beta = 0.0, Tensor? tokenWeights = null)
    {
        var terms = objective.Compute(x);
        var loss = tokenWeights is null ? terms.Loss : terms.Loss * tokenWeights;
        Tensor? kl = null;
        if (refLogProbs is not null && beta != 0)
        {
            // exp(ref − log π_θ) − (ref − log π_θ) − 1: Schulman's k3 estimator, ≥ 0, = 0 when the policies agree.
            var diff = refLogProbs - x.LogProbs;
            kl = diff.exp() - diff - 1;
            loss = loss + beta * kl;
        }
        return new PerTokenLoss(loss, kl, terms);
    }

    /// <summary>
    /// PPO clip: ρ = exp(log π_θ − log π_old);  ℓ = −min(ρ·Â, clip(ρ, 1 − ε_low, 1 + ε_high)·Â) + β·KL
    /// (<see cref="PpoClipObjective"/>; the completion mask does not enter a token-level objective).
    /// </summary>
    /// <param name="logProbs">log π_θ of the completion tokens (B, T), with gradient.</param>
    /// <param name="oldLogProbs">log π_old (B, T), no gradient. With one update per batch (μ = 1) pass logProbs.detach(): ρ = 1.</param>
    /// <param name="advantages">Â (B).</param>
    /// <param name="refLogProbs">log π_ref (B, T), or null for no KL term.</param>
    public static PerTokenLoss Compute(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, double epsLow, double epsHigh,
        Tensor? refLogProbs = null, double beta = 0.0)
        => Compute(new PpoClipObjective(epsLow, epsHigh), new PolicyInputs(logProbs, oldLogProbs, advantages, ones_like(logProbs)), refLogProbs, beta);
}
