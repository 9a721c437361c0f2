using static TorchSharp.torch;

namespace R1Sharp.Training.Losses;

/// <summary>
/// Logit distillation (Hinton, Vinyals and Dean 2015, "Distilling the Knowledge in a Neural Network"): the forward KL from
/// the teacher's temperature-softened next-token distribution to the student's,
///     KL_t = Σ_v p_T^τ(v) · (log p_T^τ(v) − log p_S^τ(v)),      p^τ = softmax(z / τ),
/// scaled by τ² as Hinton et al. do (§2): the gradient of KL with respect to the student's logits is (p_S^τ − p_T^τ)/τ, whose
/// magnitude shrinks roughly as 1/τ² at high temperature, so τ² keeps the term's weight comparable across temperatures. Forward KL is mean-seeking: the student covers every token the teacher
/// gives mass to (as TRL's GKD with β = 0, and as classic knowledge distillation).
/// </summary>
public static class DistillationLoss
{
    /// <summary>
    /// τ²·KL(p_T^τ ‖ p_S^τ) per row: student and teacher logits (N, V), float32 → (N). The teacher is treated as a constant
    /// (detached). A vocabulary entry the teacher gives probability 0 contributes 0 (0·log 0 = 0), whatever the student says.
    /// </summary>
    public static Tensor ScaledForwardKl(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "the distillation temperature must be positive");
        if (!studentLogits.shape.SequenceEqual(teacherLogits.shape))
            throw new ArgumentException($"student logits {Shape(studentLogits)} and teacher logits {Shape(teacherLogits)} differ in shape");
        var logS = (studentLogits / temperature).log_softmax(-1);                 // (N, V)
        var logT = (teacherLogits.detach() / temperature).log_softmax(-1);        // (N, V)
        var pT = logT.exp();
        var perEntry = where(pT > 0, pT * (logT - logS), zeros_like(pT));        // (N, V)
        return perEntry.sum(-1) * (temperature * temperature);                   // (N)
    }

    static string Shape(Tensor t) => "(" + string.Join(", ", t.shape) + ")";
}
