using R1Sharp.Rewards.Rules;
using R1Sharp.Rewards.Verification;
using Xunit.Abstractions;

namespace R1Sharp.Rewards.Tests.MathAnswers;

/// <summary>
/// Agreement with Math-Verify on its own test cases and on pairs checked by running it (<see cref="MathVerifyCases"/>).
/// Each case is judged twice: as two answers (<see cref="MathVerifier.Verify"/>, both sides parsed as Math-Verify's
/// <c>parse()</c> does) and as a gold answer against a completion (<see cref="RewardRegistry.MathGrader(string, string, VerifyOptions)"/>,
/// the accuracy reward and <c>r1sharp grade</c>). Every case without a recorded disagreement must agree both ways.
/// </summary>
public class MathVerifyAgreementTests(ITestOutputHelper output)
{
    private static VerifyOptions OptionsOf(MathVerifyCase c) => new()
    {
        FloatRounding = c.Precision,
        StrictVariables = c.Strict,
        AllowSetRelationComparison = c.AllowSetRelation,
    };

    private static bool AsAnswers(MathVerifyCase c) => MathVerifier.Verify(c.Gold, c.Prediction, OptionsOf(c));

    private static bool AsCompletion(MathVerifyCase c) => RewardRegistry.MathGrader(c.Gold, c.Prediction, OptionsOf(c)) == true;

    private static MathVerifyCase Case(string set, int index) => (set == "suite" ? MathVerifyCases.Suite : MathVerifyCases.Checked)[index];

    public static TheoryData<string, int> Agreeing()
    {
        var data = new TheoryData<string, int>();
        foreach (var (set, cases) in new[] { ("suite", MathVerifyCases.Suite), ("checked", MathVerifyCases.Checked) })
            for (var i = 0; i < cases.Length; i++)
                if (cases[i].Disagreement is null)
                    data.Add(set, i);
        return data;
    }

    [Theory, MemberData(nameof(Agreeing))]
    public void Agrees_with_math_verify(string set, int index)
    {
        var c = Case(set, index);
        Assert.True(AsAnswers(c) == c.Expected, $"{c.Source}: Verify(gold, prediction) should be {c.Expected}\ngold: {c.Gold}\nprediction: {c.Prediction}");
        Assert.True(AsCompletion(c) == c.Expected, $"{c.Source}: MathGrader(gold, completion) should be {c.Expected}\ngold: {c.Gold}\ncompletion: {c.Prediction}");
    }

    [Fact]
    public void The_data_cover_each_fixed_defect()
    {
        var all = MathVerifyCases.Suite.Concat(MathVerifyCases.Checked).ToList();
        Assert.True(MathVerifyCases.Suite.Length >= 270, "Math-Verify's test cases");
        Assert.Contains(all, c => c.Gold == "-10/9" && c.Prediction == "-\\frac{10}{9}" && c.Expected);
        Assert.Contains(all, c => c.Gold == "-3/4" && c.Prediction == "-\\frac{3}{4}" && c.Expected);
        Assert.Contains(all, c => c.Gold == c.Prediction && c.Gold.Contains("\\text{The midpoints", StringComparison.Ordinal) && c.Expected);
        Assert.Contains(all, c => c.Gold == c.Prediction && c.Gold.Contains('\f') && c.Expected);   // a matrix with a form feed in it
        Assert.Contains(all, c => c.Precision == 2 && c.Gold == "$\\frac{1}{3}$" && c.Prediction == "$0.33$" && c.Expected);
        Assert.Contains(all, c => c.Precision == 4 && c.Prediction == "0.3333$" && c.Expected);
        Assert.Contains(all, c => c.AllowSetRelation && c.Gold.StartsWith("$x \\in [-2", StringComparison.Ordinal) && c.Expected);
        Assert.Contains(all, c => !c.Strict && c.Gold == "$f(x)$" && c.Expected);
        Assert.Contains(all, c => c.Gold == "$0$" && c.Prediction == "$5x - 7y + 11z + 4 = 0$");
    }

    [Fact]
    public void Agreement_rate()
    {
        foreach (var (name, cases) in new[] { ("Math-Verify's test suite", MathVerifyCases.Suite), ("pairs checked by running Math-Verify", MathVerifyCases.Checked) })
        {
            var answers = cases.Count(c => AsAnswers(c) == c.Expected);
            var completions = cases.Count(c => AsCompletion(c) == c.Expected);
            var recorded = cases.Count(c => c.Disagreement is not null);
            output.WriteLine($"{name}: {cases.Length} cases, agreement {answers}/{cases.Length} ({100.0 * answers / cases.Length:F1}%) as answers, " +
                             $"{completions}/{cases.Length} ({100.0 * completions / cases.Length:F1}%) as completions; {recorded} recorded disagreements");
            foreach (var c in cases.Where(c => AsAnswers(c) != c.Expected || AsCompletion(c) != c.Expected))
                output.WriteLine($"  differs: {c.Source} gold {Short(c.Gold)} / {Short(c.Prediction)}: Math-Verify {c.Expected}; {c.Disagreement ?? "(not recorded)"}");
            Assert.True(answers >= cases.Length - recorded && completions >= cases.Length - recorded);
        }
    }

    private static string Short(string s)
    {
        s = s.Replace("\n", " ", StringComparison.Ordinal);
        return s.Length <= 70 ? s : s[..35] + "…" + s[^30..];
    }
}
