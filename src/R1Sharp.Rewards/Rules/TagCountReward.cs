namespace R1Sharp.Rewards.Rules;

/// <summary>
/// Tag count (open-r1 <c>tag_count_reward</c>): partial credit towards the R1-Zero format, 0.25 for each of
/// these substrings that occurs exactly once (non-overlapping count, like Python's <c>str.count</c>):
/// <c>"&lt;think&gt;\n"</c>, <c>"\n&lt;/think&gt;\n"</c>, <c>"\n&lt;answer&gt;\n"</c>, <c>"\n&lt;/answer&gt;"</c>.
/// Range [0, 1]; never null.
/// </summary>
public sealed class TagCountReward : IReward
{
    private static readonly string[] Tags = ["<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>"];

    /// <inheritdoc />
    public string Name => "tag_count";

    /// <summary>The tag-count score of one completion.</summary>
    public static double ScoreOne(string completion)
    {
        double score = 0;
        foreach (string tag in Tags)
            if (FormatReward.Count(completion, tag) == 1) score += 0.25;
        return score;
    }

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        for (int i = 0; i < batch.Count; i++) scores[i] = ScoreOne(batch[i].Completion);
        return scores;
    }
}
