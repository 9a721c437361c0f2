namespace R1Sharp.Rewards.Rules;

/// <summary>
/// Cosine-scaled length reward (Yeo et al. 2025, "Demystifying Long Chain-of-Thought", arXiv 2502.03373;
/// open-r1 <c>get_cosine_scaled_reward</c>): with p = len / maxLen and c = cos(p·π),
/// reward = lo + ½(hi − lo)(1 + c), where for a correct answer (lo, hi) = (minValueCorrect, maxValueCorrect)
/// and for a wrong one (lo, hi) = (maxValueWrong, minValueWrong). So a correct answer earns maxValueCorrect at
/// length 0 falling to minValueCorrect at maxLen, and a wrong one is penalised minValueWrong at length 0,
/// easing to maxValueWrong at maxLen. Lengths beyond maxLen are not clamped (open-r1 does not clamp: the cosine
/// turns back up past maxLen).
/// </summary>
/// <remarks>
/// Defaults are those of open-r1's function (−1, −0.5, 0.5, 1, 1000). open-r1's config file defaults
/// <c>cosine_min_value_wrong</c> to 0.0 instead; pass it explicitly to get that. Length: completion tokens, or
/// the whitespace word count (see <see cref="CompletionText.Length"/>); open-r1 counts characters. Correctness
/// from the grader on reference field <c>answer</c>; null when it cannot judge (open-r1 returns 1.0 to "skip";
/// null is our explicit skip).
/// </remarks>
public sealed class CosineLengthReward : IReward
{
    private readonly Func<string, string, bool?> _grader;
    private readonly string _goldField;

    /// <summary>Creates the reward; see the class remarks for the meaning of each value.</summary>
    public CosineLengthReward(
        Func<string, string, bool?> grader,
        double minValueWrong = -1.0,
        double maxValueWrong = -0.5,
        double minValueCorrect = 0.5,
        double maxValueCorrect = 1.0,
        int maxLen = 1000,
        string goldField = "answer")
    {
        if (maxLen <= 0) throw new ArgumentOutOfRangeException(nameof(maxLen), maxLen, "max_len must be positive.");
        _grader = grader ?? throw new ArgumentNullException(nameof(grader));
        MinValueWrong = minValueWrong;
        MaxValueWrong = maxValueWrong;
        MinValueCorrect = minValueCorrect;
        MaxValueCorrect = maxValueCorrect;
        MaxLen = maxLen;
        _goldField = goldField;
    }

    /// <summary>Reward of the shortest wrong answer.</summary>
    public double MinValueWrong { get; }
    /// <summary>Reward of a wrong answer of length maxLen.</summary>
    public double MaxValueWrong { get; }
    /// <summary>Reward of a correct answer of length maxLen.</summary>
    public double MinValueCorrect { get; }
    /// <summary>Reward of the shortest correct answer.</summary>
    public double MaxValueCorrect { get; }
    /// <summary>The length at which the cosine reaches its end value.</summary>
    public int MaxLen { get; }

    /// <inheritdoc />
    public string Name => "cosine";

    /// <summary>The formula for one completion.</summary>
    public double Reward(int length, bool correct)
    {
        double cosine = Math.Cos((double)length / MaxLen * Math.PI);
        (double lo, double hi) = correct ? (MinValueCorrect, MaxValueCorrect) : (MaxValueWrong, MinValueWrong);
        return lo + 0.5 * (hi - lo) * (1.0 + cosine);
    }

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool? correct = AccuracyReward.Grade(_grader, batch[i].Field(_goldField), batch[i].Completion);
            scores[i] = correct is null ? null : Reward(CompletionText.Length(batch[i]), correct.Value);
        }
        return scores;
    }
}
