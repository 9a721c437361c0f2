namespace R1Sharp.Training.Losses.Grpo;

/// <summary>Numbers the GRPO recipe logs every step beside the loss (docs/algorithms.md, "Diagnostics").</summary>
public static class GrpoDiagnostics
{
    /// <summary>
    /// The p-th percentile (0–100) by linear interpolation between the closest ranks (numpy.percentile's default):
    /// position p/100 · (n − 1) in the sorted values. NaN for no values.
    /// </summary>
    public static double Percentile(IEnumerable<double> values, double p)
    {
        if (p is < 0 or > 100 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "a percentile is between 0 and 100");
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        double position = p / 100 * (sorted.Length - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    /// <summary>
    /// Share of groups (G contiguous advantages each) in which every advantage is 0 (|Â| ≤ 1e-6): the groups that give no
    /// gradient. For GRPO these are the groups of equal rewards; REINFORCE++ without a baseline gives them Â ≠ 0.
    /// </summary>
    public static double ZeroAdvantageShare(IReadOnlyList<float> advantages, int groupSize)
    {
        GroupAdvantages.CheckGroups(advantages.Count, groupSize);
        int groups = advantages.Count / groupSize;
        if (groups == 0) return 0;
        int zero = 0;
        for (int g = 0; g < groups; g++)
        {
            bool all = true;
            for (int i = 0; i < groupSize && all; i++) all = Math.Abs(advantages[g * groupSize + i]) <= 1e-6;
            if (all) zero++;
        }
        return zero / (double)groups;
    }
}
