// r1sharp verify --gold "\frac12" --prediction "0.5"
// r1sharp verify --gold 18 --completion "She makes 9 * 2 = 18 dollars. #### 18"
// r1sharp verify --gold "\frac13" --prediction 0.33 --precision 2
using System.CommandLine;
using System.Globalization;
using R1Sharp.Rewards.Verification;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp verify</c>: checks a predicted answer (or the answer found in a completion) against a gold answer
/// with <see cref="MathVerifier"/>. Prints <c>true</c> or <c>false</c> (with a completion and no answer in it:
/// <c>false</c> too) and exits 0 either way; <c>--explain</c> adds the normalised forms on standard error.
/// Math-Verify's options are flags (<see cref="VerifyFlags"/>).
/// </summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var gold = new Option<string>("--gold") { Description = "The reference answer, e.g. \\frac{1}{2}.", Required = true };
        var prediction = new Option<string?>("--prediction") { Description = "The predicted answer to check." };
        var completion = new Option<string?>("--completion") { Description = "A full model completion: the answer is extracted first." };
        var explain = new Option<bool>("--explain") { Description = "Also print the normalised gold and prediction (and the extraction rule) on standard error." };
        var command = new Command("verify", "Check a math answer against the gold answer (rule-based, Math-Verify style).")
        {
            gold, prediction, completion, explain,
        };
        var flags = VerifyFlags.AddTo(command);
        command.SetAction(parse =>
        {
            var options = flags.Read(parse);
            var g = parse.GetValue(gold)!;
            var p = parse.GetValue(prediction);
            var c = parse.GetValue(completion);
            if ((p is null) == (c is null)) throw new UserError("give exactly one of --prediction and --completion");
            if (p is not null)
            {
                var ok = MathVerifier.Verify(g, p, options);
                Console.WriteLine(ok ? "true" : "false");
                if (parse.GetValue(explain))
                    Console.Error.WriteLine($"gold: {MathVerifier.Normalize(g, options) ?? g}\nprediction: {MathVerifier.Normalize(p, options) ?? p}");
                return 0;
            }
            var result = MathVerifier.Grade(g, c!, options);
            Console.WriteLine(result.Correct == true ? "true" : "false");
            if (parse.GetValue(explain))
                Console.Error.WriteLine($"gold: {result.GoldNormalized}\nextracted: {result.Prediction ?? "(no answer found)"} ({result.Rule})");
            return 0;
        });
        return command;
    }
}

/// <summary>
/// Math-Verify's options (<see cref="VerifyOptions"/>) as command-line flags, for any command that checks math
/// answers: <c>--precision N</c> (Math-Verify's <c>float_rounding</c>, alias <c>--float-rounding</c>),
/// <c>--numeric-precision N</c>, <c>--strict true|false</c> (and the older <c>--non-strict</c>),
/// <c>--allow-set-relation-comp</c> (alias <c>--allow-set-relation</c>), <c>--timeout SECONDS</c> and
/// <c>--percent-matches-bare-number true|false</c>. Defaults are Math-Verify's (timeout and percentages: this
/// port's). Usage: <c>var flags = VerifyFlags.AddTo(command);</c> then, in the action,
/// <c>VerifyOptions options = flags.Read(parseResult);</c>; a value out of range is a <see cref="UserError"/>
/// naming the flag.
/// </summary>
public sealed class VerifyFlags
{
    private readonly Option<int> _precision = new("--precision", "--float-rounding")
    {
        Description = "Decimal places compared when a side is a decimal number (Math-Verify's float_rounding): with 2, 0.33 matches 1/3.",
        DefaultValueFactory = _ => VerifyOptions.Default.FloatRounding,
    };

    private readonly Option<int> _numericPrecision = new("--numeric-precision")
    {
        Description = "Significant digits to which irrational values must agree (Math-Verify's numeric_precision; at most 9 are checked).",
        DefaultValueFactory = _ => VerifyOptions.Default.NumericPrecision,
    };

    private readonly Option<bool> _strict = new("--strict")
    {
        Description = "Variables must match by name (Math-Verify's strict); --strict false matches them by position (f(x) = f(y)).",
        DefaultValueFactory = _ => true,
    };

    private readonly Option<bool> _nonStrict = new("--non-strict") { Description = "Same as --strict false." };

    private readonly Option<bool> _setRelation = new("--allow-set-relation-comp", "--allow-set-relation")
    {
        Description = "Let a gold set match a predicted relation too (x \\in [-2,7] vs -2 \\le x \\le 7; Math-Verify's allow_set_relation_comp).",
    };

    private readonly Option<double> _timeout = new("--timeout")
    {
        Description = "Seconds allowed for one check; past it the answer is judged wrong (0: no limit).",
        DefaultValueFactory = _ => VerifyOptions.Default.Timeout.TotalSeconds,
    };

    private readonly Option<bool> _percent = new("--percent-matches-bare-number")
    {
        Description = "A percentage also matches its bare number (10\\% vs 10); false reads 10\\% only as 0.1, as Math-Verify does.",
        DefaultValueFactory = _ => VerifyOptions.Default.PercentMatchesBareNumber,
    };

    private VerifyFlags() { }

    /// <summary>Adds the flags to <paramref name="command"/>.</summary>
    public static VerifyFlags AddTo(Command command)
    {
        var flags = new VerifyFlags();
        foreach (var option in new Option[] { flags._precision, flags._numericPrecision, flags._strict, flags._nonStrict, flags._setRelation, flags._timeout, flags._percent })
            command.Options.Add(option);
        return flags;
    }

    /// <summary>The options the flags of <paramref name="parse"/> ask for.</summary>
    /// <exception cref="UserError">A value out of range, naming the flag.</exception>
    public VerifyOptions Read(ParseResult parse)
    {
        var options = VerifyOptions.Default;
        options = Set(options, "precision", "--precision", parse.GetValue(_precision).ToString(CultureInfo.InvariantCulture));
        options = Set(options, "numeric_precision", "--numeric-precision", parse.GetValue(_numericPrecision).ToString(CultureInfo.InvariantCulture));
        options = Set(options, "strict", "--strict", (parse.GetValue(_strict) && !parse.GetValue(_nonStrict)) ? "true" : "false");
        options = Set(options, "allow_set_relation_comp", "--allow-set-relation-comp", parse.GetValue(_setRelation) ? "true" : "false");
        options = Set(options, "timeout", "--timeout", parse.GetValue(_timeout).ToString("R", CultureInfo.InvariantCulture));
        options = Set(options, "percent_matches_bare_number", "--percent-matches-bare-number", parse.GetValue(_percent) ? "true" : "false");
        return options;
    }

    private static VerifyOptions Set(VerifyOptions options, string name, string flag, string value)
    {
        try
        {
            return options.With(name, value);
        }
        catch (ArgumentException e)
        {
            throw new UserError($"{flag}: {e.Message.Replace($"option '{name}'", "the value", StringComparison.Ordinal)}");
        }
    }
}
