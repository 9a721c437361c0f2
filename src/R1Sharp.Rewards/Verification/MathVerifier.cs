namespace R1Sharp.Rewards.Verification;

/// <summary>How answers are compared. Defaults follow Math-Verify's <c>verify()</c>.</summary>
public sealed record VerifyOptions
{
    public static VerifyOptions Default { get; } = new();

    /// <summary>When either side is a decimal literal, both are rounded to this many decimal places (Math-Verify: 6).</summary>
    public int FloatRounding { get; init; } = 6;

    /// <summary>Variables must match by name; false matches them by sorted position (f(x) = f(y)).</summary>
    public bool StrictVariables { get; init; } = true;

    /// <summary>
    /// Also let a gold set match a predicted relation (gold <c>x \in [-2,7]</c>, prediction <c>-2 \le x \le 7</c>).
    /// A gold relation always matches a predicted set.
    /// </summary>
    public bool AllowSetRelationComparison { get; init; }

    /// <summary>
    /// A percentage also matches its bare number (gold <c>10</c> accepts <c>10\%</c> and the reverse), besides its
    /// value (<c>10\%</c> = <c>0.1</c>). Math-Verify reads 10% only as 0.1; MATH's own reference solutions box
    /// <c>\boxed{10}\%</c> for gold <c>10</c>, so the lenient reading is the default.
    /// </summary>
    public bool PercentMatchesBareNumber { get; init; } = true;

    /// <summary>Wall-clock bound for one call; past it the answer is judged wrong. Zero or negative: no deadline.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How <see cref="MathVerifier.Grade"/> finds the answer in a completion.</summary>
    public ExtractionOptions Extraction { get; init; } = ExtractionOptions.Default;
}

/// <summary>
/// The outcome of grading a completion: <see cref="Correct"/> is null when no answer could be extracted
/// (the reward then says "cannot judge" or 0, as the caller decides).
/// </summary>
public sealed record GradeResult(bool? Correct, string? Prediction, ExtractionRule? Rule, string GoldNormalized);

/// <summary>
/// Rule-based math answer checking: extraction (<see cref="AnswerExtractor"/>) plus equivalence of LaTeX
/// answers (numbers, fractions, radicals, π, complex numbers, expressions, equations, inequalities, intervals,
/// sets, tuples, matrices, text answers). Gold defines the form of the answer. Every call is bounded in time
/// and memory, safe to call from many threads at once, and never throws.
/// </summary>
public static class MathVerifier
{
    /// <summary>
    /// True when <paramref name="prediction"/> is a correct answer for <paramref name="gold"/>. Both are answers
    /// ("\\frac12" vs "0.5"); text around them (<c>$…$</c>, <c>\boxed{}</c>, "The answer is …") is tolerated.
    /// </summary>
    public static bool Verify(string gold, string prediction, VerifyOptions? options = null)
    {
        options ??= VerifyOptions.Default;
        if (string.IsNullOrWhiteSpace(gold) || string.IsNullOrWhiteSpace(prediction)) return false;
        try
        {
            var g = AnswerParser.Gold(gold, options.Timeout);
            var budget = new Budget(options.Timeout);
            var p = AnswerParser.Side(prediction, budget);
            return Compare(g, p, options, budget);
        }
        catch (Exception)
        {
            // Budget exceeded, or a bug on some odd input: judged wrong, never thrown at the trainer.
            return false;
        }
    }

    /// <summary>Extracts the answer from <paramref name="completion"/> and verifies it against <paramref name="gold"/>.</summary>
    public static GradeResult Grade(string gold, string completion, VerifyOptions? options = null)
    {
        options ??= VerifyOptions.Default;
        var goldNormalized = Normalize(gold ?? "", options) ?? gold?.Trim() ?? "";
        var extracted = AnswerExtractor.Extract(completion ?? "", options.Extraction);
        if (extracted is null) return new GradeResult(null, null, null, goldNormalized);
        return new GradeResult(Verify(gold ?? "", extracted.Text, options), extracted.Text, extracted.Rule, goldNormalized);
    }

    /// <summary>
    /// A readable normal form of an answer (<c>\dfrac{1}{2}</c> → <c>1/2</c>, <c>\left( 3, \frac{\pi}{2} \right)</c>
    /// → <c>(3, pi/2)</c>), or null when it cannot be parsed.
    /// </summary>
    public static string? Normalize(string answer, VerifyOptions? options = null)
    {
        options ??= VerifyOptions.Default;
        if (string.IsNullOrWhiteSpace(answer)) return null;
        try
        {
            var side = AnswerParser.Gold(answer, options.Timeout);
            return side.Candidates.Length > 0 ? side.Candidates[0].ToString() : null;
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static bool Compare(ParsedSide gold, ParsedSide pred, VerifyOptions options, Budget budget)
    {
        if (gold.Normalized.Length > 0 && gold.Normalized == pred.Normalized) return true;
        if (gold.Candidates.Length == 0 || pred.Candidates.Length == 0) return false;
        var eq = new Equivalence(options.FloatRounding, options.StrictVariables, options.AllowSetRelationComparison, options.PercentMatchesBareNumber, budget);
        foreach (var g in gold.Candidates)
        foreach (var p in pred.Candidates)
            if (eq.Equal(g, p))
                return true;
        return false;
    }
}
