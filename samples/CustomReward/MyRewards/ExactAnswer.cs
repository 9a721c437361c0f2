using R1Sharp.Rewards;

namespace MyRewards;

/// <summary>
/// <c>exact_answer</c> (no attribute: the class name in snake_case). 1 when the text of the completion's last
/// <c>&lt;answer&gt;…&lt;/answer&gt;</c> is the task's <c>answer</c> field (spaces ignored), 0 when it differs or there is no
/// answer tag, and null — "cannot judge", left out of the means — when the row has no <c>answer</c> field.
/// </summary>
public sealed class ExactAnswer : IReward, IReadsReferenceFields
{
    public string Name => "exact_answer";

    /// <summary>A run whose rows have no <c>answer</c> at all stops with that field named, instead of training on nulls.</summary>
    public IReadOnlyList<string> ReferenceFields => ["answer"];

    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            string? gold = batch[i].Field("answer");
            if (string.IsNullOrWhiteSpace(gold)) continue; // null: cannot judge
            string? given = LastAnswer(batch[i].Completion);
            scores[i] = given is not null && Normalize(given) == Normalize(gold) ? 1.0 : 0.0;
        }
        return scores;
    }

    static string? LastAnswer(string completion)
    {
        int close = completion.LastIndexOf("</answer>", StringComparison.Ordinal);
        if (close < 0) return null;
        int open = completion.LastIndexOf("<answer>", close, StringComparison.Ordinal);
        return open < 0 ? null : completion[(open + "<answer>".Length)..close];
    }

    static string Normalize(string text) => string.Concat(text.Where(c => !char.IsWhiteSpace(c)));
}
