using R1Sharp.Rewards.Rules;
using R1Sharp.Rewards.Verification;

namespace R1Sharp.Rewards.Tests.MathAnswers;

/// <summary>
/// Math-Verify's options (<c>verify(float_rounding=6, numeric_precision=15, strict=True,
/// allow_set_relation_comp=False)</c>) through <see cref="VerifyOptions"/>, its text form, and the accuracy rewards'
/// options. Expected verdicts are Math-Verify 0.8.0's on the same pairs.
/// </summary>
public class VerifyOptionsTests
{
    private static readonly RewardRegistry Standard = RewardRegistry.CreateStandard();

    [Fact]
    public void Defaults_are_math_verifys()
    {
        var d = VerifyOptions.Default;
        Assert.Equal(6, d.FloatRounding);
        Assert.Equal(15, d.NumericPrecision);
        Assert.True(d.StrictVariables);
        Assert.False(d.AllowSetRelationComparison);
    }

    [Fact]
    public void Options_are_set_from_text_by_their_math_verify_names()
    {
        var o = VerifyOptions.Default.With("precision", "4").With("strict", "false").With("allow_set_relation_comp", "yes")
            .With("numeric_precision", "12").With("timeout", "0.5").With("percent_matches_bare_number", "0");
        Assert.Equal(4, o.FloatRounding);
        Assert.False(o.StrictVariables);
        Assert.True(o.AllowSetRelationComparison);
        Assert.Equal(12, o.NumericPrecision);
        Assert.Equal(TimeSpan.FromMilliseconds(500), o.Timeout);
        Assert.False(o.PercentMatchesBareNumber);
        Assert.Equal(3, VerifyOptions.Default.With("float_rounding", " 3 ").FloatRounding);
        Assert.Equal(6, VerifyOptions.Default.FloatRounding);   // records: With returns a copy
    }

    [Theory]
    [InlineData("precision", "four", "option 'precision' must be an integer from 0 to 15, got 'four'")]
    [InlineData("precision", "16", "option 'precision' must be an integer from 0 to 15, got '16'")]
    [InlineData("strict", "maybe", "option 'strict' must be true or false, got 'maybe'")]
    [InlineData("timeout", "-1", "option 'timeout' must be a number of seconds from 0 (no deadline) to 3600, got '-1'")]
    [InlineData("numeric_precision", "0", "option 'numeric_precision' must be an integer from 1 to 100, got '0'")]
    [InlineData("precison", "4", "unknown verify option 'precison'")]
    public void Bad_values_are_named(string name, string value, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => VerifyOptions.Default.With(name, value));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$\\frac{1}{3}$", "$0.33$", 2, true)]
    [InlineData("$\\frac{1}{3}$", "$0.33$", 6, false)]
    [InlineData("$\\frac{1}{3}$", "$0.3333$", 4, true)]
    [InlineData("$\\frac{1}{3}$", "$0.333$", 4, false)]
    [InlineData("$\\frac{2}{3}$", "$0.67$", 2, true)]
    [InlineData("$\\frac{2}{3}$", "$0.66$", 2, false)]
    [InlineData("$\\pi$", "$3.14$", 2, true)]
    [InlineData("$\\pi$", "$3.14$", 3, false)]
    [InlineData("$\\sqrt{2}$", "$1.414$", 3, true)]
    [InlineData("$\\sqrt{2}$", "$1.414$", 4, false)]
    public void Precision_rounds_decimal_answers(string gold, string prediction, int precision, bool expected) =>
        Assert.Equal(expected, MathVerifier.Verify(gold, prediction, new VerifyOptions { FloatRounding = precision }));

    [Fact]
    public void Numeric_precision_loosens_irrational_comparisons()
    {
        // pi and sqrt(9.8696) differ by 7e-7: equal to 4 significant digits, not to 9.
        Assert.False(MathVerifier.Verify("\\pi", "\\sqrt{9.8696}"));
        Assert.True(MathVerifier.Verify("\\pi", "\\sqrt{9.8696}", new VerifyOptions { NumericPrecision = 4 }));
        Assert.False(MathVerifier.Verify("\\pi", "\\sqrt{9.8696}", new VerifyOptions { NumericPrecision = 9 }));
    }

    [Theory]
    [InlineData("$f(x)$", "$f(y)$", true, false)]
    [InlineData("$f(x)$", "$f(y)$", false, true)]
    [InlineData("$x^2+1$", "$t^2+1$", false, true)]
    [InlineData("$x = 5$", "$5$", true, true)]       // a gold assignment matches its value in both modes
    [InlineData("$x = 5$", "$5$", false, true)]
    [InlineData("$x=5$", "$y=5$", true, false)]
    [InlineData("$x=5$", "$y=5$", false, true)]
    [InlineData("$x+2y$", "$a+2b$", false, true)]
    [InlineData("$x+2y$", "$2a+b$", false, false)]
    [InlineData("$x + y$", "$a + b + c$", false, false)]
    [InlineData("$y = 2x + 1$", "$y = 2t + 1$", false, true)]
    [InlineData("$y = 2x + 1$", "$y = 2t + 1$", true, false)]
    public void StrictDecidesWhetherVariableNamesMatter(string gold, string prediction, bool strict, bool expected) =>
        Assert.Equal(expected, MathVerifier.Verify(gold, prediction, new VerifyOptions { StrictVariables = strict }));

    [Fact]
    public void Non_strict_mode_does_not_rename_words_or_swap_a_tuple()
    {
        var loose = new VerifyOptions { StrictVariables = false };
        Assert.False(MathVerifier.Verify("\\text{Evelyn}", "\\text{Briana}", loose));
        Assert.False(MathVerifier.Verify("(x, y)", "(y, x)", loose));
        Assert.True(MathVerifier.Verify("\\alpha + 1", "\\beta + 1", loose));
    }

    [Theory]
    [InlineData("$x \\in [-2, 7]$", "$-2 \\le x \\le 7$", false, false)]
    [InlineData("$x \\in [-2, 7]$", "$-2 \\le x \\le 7$", true, true)]
    [InlineData("$-2 \\le x \\le 7$", "$x \\in [-2, 7]$", false, true)]
    [InlineData("$[-2, 7]$", "$-2 \\le x \\le 7$", true, true)]
    [InlineData("$x \\in (1, 2]$", "$1 < x < 2$", true, false)]
    [InlineData("$(-\\infty, 3)$", "$x < 3$", true, true)]
    [InlineData("$(-\\infty, 3)$", "$x < 3$", false, false)]
    [InlineData("$[3, \\infty)$", "$x > 3$", true, false)]
    public void SetRelationComparisonFollowsTheOption(string gold, string prediction, bool allow, bool expected) =>
        Assert.Equal(expected, MathVerifier.Verify(gold, prediction, new VerifyOptions { AllowSetRelationComparison = allow }));

    [Theory]
    [InlineData("$0$", "$5x - 7y + 11z + 4 = 0$", true)]   // Math-Verify: a predicted equation gives its right side to a non-equation gold
    [InlineData("$4$", "$2 + 2 = 4$", true)]
    [InlineData("$5x - 7y + 11z + 4 = 0$", "$0$", false)]   // ... but a gold equation is not reduced unless its left side is only symbols
    [InlineData("$a +3z = 0$", "$0$", false)]
    [InlineData("$x + y = 4$", "$4$", true)]
    [InlineData("$5x - 7y + 11z + 4 = 0$", "$-5x + 7y - 11z - 4 = 0$", true)]
    [InlineData("$5x - 7y + 11z + 4 = 0$", "$x + y - z + 2 = 0$", false)]
    [InlineData("$k = 2$", "$x = 2$", false)]
    public void EquationsFollowMathVerifysRule(string gold, string prediction, bool expected) =>
        Assert.Equal(expected, MathVerifier.Verify(gold, prediction));

    [Fact]
    public void Accuracy_reward_takes_math_verifys_options()
    {
        var input = new RewardInput("Prompt", "so it is about \\boxed{0.33}", new Dictionary<string, string> { ["answer"] = "\\frac{1}{3}" });
        Assert.Equal(0.0, Standard.Create("accuracy").Score([input])[0]);
        Assert.Equal(1.0, Standard.Create("accuracy", new Dictionary<string, string> { ["precision"] = "2" }).Score([input])[0]);

        var relation = new RewardInput("Prompt", "\\boxed{-2 \\le x \\le 7}", new Dictionary<string, string> { ["answer"] = "x \\in [-2,7]" });
        Assert.Equal(0.0, Standard.Create("accuracy").Score([relation])[0]);
        Assert.Equal(1.0, Standard.Create("accuracy", new Dictionary<string, string> { ["allow_set_relation_comp"] = "true" }).Score([relation])[0]);

        var renamed = new RewardInput("Prompt", "\\boxed{t^2+1}", new Dictionary<string, string> { ["answer"] = "x^2+1" });
        Assert.Equal(0.0, Standard.Create("accuracy", new Dictionary<string, string> { ["strict"] = "true" }).Score([renamed])[0]);
        Assert.Equal(1.0, Standard.Create("accuracy", new Dictionary<string, string> { ["strict"] = "false" }).Score([renamed])[0]);

        // length and cosine grade with the same options.
        var cosine = Standard.Create("cosine", new Dictionary<string, string> { ["precision"] = "2", ["max_len"] = "100" });
        Assert.True(cosine.Score([input])[0] > 0);
        var length = Standard.Create("length", new Dictionary<string, string> { ["precision"] = "2" });
        Assert.NotNull(length.Score([input])[0]);
    }

    [Fact]
    public void Bad_reward_options_are_config_errors_naming_the_option()
    {
        var e = Assert.Throws<RewardConfigException>(() => Standard.Create("accuracy", new Dictionary<string, string> { ["precision"] = "x" }));
        Assert.Equal("Reward 'accuracy': option 'precision' must be an integer from 0 to 15, got 'x'.", e.Message);
        var misspelt = Assert.Throws<RewardConfigException>(() => Standard.Create("accuracy", new Dictionary<string, string> { ["precison"] = "2" }));
        Assert.Contains("'precison'", misspelt.Message, StringComparison.Ordinal);
        // Another grader cannot take Math-Verify's options.
        var custom = RewardRegistry.CreateDefault((gold, completion) => completion.Contains(gold, StringComparison.Ordinal));
        var other = Assert.Throws<RewardConfigException>(() => custom.Create("accuracy", new Dictionary<string, string> { ["strict"] = "false" }));
        Assert.Contains("'strict'", other.Message, StringComparison.Ordinal);
        Assert.NotNull(custom.Create("accuracy"));
    }

    [Fact]
    public void Math_grader_takes_options()
    {
        Assert.False(RewardRegistry.MathGrader("\\frac{1}{3}", "\\boxed{0.3333}"));
        Assert.True(RewardRegistry.MathGrader("\\frac{1}{3}", "\\boxed{0.3333}", new VerifyOptions { FloatRounding = 4 }));
        Assert.Null(RewardRegistry.MathGrader(" ", "\\boxed{1}", VerifyOptions.Default));
    }
}
