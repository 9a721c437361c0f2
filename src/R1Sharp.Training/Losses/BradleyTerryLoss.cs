using static TorchSharp.torch;

namespace R1Sharp.Training.Losses;

/// <summary>
/// The pairwise loss of a reward model under the Bradley-Terry preference model, P(chosen ≻ rejected) = σ(r_c − r_r)
/// (InstructGPT, Ouyang et al. 2022, eq. 1), per pair i:
/// <code>
///   ℓ_i = −log σ(r_c,i − r_r,i − m_i)  +  λ · (r_c,i + r_r,i)²
/// </code>
/// m_i is the pair's margin (Llama 2, Touvron et al. 2023, eq. 2; TRL's <c>margin</c> column), 0 without one;
/// λ is the reward-centering coefficient (Eisenstein et al. 2023, "Helping or Herding?"; TRL's
/// <c>center_rewards_coefficient</c>), which pulls the rewards of each pair towards a zero mean without changing
/// their difference. The mean over pairs of ℓ is TRL's RewardTrainer loss.
/// </summary>
public static class BradleyTerryLoss
{
    /// <summary>ℓ_i per pair (B) from rewards (B) of the chosen and rejected responses; <paramref name="margin"/> (B) or null.</summary>
    public static Tensor PerPair(Tensor chosen, Tensor rejected, Tensor? margin = null, double centerCoefficient = 0)
    {
        var difference = chosen - rejected;
        if (margin is not null) difference = difference - margin;
        var loss = -nn.functional.logsigmoid(difference);
        return centerCoefficient == 0 ? loss : loss + centerCoefficient * (chosen + rejected).square();
    }

    /// <summary>Share of pairs whose chosen response scores higher (a tie counts as wrong).</summary>
    public static Tensor Correct(Tensor chosen, Tensor rejected) => (chosen > rejected).to(ScalarType.Float32);
}
