using Microsoft.Extensions.Logging;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Tasks;

/// <summary>
/// One prompt of a task: a stable id, the raw question, the prompt as the task renders it for the model, and the
/// reference fields its rewards read (<c>answer</c>, <c>solution</c>, <c>numbers</c>, <c>target</c>,
/// <c>language</c>, <c>tests</c>, …).
/// </summary>
public sealed record TaskExample(string Id, string Question, string Prompt, IReadOnlyDictionary<string, string> Reference)
{
    /// <summary>The reference field, or null.</summary>
    public string? Field(string name) => Reference.TryGetValue(name, out var value) ? value : null;

    /// <summary>What a reward sees for <paramref name="completion"/> of this prompt.</summary>
    public RewardInput ToRewardInput(string completion, int? completionTokens = null) =>
        new(Prompt, completion, Reference, completionTokens);
}

/// <summary>
/// How evaluation decides that one sample is correct: the reward <paramref name="RewardName"/> scores it at least
/// <paramref name="Threshold"/>. pass@1 is the mean of that over k samples per prompt (DeepSeek-R1's protocol).
/// </summary>
public sealed record EvaluationMetric(string RewardName, double Threshold = 1.0)
{
    /// <summary>True when <paramref name="score"/> counts as correct; a null score ("cannot judge") never does.</summary>
    public bool IsCorrect(double? score) => score is double s && s >= Threshold;
}

/// <summary>
/// A task: prompts with their reference fields, the rewards to train with (registry names and weights, built
/// with <see cref="RewardRegistry"/>), and the evaluation metric.
/// </summary>
public sealed record TaskDefinition(
    string Name,
    IReadOnlyList<TaskExample> Examples,
    IReadOnlyList<RewardSpec> Rewards,
    EvaluationMetric Metric,
    string Description = "")
{
    /// <summary>
    /// The answer grader of this task's accuracy-style rewards (<c>accuracy</c>, <c>length</c>, <c>cosine</c>):
    /// (gold, completion) → correct?, null when it cannot judge. Null: Math-Verify's rules (<see cref="RewardRegistry.MathGrader(string, string)"/>).
    /// </summary>
    public Func<string, string, bool?>? Grader { get; init; }

    /// <summary>
    /// The rewards that judge this task: the standard registry with the task's grader. Training (GRPO, rejection sampling)
    /// and evaluation both build their rewards here, so they grade the same completion the same way.
    /// </summary>
    public RewardRegistry Registry(ILogger? logger = null) => RewardRegistry.CreateStandard(logger, Grader);

    /// <summary>The weighted rewards of <paramref name="specs"/>, from <see cref="Registry"/>.</summary>
    public WeightedRewards BuildRewards(IEnumerable<RewardSpec> specs, ILogger? logger = null) => Registry(logger).Build(specs);
}
