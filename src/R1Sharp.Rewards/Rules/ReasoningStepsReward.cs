using System.Text.RegularExpressions;

namespace R1Sharp.Rewards.Rules;

/// <summary>
/// Reasoning steps (open-r1 <c>reasoning_steps_reward</c>): min(1, k / 3) where k is the number of
/// non-overlapping matches of <c>(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,)</c> — "Step 1:",
/// a numbered item at the very start of the text (no MULTILINE, so <c>^</c> is the start only), a line starting
/// with "-" or "*", or one of the four transition words (case-sensitive). Three markers or more earn full credit.
/// Never null.
/// </summary>
public sealed class ReasoningStepsReward : IReward
{
    private static readonly Regex Marker = new(
        @"(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,)", RegexOptions.CultureInvariant | RegexOptions.Compiled);

    /// <inheritdoc />
    public string Name => "reasoning_steps";

    /// <summary>The reasoning-steps score of one completion.</summary>
    public static double ScoreOne(string completion) => Math.Min(1.0, Marker.Count(completion) / 3.0);

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        for (int i = 0; i < batch.Count; i++) scores[i] = ScoreOne(batch[i].Completion);
        return scores;
    }
}
