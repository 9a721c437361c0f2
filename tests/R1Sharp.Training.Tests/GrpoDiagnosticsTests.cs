using R1Sharp.Training.Losses.Grpo;

namespace R1Sharp.Training.Tests;

/// <summary>The per-step diagnostics: length percentiles (numpy.percentile's linear rule) and the share of groups with no gradient.</summary>
public class GrpoDiagnosticsTests
{
    [Fact]
    public void Percentiles_interpolate_linearly_between_closest_ranks()
    {
        // numpy.percentile([1, 2, 3, 4], [10, 50, 90]) = [1.3, 2.5, 3.7]: positions 0.3, 1.5 and 2.7 in the sorted values.
        double[] values = [4, 1, 3, 2];
        Assert.Equal(1.3, GrpoDiagnostics.Percentile(values, 10), 10);
        Assert.Equal(2.5, GrpoDiagnostics.Percentile(values, 50), 10);
        Assert.Equal(3.7, GrpoDiagnostics.Percentile(values, 90), 10);
        Assert.Equal((1.0, 4.0), (GrpoDiagnostics.Percentile(values, 0), GrpoDiagnostics.Percentile(values, 100)));
        Assert.Equal(7, GrpoDiagnostics.Percentile([7], 90));
        Assert.True(double.IsNaN(GrpoDiagnostics.Percentile([], 50)));
        Assert.Throws<ArgumentOutOfRangeException>(() => GrpoDiagnostics.Percentile(values, 101));
    }

    [Fact]
    public void Zero_advantage_share_counts_groups_that_give_no_gradient()
    {
        double[] rewards = [1, 0, 0, 1, 1, 1];
        int[] tokens = [2, 1, 2, 2, 1, 2];
        // GRPO: the all-correct group has Â = 0 everywhere; the other does not.
        Assert.Equal(0.5, GrpoDiagnostics.ZeroAdvantageShare(AdvantageEstimators.For(AdvantageType.Grpo).Compute(rewards, 3, tokens), 3));
        // REINFORCE++ has no group baseline: every group moves.
        Assert.Equal(0, GrpoDiagnostics.ZeroAdvantageShare(AdvantageEstimators.For(AdvantageType.ReinforcePlusPlus).Compute(rewards, 3, tokens), 3));
        Assert.Equal(1, GrpoDiagnostics.ZeroAdvantageShare([0f, 1e-7f, 0f, 0f], 2));
        Assert.Equal(0, GrpoDiagnostics.ZeroAdvantageShare([], 4));
    }
}
