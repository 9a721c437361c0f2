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
        CheckGroups(rewards.Count, groupSize);
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

    /// <summary>For each group, whether all its rewards are equal (std 0): GRPO gives it no gradient, DAPO's dynamic sampling drops it.</summary>
    public static bool[] ZeroStdGroups(IReadOnlyList<double> rewards, int groupSize)
    {
        CheckGroups(rewards.Count, groupSize);
        var zero = new bool[rewards.Count / groupSize];
        for (int g = 0; g < zero.Length; g++) zero[g] = Std(rewards, g * groupSize, groupSize) < 1e-12;
        return zero;
    }

    internal static void CheckGroups(int count, int groupSize)
    {
        if (groupSize < 1 || count % groupSize != 0)
            throw new ArgumentException($"{count} rewards do not split into groups of {groupSize}");
    }

    /// <summary>
    /// (v − μ) / √(σ² + 1e-8) with μ and σ² taken over every token of the batch: sample i counts <paramref name="tokens"/>[i]
    /// times, σ² with Bessel's correction over the N tokens (verl's <c>masked_whiten</c>). Fewer than 2 tokens: all 0.
    /// </summary>
    internal static float[] WhitenOverTokens(IReadOnlyList<double> values, IReadOnlyList<int> tokens)
    {
        if (tokens.Count != values.Count) throw new ArgumentException($"{values.Count} rewards but {tokens.Count} token counts");
        double n = 0, sum = 0;
        for (int i = 0; i < values.Count; i++) { n += tokens[i]; sum += tokens[i] * values[i]; }
        var a = new float[values.Count];
        if (n < 2) return a;
        double mean = sum / n, squares = 0;
        for (int i = 0; i < values.Count; i++) squares += tokens[i] * (values[i] - mean) * (values[i] - mean);
        double scale = 1 / Math.Sqrt(squares / (n - 1) + 1e-8);
        for (int i = 0; i < values.Count; i++) a[i] = (float)((values[i] - mean) * scale);
        return a;
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
