// r1sharp verify --gold "\frac12" --prediction "0.5"
// r1sharp verify --gold 18 --completion "She makes 9 * 2 = 18 dollars. #### 18"
using System.CommandLine;
using R1Sharp.Rewards.Verification;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp verify</c>: checks a predicted answer (or the answer found in a completion) against a gold answer
/// with <see cref="MathVerifier"/>. Prints <c>true</c> or <c>false</c> (with a completion and no answer in it:
/// <c>false</c> too) and exits 0 either way; <c>--explain</c> adds the normalised forms on standard error.
/// </summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var gold = new Option<string>("--gold") { Description = "The reference answer, e.g. \\frac{1}{2}.", Required = true };
        var prediction = new Option<string?>("--prediction") { Description = "The predicted answer to check." };
        var completion = new Option<string?>("--completion") { Description = "A full model completion: the answer is extracted first." };
        var rounding = new Option<int>("--float-rounding") { Description = "Decimal places compared when a side is a decimal.", DefaultValueFactory = _ => 6 };
        var nonStrict = new Option<bool>("--non-strict") { Description = "Match variables by position instead of by name." };
        var setRelation = new Option<bool>("--allow-set-relation") { Description = "Let a gold set match a predicted relation too." };
        var explain = new Option<bool>("--explain") { Description = "Also print the normalised gold and prediction (and the extraction rule) on standard error." };
        var command = new Command("verify", "Check a math answer against the gold answer (rule-based, Math-Verify style).")
        {
            gold, prediction, completion, rounding, nonStrict, setRelation, explain,
        };
        command.SetAction(parse =>
        {
            var options = new VerifyOptions
            {
                FloatRounding = parse.GetValue(rounding),
                StrictVariables = !parse.GetValue(nonStrict),
                AllowSetRelationComparison = parse.GetValue(setRelation),
            };
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
