namespace R1Sharp.Rewards.Rules;

/// <summary>
/// Kimi k1.5 length reward (arXiv 2501.12599 §2.3.3; open-r1 <c>len_reward</c>), group-relative:
/// with len_i the completion length and min/max taken over the group,
/// λ_i = 0.5 − (len_i − min) / (max − min); reward = λ_i when the answer is correct, min(0, λ_i) when it is
/// wrong; all zeros when every length in the group is equal. Short correct answers earn up to +0.5, long ones
/// down to −0.5; wrong answers are never rewarded for being short, only penalised for being long.
/// </summary>
/// <remarks>
/// <para>Group: by default the completions that share a prompt (Kimi's "k sampled responses" of one problem);
/// with <c>groupByPrompt: false</c>, the whole batch, as open-r1 does.</para>
/// <para>Length: <see cref="RewardInput.CompletionTokens"/> when every completion of the group has it, otherwise
/// the whitespace word count for the whole group (open-r1 uses characters; the formula is scale-free, only the
/// unit of comparison changes). Lengths within a group are always in one unit.</para>
/// <para>Correctness comes from the grader on reference field <c>answer</c>. Where it cannot judge (no gold,
/// grader returns null), the reward is null — open-r1 treats that case as correct; we report "cannot judge"
/// instead — but the completion's length still counts towards its group's min and max.</para>
/// </remarks>
public sealed class KimiLengthReward : IReward
{
    private readonly Func<string, string, bool?> _grader;
    private readonly bool _groupByPrompt;
    private readonly string _goldField;

    /// <param name="grader">(gold, completion) → correct?, or null when it cannot judge.</param>
    /// <param name="groupByPrompt">Normalise lengths within completions of the same prompt (default) or over the whole batch.</param>
    /// <param name="goldField">The reference field holding the gold answer.</param>
    public KimiLengthReward(Func<string, string, bool?> grader, bool groupByPrompt = true, string goldField = "answer")
    {
        _grader = grader ?? throw new ArgumentNullException(nameof(grader));
        _groupByPrompt = groupByPrompt;
        _goldField = goldField;
    }

    /// <inheritdoc />
    public string Name => "length";

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        IEnumerable<IGrouping<string, int>> groups = _groupByPrompt
            ? Enumerable.Range(0, batch.Count).GroupBy(i => batch[i].Prompt, StringComparer.Ordinal)
            : Enumerable.Range(0, batch.Count).GroupBy(_ => "", StringComparer.Ordinal);
        foreach (var group in groups)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int[] members = [.. group];
            bool useTokens = members.All(i => batch[i].CompletionTokens is not null);
            int[] lengths = [.. members.Select(i => useTokens ? batch[i].CompletionTokens!.Value : CompletionText.WhitespaceWordCount(batch[i].Completion))];
            int min = lengths.Min(), max = lengths.Max();
            for (int k = 0; k < members.Length; k++)
            {
                int i = members[k];
                bool? correct = AccuracyReward.Grade(_grader, batch[i].Field(_goldField), batch[i].Completion);
                scores[i] = correct is null ? null : Reward(lengths[k], min, max, correct.Value);
            }
        }
        return scores;
    }

    /// <summary>The formula for one completion of length <paramref name="length"/> in a group spanning [min, max].</summary>
    public static double Reward(int length, int min, int max, bool correct)
    {
        if (max == min) return 0.0;
        double lambda = 0.5 - (double)(length - min) / (max - min);
        return correct ? lambda : Math.Min(0.0, lambda);
    }
}
