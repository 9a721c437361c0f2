namespace R1Sharp.Rewards;

/// <summary>
/// One completion to judge: the prompt it answers, the completion text, and the task's reference fields
/// (for example <c>answer</c>, <c>solution</c>, <c>tests</c>, <c>target</c>, <c>numbers</c>, <c>language</c>).
/// <paramref name="CompletionTokens"/> is the completion's length in tokens when the caller knows it
/// (length-based rewards fall back to a whitespace word count otherwise).
/// </summary>
public sealed record RewardInput(
    string Prompt,
    string Completion,
    IReadOnlyDictionary<string, string> Reference,
    int? CompletionTokens = null)
{
    /// <summary>The reference field, or null when the task did not provide it.</summary>
    public string? Field(string name) => Reference.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// A reward function (docs/architecture.md, "Rewards"). It scores a batch so that expensive judges (a code sandbox, a reward
/// model) can work in parallel, and so that group-relative rewards (Kimi length) see their group.
/// A score is a number, or null for "cannot judge" (excluded from means, never counted as 0).
/// Implementations never throw on any completion text.
/// </summary>
public interface IReward
{
    /// <summary>The name used in configs, metrics and logs, e.g. <c>accuracy</c>.</summary>
    string Name { get; }

    /// <summary>One score per input, in the same order.</summary>
    IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default);
}

/// <summary>
/// A reward that reads reference fields of its inputs (the gold answer, the tests): it names them, so that a run whose
/// data lacks them can say which field is missing instead of training on null scores.
/// </summary>
public interface IReadsReferenceFields
{
    /// <summary>The reference fields the reward needs, e.g. <c>answer</c>.</summary>
    IReadOnlyList<string> ReferenceFields { get; }
}
