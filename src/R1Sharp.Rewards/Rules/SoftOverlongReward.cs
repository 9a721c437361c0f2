namespace R1Sharp.Rewards.Rules;

/// <summary>
/// Soft overlong punishment (DAPO, arXiv 2503.14476 Eq. 13; open-r1 <c>get_soft_overlong_punishment</c>):
/// with L = maxCompletionLength, C = softPunishCache and |o| the completion length,
/// reward = 0 when |o| ≤ L − C; (L − C − |o|) / C when L − C &lt; |o| ≤ L (a linear ramp from 0 to −1);
/// −1 when |o| &gt; L. Never rewards shortness. Never null.
/// </summary>
/// <remarks>
/// Length: <see cref="RewardInput.CompletionTokens"/> (open-r1 counts completion token ids), or the whitespace
/// word count when the caller did not give tokens. Defaults are open-r1's (L = 16384, C = 4096). With C = 0 the
/// ramp is empty and the reward is a step at L.
/// </remarks>
public sealed class SoftOverlongReward : IReward
{
    /// <param name="maxCompletionLength">L, the generation limit.</param>
    /// <param name="softPunishCache">C, the length of the ramp before L.</param>
    public SoftOverlongReward(int maxCompletionLength = 16384, int softPunishCache = 4096)
    {
        if (maxCompletionLength <= 0) throw new ArgumentOutOfRangeException(nameof(maxCompletionLength), maxCompletionLength, "max_completion_len must be positive.");
        if (softPunishCache < 0 || softPunishCache > maxCompletionLength)
            throw new ArgumentOutOfRangeException(nameof(softPunishCache), softPunishCache, "soft_punish_cache must be in [0, max_completion_len].");
        MaxCompletionLength = maxCompletionLength;
        SoftPunishCache = softPunishCache;
    }

    /// <summary>L.</summary>
    public int MaxCompletionLength { get; }

    /// <summary>C.</summary>
    public int SoftPunishCache { get; }

    /// <inheritdoc />
    public string Name => "overlong";

    /// <summary>The formula for one completion length.</summary>
    public double Reward(int length)
    {
        int free = MaxCompletionLength - SoftPunishCache;
        if (length <= free) return 0.0;
        if (length <= MaxCompletionLength) return (double)(free - length) / SoftPunishCache;
        return -1.0;
    }

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        for (int i = 0; i < batch.Count; i++) scores[i] = Reward(CompletionText.Length(batch[i]));
        return scores;
    }
}
