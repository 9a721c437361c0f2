using static TorchSharp.torch;

namespace R1Sharp.Training.Losses.Grpo;

/// <summary>
/// How far the sampler's log-probabilities are from the trainer's on the sampled tokens, accumulated over micro-batches:
/// the mean token KL(π_sampler ‖ π_trainer) by Schulman's k3 estimator on the sampler's own samples,
/// mean over tokens of exp(r) − 1 − r with r = log π_trainer − log π_sampler (≥ 0, 0 when they agree); the largest token
/// ratio π_trainer / π_sampler; and the mean |r|. With the trainer's own sampler and weights these are 0 up to rounding;
/// with an inference engine they measure its numerical mismatch, and in asynchronous GRPO the policy's drift as well.
/// </summary>
public sealed class RolloutMismatch
{
    double kl, absLogRatio, tokens;
    double maxRatio = double.NaN, minRatio = double.NaN;

    /// <summary>Adds the tokens of one micro-batch.</summary>
    public void Add(Tensor trainerLogProbs, Tensor samplerLogProbs, Tensor mask)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var r = (trainerLogProbs.detach() - samplerLogProbs) * mask;
        double n = mask.sum().item<float>();
        if (n == 0) return;
        kl += ((r.exp() - 1 - r) * mask).sum().item<float>();
        absLogRatio += (r.abs() * mask).sum().item<float>();
        var valid = mask > 0;
        double max = r.masked_fill(~valid, float.NegativeInfinity).max().exp().item<float>();
        double min = r.masked_fill(~valid, float.PositiveInfinity).min().exp().item<float>();
        maxRatio = double.IsNaN(maxRatio) ? max : Math.Max(maxRatio, max);
        minRatio = double.IsNaN(minRatio) ? min : Math.Min(minRatio, min);
        tokens += n;
    }

    /// <summary>Tokens seen.</summary>
    public double Tokens => tokens;

    /// <summary>Mean k3 estimate of KL(π_sampler ‖ π_trainer) per token.</summary>
    public double MeanKl => tokens == 0 ? 0 : kl / tokens;

    /// <summary>Mean |log π_trainer − log π_sampler| per token.</summary>
    public double MeanAbsLogRatio => tokens == 0 ? 0 : absLogRatio / tokens;

    /// <summary>Largest token ratio π_trainer / π_sampler (NaN before any token).</summary>
    public double MaxRatio => maxRatio;

    /// <summary>Smallest token ratio (NaN before any token).</summary>
    public double MinRatio => minRatio;
}
