using static TorchSharp.torch;

namespace R1Sharp.Training.Losses.Grpo;

/// <summary>What a policy objective sees of one micro-batch.</summary>
/// <param name="LogProbs">log π_θ of the completion tokens (B, T), with gradient.</param>
/// <param name="OldLogProbs">log π_old (B, T), no gradient (with μ = 1: <c>LogProbs.detach()</c>, so ρ = 1).</param>
/// <param name="Advantages">Â (B), one per completion.</param>
/// <param name="Mask">(B, T) float, 1 on the completion tokens that count (sequence-level ratios average over them).</param>
public sealed record PolicyInputs(Tensor LogProbs, Tensor OldLogProbs, Tensor Advantages, Tensor Mask);

/// <summary>What an objective gives per token, before weights, the KL term and the aggregation.</summary>
/// <param name="Loss">ℓ (B, T); a sequence-level objective repeats its sequence's value on every token, so the
/// <c>grpo</c> aggregation (mean over sequences of the token mean) gives its paper's mean over sequences.</param>
/// <param name="Ratio">The importance ratio the objective uses (B, T): per token, or its sequence's ratio on every token; for the log.</param>
/// <param name="LowClipped">Where the lower bound of the clip binds (B, T) bool.</param>
/// <param name="HighClipped">Where the upper bound binds (B, T) bool.</param>
/// <param name="DualClipped">Dual-clip only: where the bound c on negative advantages binds.</param>
public sealed record PolicyTerms(Tensor Loss, Tensor Ratio, Tensor LowClipped, Tensor HighClipped, Tensor? DualClipped = null);

/// <summary>
/// One policy-gradient objective: a per-token loss from log π_θ, log π_old and Â. Each variant is its own small type,
/// chosen by <see cref="PolicyLossType"/> (config key <c>policy_loss</c>); <see cref="PolicyLoss.Compute(IPolicyObjective, PolicyInputs, Tensor?, double, Tensor?)"/>
/// adds token weights and the KL term, and an <see cref="ILossAggregation"/> reduces it (docs/algorithms.md).
/// </summary>
public interface IPolicyObjective
{
    string Name { get; }
    PolicyTerms Compute(PolicyInputs x);
}

/// <summary>The policy objectives (config key <c>policy_loss</c>).</summary>
public enum PolicyLossType
{
    /// <summary>PPO's clipped surrogate per token (GRPO, DAPO, Dr. GRPO).</summary>
    PpoClip,
    /// <summary>PPO clip plus a bound c on the loss of negative advantages (dual-clip PPO).</summary>
    DualClip,
    /// <summary>GSPO: one clipped ratio per sequence, exp of the mean token log-ratio.</summary>
    Gspo,
    /// <summary>CISPO: stop-gradient clipped importance weight × Â × log π.</summary>
    Cispo,
    /// <summary>GMPO: geometric mean of the clipped token ratios.</summary>
    Gmpo,
}

/// <summary>
/// <c>policy_loss: ppo_clip</c> (Schulman et al. 2017; GRPO, Shao et al. 2024): ρ = exp(log π_θ − log π_old),
/// ℓ = −min(ρ·Â, clip(ρ, 1 − ε_low, 1 + ε_high)·Â). As TRL's grpo_trainer (<c>importance_sampling_level="token"</c>).
/// </summary>
public sealed class PpoClipObjective(double epsilonLow, double epsilonHigh) : IPolicyObjective
{
    public double EpsilonLow { get; } = epsilonLow;
    public double EpsilonHigh { get; } = epsilonHigh;
    public string Name => "ppo_clip";

    public PolicyTerms Compute(PolicyInputs x)
    {
        var a = x.Advantages.unsqueeze(1);                                 // (B, 1)
        var ratio = (x.LogProbs - x.OldLogProbs).exp();                    // (B, T)
        var clipped = ratio.clamp(1 - EpsilonLow, 1 + EpsilonHigh);
        var loss = -minimum(ratio * a, clipped * a);
        return new PolicyTerms(loss, ratio, (ratio < 1 - EpsilonLow) & (a < 0), (ratio > 1 + EpsilonHigh) & (a > 0));
    }
}

/// <summary>
/// <c>policy_loss: dual_clip</c> (Ye et al. 2020, "Mastering Complex Control in MOBA Games", arXiv 1912.09729): for Â &lt; 0 the
/// PPO loss is further bounded by −c·Â (c &gt; 1, <c>dual_clip_c</c>), so a token whose ratio has grown far past c gives no
/// gradient instead of an unbounded one; Â ≥ 0 is PPO clip. As verl's <c>compute_policy_loss_vanilla</c> (<c>clip_ratio_c</c>, default 3).
/// </summary>
public sealed class DualClipObjective(double epsilonLow, double epsilonHigh, double c) : IPolicyObjective
{
    readonly PpoClipObjective _clip = new(epsilonLow, epsilonHigh);
    public double C { get; } = c > 1 ? c : throw new ArgumentOutOfRangeException(nameof(c), c, "dual-clip needs c > 1");
    public string Name => "dual_clip";

    public PolicyTerms Compute(PolicyInputs x)
    {
        var clip = _clip.Compute(x);
        var a = x.Advantages.unsqueeze(1);
        var bound = -a * C;                                                // > 0 where Â < 0
        var negative = (a < 0).expand_as(clip.Loss);
        var loss = where(negative, minimum(clip.Loss, bound), clip.Loss);
        return clip with { Loss = loss, DualClipped = negative & (clip.Loss > bound) };
    }
}

/// <summary>
/// <c>policy_loss: gspo</c> (Zheng et al. 2025, "Group Sequence Policy Optimization", arXiv 2507.18071):
/// s_i = exp((1/|o_i|) Σ_t log(π_θ / π_old)) — the length-normalised sequence ratio — and ℓ_i = −min(s_i·Â_i, clip(s_i, 1 − ε_low, 1 + ε_high)·Â_i)
/// on every token of o_i. As TRL's grpo_trainer with <c>importance_sampling_level="sequence"</c> (the gradient reaches every
/// token through s_i). The paper clips at ε 3e-4 / 4e-4 and averages over sequences: <c>loss_type: grpo</c> (preset <c>gspo</c>).
/// </summary>
public sealed class GspoObjective(double epsilonLow, double epsilonHigh) : IPolicyObjective
{
    public double EpsilonLow { get; } = epsilonLow;
    public double EpsilonHigh { get; } = epsilonHigh;
    public string Name => "gspo";

    public PolicyTerms Compute(PolicyInputs x)
    {
        var a = x.Advantages.unsqueeze(1);                                 // (B, 1)
        var m = x.Mask;
        var logRatio = ((x.LogProbs - x.OldLogProbs) * m).sum(1, keepdim: true) / m.sum(1, keepdim: true).clamp_min(1);
        var s = logRatio.exp();                                            // (B, 1)
        var clipped = s.clamp(1 - EpsilonLow, 1 + EpsilonHigh);
        var loss = -minimum(s * a, clipped * a);
        var shape = x.LogProbs.shape;
        return new PolicyTerms(loss.expand(shape), s.expand(shape),
            ((s < 1 - EpsilonLow) & (a < 0)).expand(shape), ((s > 1 + EpsilonHigh) & (a > 0)).expand(shape));
    }
}

/// <summary>
/// <c>policy_loss: cispo</c> (MiniMax 2025, "MiniMax-M1", arXiv 2506.13585, eq. 4): ℓ = −sg(r̂)·Â·log π_θ with
/// r̂ = clip(ρ, 1 − ε_low, 1 + ε_high). The clipped importance weight only scales the token's REINFORCE gradient, so no token
/// loses its gradient as in PPO's clip. M1 sets no lower bound (ε_low ≥ 1) and tunes ε_high; TRL's ScaleRL setting bounds
/// r̂ by 5 (ε_high 4, preset <c>cispo</c>), token-level normalisation (<c>loss_type: dapo</c>). Same as verl's
/// <c>compute_policy_loss_cispo</c>; a clip is counted wherever r̂ ≠ ρ, whatever the advantage's sign.
/// </summary>
public sealed class CispoObjective(double epsilonLow, double epsilonHigh) : IPolicyObjective
{
    public double EpsilonLow { get; } = epsilonLow;
    public double EpsilonHigh { get; } = epsilonHigh;
    public string Name => "cispo";

    public PolicyTerms Compute(PolicyInputs x)
    {
        var a = x.Advantages.unsqueeze(1);
        var ratio = (x.LogProbs - x.OldLogProbs).exp();
        var weight = ratio.clamp(1 - EpsilonLow, 1 + EpsilonHigh).detach();
        var loss = -(weight * a) * x.LogProbs;
        return new PolicyTerms(loss, ratio.detach(), ratio < 1 - EpsilonLow, ratio > 1 + EpsilonHigh);
    }
}

/// <summary>
/// <c>policy_loss: gmpo</c> (Zhao et al. 2025, "Geometric-Mean Policy Optimization", arXiv 2507.20673): each token's log-ratio is
/// clipped to [−ε_low, ε_high] on the side the advantage's sign makes binding (PPO's trust region, in log space), and the
/// sequence ratio is the geometric mean of the clipped token ratios: ℓ_i = −Â_i · exp((1/|o_i|) Σ_t sgn(Â)·min(sgn(Â)·log ρ_t,
/// sgn(Â)·clip(log ρ_t))). ε is in log space here (the paper: ε 0.4, ratios in (e^−0.4, e^0.4); preset <c>gmpo</c>), and the loss
/// is a mean over sequences (<c>loss_type: grpo</c>). As verl's <c>compute_policy_loss_geo_mean</c>.
/// </summary>
public sealed class GmpoObjective(double epsilonLow, double epsilonHigh) : IPolicyObjective
{
    public double EpsilonLow { get; } = epsilonLow;
    public double EpsilonHigh { get; } = epsilonHigh;
    public string Name => "gmpo";

    public PolicyTerms Compute(PolicyInputs x)
    {
        var a = x.Advantages.unsqueeze(1);                                 // (B, 1)
        var m = x.Mask;
        var logRatio = x.LogProbs - x.OldLogProbs;                         // (B, T)
        var sign = a.sign();
        var clamped = logRatio.clamp(-EpsilonLow, EpsilonHigh);
        var chosen = sign * minimum(sign * logRatio, sign * clamped);
        var ratio = ((chosen * m).sum(1, keepdim: true) / (m.sum(1, keepdim: true) + 1e-8)).exp();   // (B, 1)
        var shape = x.LogProbs.shape;
        // Counted where the clip binds, as for PPO (verl counts every clamped token, binding or not).
        return new PolicyTerms((-a * ratio).expand(shape), ratio.expand(shape), (logRatio < -EpsilonLow) & (a < 0), (logRatio > EpsilonHigh) & (a > 0));
    }
}

public static class PolicyObjectives
{
    /// <param name="epsilonLow">ε_low: the ratio's clip range is [1 − ε_low, 1 + ε_high] (GMPO: the log-ratio's, [−ε_low, ε_high]).</param>
    /// <param name="dualClipC">c of dual-clip (ignored by the others).</param>
    public static IPolicyObjective For(PolicyLossType type, double epsilonLow, double epsilonHigh, double dualClipC = 3.0) => type switch
    {
        PolicyLossType.PpoClip => new PpoClipObjective(epsilonLow, epsilonHigh),
        PolicyLossType.DualClip => new DualClipObjective(epsilonLow, epsilonHigh, dualClipC),
        PolicyLossType.Gspo => new GspoObjective(epsilonLow, epsilonHigh),
        PolicyLossType.Cispo => new CispoObjective(epsilonLow, epsilonHigh),
        PolicyLossType.Gmpo => new GmpoObjective(epsilonLow, epsilonHigh),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
