namespace R1Sharp.Rewards.Verification;

/// <summary>
/// How answers are compared: the options of Math-Verify's <c>verify()</c> (huggingface/Math-Verify,
/// <c>grader.py</c>), with its defaults, plus this port's own (percentages, extraction). One record to pass from
/// <c>r1sharp verify</c>, the accuracy rewards' YAML options and <c>r1sharp grade</c>; <see cref="With"/> sets an
/// option from its text form by its Math-Verify name (<c>precision: "4"</c>, <c>strict: "false"</c>).
/// </summary>
public sealed record VerifyOptions
{
    public static VerifyOptions Default { get; } = new();

    /// <summary>
    /// Math-Verify's <c>float_rounding</c> (option name <c>precision</c>, as in Math-Verify's tests): when either side
    /// is a decimal literal, both are rounded to this many decimal places before comparing, so with 2 <c>0.33</c>
    /// matches <c>\frac13</c> and with 4 <c>0.3333</c> does (default 6, where neither does). 0 to 15.
    /// </summary>
    public int FloatRounding { get; init; } = 6;

    /// <summary>
    /// Math-Verify's <c>numeric_precision</c> (default 15): the significant digits to which two values that are
    /// not rational numbers (<c>\sqrt2</c>, <c>\pi</c>, expressions at sample points) must agree. Values are
    /// computed in double precision here, so agreement is never required beyond 9 digits (8 for expressions
    /// with variables): 9 to 15 all mean the same; a smaller number loosens the comparison. 1 to 100.
    /// </summary>
    public int NumericPrecision { get; init; } = 15;

    /// <summary>
    /// Math-Verify's <c>strict</c> (default true): variables must match by name. False matches them by position
    /// in sorted order when both sides have as many (<c>f(x)</c> = <c>f(y)</c>, <c>x^2+1</c> = <c>t^2+1</c>). In both
    /// modes a gold assignment matches its value (<c>x = 5</c> vs <c>5</c>), as in Math-Verify.
    /// </summary>
    public bool StrictVariables { get; init; } = true;

    /// <summary>
    /// Math-Verify's <c>allow_set_relation_comp</c> (default false): also let a gold set match a predicted relation
    /// (gold <c>x \in [-2,7]</c>, prediction <c>-2 \le x \le 7</c>). A gold relation always matches a predicted set.
    /// </summary>
    public bool AllowSetRelationComparison { get; init; }

    /// <summary>
    /// A percentage also matches its bare number (gold <c>10</c> accepts <c>10\%</c> and the reverse), besides its
    /// value (<c>10\%</c> = <c>0.1</c>). Math-Verify reads 10% only as 0.1; MATH's own reference solutions box
    /// <c>\boxed{10}\%</c> for gold <c>10</c>, so the lenient reading is the default.
    /// </summary>
    public bool PercentMatchesBareNumber { get; init; } = true;

    /// <summary>
    /// Wall-clock bound for one call; past it the answer is judged wrong. Zero or negative: no deadline. Math-Verify
    /// allows 5 s for parsing and 5 s for comparing; 2 s per call keeps a trainer's worst case short (a typical call
    /// takes microseconds).
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How <see cref="MathVerifier.Grade"/> finds the answer in a completion.</summary>
    public ExtractionOptions Extraction { get; init; } = ExtractionOptions.Default;

    /// <summary>
    /// The option names <see cref="With"/> accepts: Math-Verify's (<c>precision</c> alias <c>float_rounding</c>,
    /// <c>numeric_precision</c>, <c>strict</c>, <c>allow_set_relation_comp</c>, <c>timeout</c> in seconds, alias
    /// <c>timeout_seconds</c>) and this port's <c>percent_matches_bare_number</c>.
    /// </summary>
    public static IReadOnlyList<string> OptionNames { get; } =
    [
        "precision", "float_rounding", "numeric_precision", "strict", "allow_set_relation_comp", "timeout", "timeout_seconds",
        "percent_matches_bare_number",
    ];

    /// <summary>
    /// These options with one of <see cref="OptionNames"/> set from its text (<c>"4"</c>, <c>"false"</c>, <c>"2.5"</c>).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown name, or a value out of range or of the wrong kind; the message
    /// names the option and the value.</exception>
    public VerifyOptions With(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        var v = value.Trim();
        return name switch
        {
            "precision" or "float_rounding" => this with { FloatRounding = Integer(name, v, 0, 15) },
            "numeric_precision" => this with { NumericPrecision = Integer(name, v, 1, 100) },
            "strict" => this with { StrictVariables = Boolean(name, v) },
            "allow_set_relation_comp" => this with { AllowSetRelationComparison = Boolean(name, v) },
            "percent_matches_bare_number" => this with { PercentMatchesBareNumber = Boolean(name, v) },
            "timeout" or "timeout_seconds" => this with { Timeout = Seconds(name, v) },
            _ => throw new ArgumentException($"unknown verify option '{name}' (known: {string.Join(", ", OptionNames)})"),
        };
    }

    private static int Integer(string name, string v, int min, int max) =>
        int.TryParse(v, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new ArgumentException($"option '{name}' must be an integer from {min} to {max}, got '{v}'");

    private static bool Boolean(string name, string v) => v.ToLowerInvariant() switch
    {
        "true" or "yes" or "1" => true,
        "false" or "no" or "0" => false,
        _ => throw new ArgumentException($"option '{name}' must be true or false, got '{v}'"),
    };

    private static TimeSpan Seconds(string name, string v) =>
        double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) &&
        double.IsFinite(s) && s >= 0 && s <= 3600
            ? TimeSpan.FromSeconds(s)
            : throw new ArgumentException($"option '{name}' must be a number of seconds from 0 (no deadline) to 3600, got '{v}'");
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
        if (gold.Text.Length > 0 && gold.Text == pred.Text) return true;
        if (gold.Candidates.Length == 0 || pred.Candidates.Length == 0) return false;
        var eq = new Equivalence(options, budget);
        foreach (var g in gold.Candidates)
        foreach (var p in pred.Candidates)
            if (eq.Equal(g, p))
                return true;
        return false;
    }
}
