namespace R1Sharp.Training.Losses.Grpo;

/// <summary>How group-relative advantages are scaled (docs/architecture.md, "GRPO and its variants").</summary>
public enum AdvantageScaling
{
    /// <summary>Â = (r − mean_group) / (std_group + ε): GRPO (DeepSeekMath) and TRL's default.</summary>
    Group,
    /// <summary>Â = (r − mean_group) / (std_batch + ε): TRL's scale_rewards="batch".</summary>
    Batch,
    /// <summary>Â = r − mean_group: Dr. GRPO (Liu et al. 2025) — dividing by the std over-weights easy and hard prompts.</summary>
    None,
}

/// <summary>
/// Outcome-supervised advantages: every token of completion i gets Â_i computed from its group of G
/// completions of the same prompt. std is the sample standard deviation (N − 1), as torch.std computes it.
/// </summary>
public static class GroupAdvantages
{
    public const double Epsilon = 1e-4; // TRL adds 1e-4 to the std

    /// <param name="rewards">B = groups × G rewards, each group contiguous.</param>
    /// <returns>Advantages (B), and for each group whether all its rewards were equal (its advantages are all 0).</returns>
    public static (float[] Advantages, bool[] ZeroStdGroups) Compute(IReadOnlyList<double> rewards, int groupSize, AdvantageScaling scaling)
    {
        if (groupSize < 1 || rewards.Count % groupSize != 0)
            throw new ArgumentException($"{rewards.Count} rewards do not split into groups of {groupSize}");
        int groups = rewards.Count / groupSize;
        var advantages = new float[rewards.Count];
        var zeroStd = new bool[groups];
        double batchStd = Std(rewards, 0, rewards.Count);
        for (int g = 0; g < groups; g++)
        {
            int start = g * groupSize;
            double mean = 0;
            for (int i = 0; i < groupSize; i++) mean += rewards[start + i];
            mean /= groupSize;
            double std = Std(rewards, start, groupSize);
            zeroStd[g] = std < 1e-12;
            double scale = scaling switch
            {
                AdvantageScaling.Group => std + Epsilon,
                AdvantageScaling.Batch => batchStd + Epsilon,
                _ => 1.0,
            };
            for (int i = 0; i < groupSize; i++) advantages[start + i] = (float)((rewards[start + i] - mean) / scale);
        }
        return (advantages, zeroStd);
    }

    static double Std(IReadOnlyList<double> values, int start, int count)
    {
        if (count < 2) return 0;
        double mean = 0;
        for (int i = 0; i < count; i++) mean += values[start + i];
        mean /= count;
        double sum = 0;
        for (int i = 0; i < count; i++) sum += (values[start + i] - mean) * (values[start + i] - mean);
        return Math.Sqrt(sum / (count - 1));
    }
}
