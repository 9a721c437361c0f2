using R1Sharp.Rewards.Verification;

namespace R1Sharp.Rewards.Rules;

/// <summary>
/// Accuracy: 1.0 when the grader says the completion's final answer equals the gold answer, 0.0 when it says
/// it does not, and null ("cannot judge") when the input has no gold answer (reference field
/// <c>answer</c> missing or blank), when the grader returns null (it could not parse the gold), or when the
/// grader throws. This follows open-r1's <c>accuracy_reward</c>, which returns None when the gold cannot be
/// parsed and when verification fails, so that such examples are skipped rather than counted as wrong.
/// </summary>
/// <remarks>
/// The grader decides equivalence; the lead wires Math-Verify's port (<c>MathVerifier.Grade</c>) here. A grader
/// that cannot parse the <em>completion</em> should return false (the model's fault), not null.
/// </remarks>
public sealed class AccuracyReward : IReward, IReadsReferenceFields
{
    private readonly Func<string, string, bool?> _grader;
    private readonly string _goldField;

    /// <param name="grader">(gold, completion) → correct?, or null when the gold cannot be parsed.</param>
    /// <param name="goldField">The reference field holding the gold answer.</param>
    public AccuracyReward(Func<string, string, bool?> grader, string goldField = "answer")
    {
        _grader = grader ?? throw new ArgumentNullException(nameof(grader));
        _goldField = goldField;
    }

    /// <inheritdoc />
    public string Name => "accuracy";

    /// <inheritdoc />
    public IReadOnlyList<string> ReferenceFields => [_goldField];

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool? correct = Grade(_grader, batch[i].Field(_goldField), batch[i].Completion);
            scores[i] = correct is null ? null : correct.Value ? 1.0 : 0.0;
        }
        return scores;
    }

    /// <summary>
    /// The grader a reward built from <paramref name="options"/> uses: <paramref name="grader"/> itself when no
    /// Math-Verify option (<see cref="VerifyOptions.OptionNames"/>: <c>precision</c>, <c>numeric_precision</c>,
    /// <c>strict</c>, <c>allow_set_relation_comp</c>, <c>timeout</c>, …) is given; with some, the Math-Verify grader
    /// (<see cref="RewardRegistry.MathGrader(string, string, VerifyOptions)"/>) with those options, which requires
    /// <paramref name="grader"/> to be that grader (the registry of <see cref="RewardRegistry.CreateStandard"/>).
    /// </summary>
    /// <exception cref="RewardConfigException">A bad value, or verify options given for another grader.</exception>
    internal static Func<string, string, bool?> WithVerifyOptions(Func<string, string, bool?> grader, RewardOptions options)
    {
        var verify = VerifyOptions.Default;
        var given = new List<string>();
        foreach (var name in VerifyOptions.OptionNames)
        {
            if (options.GetRaw(name) is not { } raw) continue;
            given.Add(name);
            try
            {
                verify = verify.With(name, raw);
            }
            catch (ArgumentException e)
            {
                throw new RewardConfigException($"Reward '{options.RewardName}': {e.Message}.", e);
            }
        }
        if (given.Count == 0) return grader;
        if (!grader.Equals((Func<string, string, bool?>)RewardRegistry.MathGrader))
            throw new RewardConfigException(
                $"Reward '{options.RewardName}': option(s) {string.Join(", ", given.Select(g => $"'{g}'"))} configure the Math-Verify grader, " +
                "but this registry grades with another one (use RewardRegistry.CreateStandard()).");
        return (gold, completion) => RewardRegistry.MathGrader(gold, completion, verify);
    }

    /// <summary>
    /// Runs a grader defensively: null when the gold is missing or blank, when the grader returns null, or when
    /// it throws (a grader bug must not stop training).
    /// </summary>
    internal static bool? Grade(Func<string, string, bool?> grader, string? gold, string completion)
    {
        if (string.IsNullOrWhiteSpace(gold)) return null;
        try
        {
            return grader(gold, completion);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return null;
        }
    }
}
