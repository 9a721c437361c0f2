namespace R1Sharp.Training.Losses.Grpo;

/// <summary>
/// Turns the rewards of one training batch into one advantage per completion (every token of the completion gets it).
/// Each estimator is its own small type, chosen by <see cref="AdvantageType"/> (config key <c>advantage</c>);
/// docs/algorithms.md has the table with formulas and sources.
/// </summary>
public interface IAdvantageEstimator
{
    string Name { get; }

    /// <param name="rewards">B = groups × G rewards, each group (the G completions of one prompt) contiguous.</param>
    /// <param name="groupSize">G.</param>
    /// <param name="tokens">Completion tokens of each sample that enter the loss (0 for a masked completion): batch
    /// statistics that verl and OpenRLHF take over the tokens of the batch weigh each completion by them.</param>
    float[] Compute(IReadOnlyList<double> rewards, int groupSize, IReadOnlyList<int> tokens);
}

/// <summary>The advantage estimators (config key <c>advantage</c>).</summary>
public enum AdvantageType
{
    /// <summary>GRPO's group-relative advantage, scaled as <c>scale_rewards</c> says (group std, batch std, or none = Dr. GRPO).</summary>
    Grpo,
    /// <summary>REINFORCE leave-one-out: r_i minus the mean of the other G − 1 rewards of the group.</summary>
    Rloo,
    /// <summary>REINFORCE++: the rewards whitened over the tokens of the whole batch (no group baseline).</summary>
    ReinforcePlusPlus,
    /// <summary>REINFORCE++ with the group mean as baseline, then whitened over the tokens of the batch.</summary>
    ReinforcePlusPlusBaseline,
    /// <summary>MaxRL: (r − mean) / (mean + ε), the group mean as baseline and as scale (binary rewards in the paper).</summary>
    MaxRl,
}

/// <summary><c>advantage: grpo</c>: Â_i = (r_i − mean_g) / (std + 1e-4), or Dr. GRPO's r_i − mean_g (<see cref="GroupAdvantages"/>).</summary>
public sealed class GrpoAdvantage(AdvantageScaling scaling) : IAdvantageEstimator
{
    public AdvantageScaling Scaling { get; } = scaling;
    public string Name => "grpo";
    public float[] Compute(IReadOnlyList<double> rewards, int groupSize, IReadOnlyList<int> tokens)
        => GroupAdvantages.Compute(rewards, groupSize, Scaling).Advantages;
}

/// <summary>
/// <c>advantage: rloo</c> (Ahmadian et al. 2024, "Back to Basics", arXiv 2402.14740): Â_i = r_i − (Σ_{j≠i} r_j) / (G − 1)
/// = G/(G − 1) · (r_i − mean_g). As verl's <c>compute_rloo_outcome_advantage</c> (core_algos.py), a group of one has no
/// baseline: Â = r.
/// </summary>
public sealed class RlooAdvantage : IAdvantageEstimator
{
    public string Name => "rloo";
    public float[] Compute(IReadOnlyList<double> rewards, int groupSize, IReadOnlyList<int> tokens)
    {
        GroupAdvantages.CheckGroups(rewards.Count, groupSize);
        var a = new float[rewards.Count];
        for (int start = 0; start < rewards.Count; start += groupSize)
        {
            double sum = 0;
            for (int i = 0; i < groupSize; i++) sum += rewards[start + i];
            for (int i = 0; i < groupSize; i++)
            {
                double r = rewards[start + i];
                a[start + i] = (float)(groupSize == 1 ? r : r - (sum - r) / (groupSize - 1));
            }
        }
        return a;
    }
}

/// <summary>
/// <c>advantage: reinforce_plus_plus</c> (Hu 2025, "REINFORCE++", arXiv 2501.03262): with one outcome reward and γ = 1 the
/// return of every token is r_i; it is whitened over every token of the batch, as verl's
/// <c>compute_reinforce_plus_plus_outcome_advantage</c> (<c>masked_whiten</c>: token-weighted mean, unbiased variance,
/// Â = (r − μ) / √(σ² + 1e-8)). No group baseline: prompts that are easy for every sample still get Â &gt; 0.
/// </summary>
public sealed class ReinforcePlusPlusAdvantage : IAdvantageEstimator
{
    public string Name => "reinforce_plus_plus";
    public float[] Compute(IReadOnlyList<double> rewards, int groupSize, IReadOnlyList<int> tokens)
    {
        GroupAdvantages.CheckGroups(rewards.Count, groupSize);
        return GroupAdvantages.WhitenOverTokens(rewards, tokens);
    }
}

/// <summary>
/// <c>advantage: reinforce_plus_plus_baseline</c> (REINFORCE++-baseline, arXiv 2501.03262): r_i − mean_g, then whitened over
/// every token of the batch as <see cref="ReinforcePlusPlusAdvantage"/> (verl's
/// <c>compute_reinforce_plus_plus_baseline_outcome_advantage</c>; a group of one keeps r_i).
/// </summary>
public sealed class ReinforcePlusPlusBaselineAdvantage : IAdvantageEstimator
{
    public string Name => "reinforce_plus_plus_baseline";
    public float[] Compute(IReadOnlyList<double> rewards, int groupSize, IReadOnlyList<int> tokens)
    {
        GroupAdvantages.CheckGroups(rewards.Count, groupSize);
        var centred = new double[rewards.Count];
        for (int start = 0; start < rewards.Count; start += groupSize)
        {
            double mean = 0;
            for (int i = 0; i < groupSize; i++) mean += rewards[start + i];
            mean = groupSize == 1 ? 0 : mean / groupSize;
            for (int i = 0; i < groupSize; i++) centred[start + i] = rewards[start + i] - mean;
        }
        return GroupAdvantages.WhitenOverTokens(centred, tokens);
    }
}

/// <summary>
/// <c>advantage: max_rl</c> (Tajwar et al. 2026, "Maximum Likelihood Reinforcement Learning", arXiv 2602.02710; the authors'
/// verl fork, <c>compute_p_normalization_outcome_advantage</c>): Â_i = (r_i − mean_g) / (mean_g + 1e-6). With 0/1 rewards
/// mean_g is the pass rate p̂, so hard prompts (small p̂) weigh 1/p̂ more — the gradient of log p instead of p.
/// Meant for rewards in [0, 1]; a group whose rewards are all 0 gets 0.
/// </summary>
public sealed class MaxRlAdvantage : IAdvantageEstimator
{
    public const double Epsilon = 1e-6;
    public string Name => "max_rl";
    public float[] Compute(IReadOnlyList<double> rewards, int groupSize, IReadOnlyList<int> tokens)
    {
        GroupAdvantages.CheckGroups(rewards.Count, groupSize);
        var a = new float[rewards.Count];
        for (int start = 0; start < rewards.Count; start += groupSize)
        {
            double mean = 0;
            for (int i = 0; i < groupSize; i++) mean += rewards[start + i];
            mean /= groupSize;
            for (int i = 0; i < groupSize; i++) a[start + i] = (float)((rewards[start + i] - mean) / (mean + Epsilon));
        }
        return a;
    }
}

public static class AdvantageEstimators
{
    /// <param name="scaling">GRPO's <c>scale_rewards</c>; the other estimators have their own normalisation.</param>
    public static IAdvantageEstimator For(AdvantageType type, AdvantageScaling scaling = AdvantageScaling.Group) => type switch
    {
        AdvantageType.Grpo => new GrpoAdvantage(scaling),
        AdvantageType.Rloo => new RlooAdvantage(),
        AdvantageType.ReinforcePlusPlus => new ReinforcePlusPlusAdvantage(),
        AdvantageType.ReinforcePlusPlusBaseline => new ReinforcePlusPlusBaselineAdvantage(),
        AdvantageType.MaxRl => new MaxRlAdvantage(),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
