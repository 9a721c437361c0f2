namespace R1Sharp.Rewards.Rules;

/// <summary>
/// A reward that judges only the inputs a rule selects and says "cannot judge" (null) for the others, so one GRPO
/// batch can mix kinds of prompts, each with its own judges. DeepSeek-R1's final RL stage does this: rule rewards on
/// reasoning prompts, reward models on general ones (paper §2.3.4). The wrapped reward sees only the selected inputs,
/// in order (a group-relative reward such as Kimi's length reward sees each kind's samples apart).
/// </summary>
/// <param name="inner">The reward to route to.</param>
/// <param name="applies">Which inputs it judges, e.g. <c>i => i.Field("answer") is not null</c> for reasoning prompts.</param>
public sealed class RoutedReward(IReward inner, Func<RewardInput, bool> applies) : IReward
{
    /// <summary>Judges reasoning prompts only: those with a gold <c>answer</c>.</summary>
    public static RoutedReward ReasoningOnly(IReward inner) => new(inner, i => !string.IsNullOrWhiteSpace(i.Field("answer")));

    /// <summary>
    /// Judges general prompts only: those without a gold <c>answer</c>; with <paramref name="category"/>, only those whose
    /// <c>category</c> field is that one or absent (verl's routing by data source: a helpfulness model trained on helpful
    /// pairs alone has never seen a request to refuse, and its score there is noise).
    /// </summary>
    public static RoutedReward GeneralOnly(IReward inner, string? category = null) => new(inner, i =>
        string.IsNullOrWhiteSpace(i.Field("answer"))
        && (category is null || i.Field("category") is not { } c || string.Equals(c, category, StringComparison.Ordinal)));

    /// <inheritdoc />
    public string Name => inner.Name;

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var selected = Enumerable.Range(0, batch.Count).Where(i => applies(batch[i])).ToList();
        var scores = new double?[batch.Count];
        if (selected.Count == 0) return scores;
        var judged = inner.Score([.. selected.Select(i => batch[i])], cancellationToken);
        for (int k = 0; k < selected.Count; k++) scores[selected[k]] = judged[k];
        return scores;
    }
}
