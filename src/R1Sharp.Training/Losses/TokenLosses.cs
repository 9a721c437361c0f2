using static TorchSharp.torch;

namespace R1Sharp.Training.Losses;

/// <summary>Per-token quantities of a causal language model, over masked positions.</summary>
public static class TokenLosses
{
    /// <summary>
    /// log p(target_t) for every position: logits (B, T, V) float32, targets (B, T) int64 → (B, T).
    /// Computed as logit[target] − logsumexp(logits) so no (B, T, V) log-softmax is kept (TRL's selective_log_softmax).
    /// </summary>
    public static Tensor TargetLogProbs(Tensor logits, Tensor targets)
        => logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1);

    /// <summary>Mean negative log-likelihood over positions where <paramref name="mask"/> is true: Σ m·(−log p) / Σ m.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, Tensor mask)
    {
        var m = mask.to(ScalarType.Float32);
        return -(TargetLogProbs(logits, targets) * m).sum() / m.sum().clamp_min(1);
    }
}
