using R1Sharp.Training.Losses.Grpo;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Grpo;

/// <summary>
/// What the update does about rollouts that another sampler (or older weights) produced: it measures the trainer-vs-sampler
/// mismatch of every step (<see cref="RolloutMismatch"/>), applies the corrections the <c>rollout</c> section turns on
/// (<see cref="IRolloutCorrection"/>, weights on the per-token loss), and, for asynchronous rollouts, takes the sampler's
/// log-probabilities as π_old of the ratio — decoupled from the current policy, as AReaL and prime-rl do — so that the clip
/// bounds the step against the policy that actually sampled.
/// </summary>
public sealed class OffPolicy(bool samplerIsOld, IRolloutCorrection? correction)
{
    double weightSum, weightTokens;

    public static OffPolicy From(RolloutOptions r)
    {
        var parts = new List<IRolloutCorrection>();
        if (r.TisCap > 0) parts.Add(new TruncatedImportanceSampling(r.TisCap, r.TisLevel));
        if (r.MisLow > 0) parts.Add(new SequenceMasking(r.MisLow, r.MisHigh));
        if (r.IcepopLow > 0) parts.Add(new IcePop(r.IcepopLow, r.IcepopHigh));
        return new OffPolicy(r.MaxOffPolicySteps > 0, parts.Count switch { 0 => null, 1 => parts[0], _ => new CombinedCorrection(parts) });
    }

    /// <summary>π_old of the ratio is the sampler's log-probabilities even with one update per batch.</summary>
    public bool SamplerIsOld { get; } = samplerIsOld;

    public IRolloutCorrection? Correction { get; } = correction;

    /// <summary>This step's mismatch so far.</summary>
    public RolloutMismatch Mismatch { get; private set; } = new();

    /// <summary>
    /// The per-token loss with the corrections applied (unchanged without any); the first pass over a batch also adds its
    /// tokens to the mismatch.
    /// </summary>
    /// <param name="loss">ℓ (B, T).</param>
    /// <param name="logProbs">The trainer's log π_θ of the tokens (B, T).</param>
    /// <param name="samplerLogProbs">The sampler's (B, T), 0 on padding.</param>
    /// <param name="mask">Completion tokens (B, T).</param>
    /// <param name="iteration">Which of the μ passes over the batch.</param>
    public Tensor Apply(Tensor loss, Tensor logProbs, Tensor samplerLogProbs, Tensor mask, int iteration)
    {
        if (iteration == 0) Mismatch.Add(logProbs, samplerLogProbs, mask);
        if (Correction is null) return loss;
        var w = Correction.Weights(logProbs.detach(), samplerLogProbs, mask);
        if (iteration == 0)
            using (no_grad())
            {
                weightSum += (w * mask).sum().item<float>();
                weightTokens += mask.sum().item<float>();
            }
        return loss * w;
    }

    /// <summary>Adds the step's mismatch (and the mean correction weight) to <paramref name="metrics"/>, and starts the next step's.</summary>
    public void AddMetrics(IDictionary<string, double> metrics)
    {
        if (Mismatch.Tokens > 0)
        {
            metrics["rollout/mismatch_kl"] = Mismatch.MeanKl;
            metrics["rollout/mismatch_max_ratio"] = Mismatch.MaxRatio;
            metrics["rollout/mismatch_abs_log_ratio"] = Mismatch.MeanAbsLogRatio;
        }
        if (weightTokens > 0) metrics["rollout/correction_weight_mean"] = weightSum / weightTokens;
        Mismatch = new RolloutMismatch();
        weightSum = weightTokens = 0;
    }
}
