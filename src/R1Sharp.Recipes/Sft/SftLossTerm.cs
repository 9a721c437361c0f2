using R1Sharp.Training.Batching;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Sft;

/// <summary>
/// A term SFT mixes into its per-token loss: ℓ_t = (1 − w)·(−log p_θ(x_t | x_&lt;t)) + w·term_t, summed over the target
/// tokens and divided by the step's target-token count N exactly as the cross-entropy alone is. Distillation's KL to a
/// teacher is one (<see cref="Distill.TeacherKlTerm"/>). With no term, SFT is plain cross-entropy.
/// </summary>
public interface ISftLossTerm
{
    /// <summary>The term's name in metrics (e.g. <c>kl</c>).</summary>
    string Name { get; }

    /// <summary>One line for the run log: what the term is and where it comes from.</summary>
    string Description { get; }

    /// <summary>w, in [0, 1].</summary>
    double Weight { get; }

    /// <summary>
    /// The term at each target position, (N) float32, differentiable with respect to <paramref name="logits"/>:
    /// the micro-batch and the trained model's float32 logits (N, V) at its target positions (<see cref="TokenBatch.TargetLogits"/>).
    /// </summary>
    Tensor PerToken(TokenBatch batch, Tensor logits);
}
