using R1Sharp.Rewards.Verification;

namespace R1Sharp.Rewards.Tests.MathAnswers;

/// <summary>
/// Verify() tolerates text around either answer (as Math-Verify's parse() does): math delimiters, boxes,
/// "the answer is", and sentences whose last math span or number is the answer.
/// </summary>
public class TextAnswerTests
{
    public static TheoryData<string, string, bool> Cases => new()
    {
        { "$9$", "Answer \\[ 9 \\]", true },
        { "$9$", "Answer $$ 9 $$", true },
        { "$9$", "Answer \\( 9 \\)", true },
        { "$10$", "Answer: \\( (9+1) \\)", true },
        { "$x \\ge 3$", "Hence $x \\geq 3$ is the range we wanted.", true },
        { "$x \\ge 3$", "Hence $x \\leq 3$ is the range we wanted.", false },
        { "$\\begin{pmatrix}1 & 2\\\\3 & 4\\end{pmatrix}$", "The product equals $\\begin{pmatrix}1 & 2\\\\3 & 4\\end{pmatrix}$.", true },
        { "$\\begin{pmatrix}3 & 5\\\\7 & 9\\end{pmatrix}$", "Adding gives $\\begin{pmatrix}1 & 2\\\\3 & 4\\end{pmatrix} + \\begin{pmatrix}2 & 3\\\\4 & 5\\end{pmatrix}$", true },
        { "1234.5", "we measured it and it's 1,234.5 m", true },
        { "7", "LX7Q", false },
        { "$2-2p$", "So $x=2-p$ and finally $x-p=\\boxed{2-2p}$.", true },
        { "$(7,6)$", "Solving, the pair $(x,y)$ is $(7, 6)$. Let me restate: the pair is $(7, 6)$.", true },
        { "$[0,1)$", "Final Answer: The final answer is $(0, 1)$. I hope it is correct.", false },
        { "$14916$", "Final Answer: The final answer is $14 {, }916$. I hope it is correct.", true },
        { "\\boxed{\\frac{3}{4}}", "$\\frac{6}{8}$", true },
        { "The area is \\boxed{12} square units.", "12", true },
        { "\\boxed{1} and \\boxed{-2}", "$\\boxed{-2,1}$", true },
        { "\\boxed{3} after much more work we see \\boxed{5} in the end", "5", true },
        { "\\boxed{3}, and then \\boxed{5}", "3, 5", true }, // close boxes with a separator form a list (Math-Verify)
        { "$1$ and $2$ and $3$", "\\boxed{1,2,3}", true },
        { "$21,16$ or $11$", "$21,16,11$", true },
        { "$k = 45, n = 2$", "\\boxed{k = 45} \\quad \\text{and} \\quad \\boxed{n = 2}", true },
        { "$k = 45, n = 2$", "\\boxed{k = 2} \\quad \\text{and} \\quad \\boxed{n = 45}", false },
        { "$a_3 = 2, a_{37} = 19$", "\\boxed{a_{37} = 19, \\quad a_3 = 2}", true },
        { "$p=5,q=2;p=7,q=2$", "$(5,2),(7,2)$", true },
        { "$(p,q,r)=(3,2,7)$", "$(3,2,7)$", true },
        { "$AB=4,CD=5$", "$\\boxed{4, 5}$", true },
        { "$V_1:V_2=11:21$", "$11:21$", true },
        { "$|AB|=1$", "$1$", true },
        { "$f(x)=1$", "1", true },
        { "$x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}$", "\\boxed{x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}}", true },
        { "$(5, 8), (8, 5)$", "\\boxed{(x, y) = (5, 8) \\quad \\text{and} \\quad (8, 5)}", true },
        { "$-12;-11;-10$", "\\boxed{\\{-12, -11, -10\\}}", true },
        { "$(0;0;1),(0;-2;1)$", "\\boxed{(0, -2, 1), (0, 0, 1)}", true },
        { "$(37,3,3,13),(17,3,3,7)$", "\\boxed{(17, 3, 3, 7), (37, 3, 3, 13), (17,3,3,7)}", true },
        { "$y_1=-2x^2+4x+3, y_2=3x^2+12x+10$", "$\\boxed{-2(x-1)^2+5}$ and $\\boxed{3(x+2)^2-2}$", true },
        { "$0<f(x)<1$", "$(0,1)$", true },
        { "$-793 < a < 10$", "$(-793, 10)$", true },
        { "$\\text{The midpoints form a regular hexagon}$", "\\text{The midpoints form a regular hexagon}", true },
        { "$\\text{E}$", "$E$", true },
        { "$d$", "$\\text{E}$", false },
        { "\\(\\boxed{\\text{C}}\\).", "$\\boxed{\\text{(C)}}.$", true },
        { "So the answer is \\[ \\boxed{32349} \\]", "is $\\boxed{32,\\! 349}$", true },
        { "So the answer is \\[ \\boxed{32349} \\]", "is $\\boxed{32, 349}$", false },
        { "$1112112_3$", "so in base ten the product is 1121", false },
        { "\\boxed{004} and later again \\boxed{004}", "$004$", true },
        { "$28\\%$", "$\\boxed{28}$ pct", true },
        { "$$(1, +\\infty)$$", "$$(1, +\\infty)$$", true },
        { "$$0.06 \\text{ yuan}$$", "$$\\boxed{0.06 \\text{ yuan}}$$", true },
        { "$12:00$", "$12:00$", true },
        { "$12:00$", "$1:00$", false },
        { "$n=1, 2, 3$", "$n=1, 2, 3$", true },
        { "$n=2, 3, 4$", "$n=1, 2, 3$", false },
        { "$D = (0, 1)$", "$D = (0, 1.5)$", false },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Answers_inside_text_match(string gold, string pred, bool expected) =>
        Assert.True(MathVerifier.Verify(gold, pred) == expected, $"Verify({gold}, {pred}) should be {expected}");
}

public class OptionTests
{
    [Fact]
    public void Float_rounding_controls_decimal_comparisons()
    {
        Assert.False(MathVerifier.Verify("\\frac{1}{3}", "0.333"));
        Assert.True(MathVerifier.Verify("\\frac{1}{3}", "0.333", new VerifyOptions { FloatRounding = 3 }));
        Assert.False(MathVerifier.Verify("\\frac{1}{3}", "0.333", new VerifyOptions { FloatRounding = 4 }));
        Assert.True(MathVerifier.Verify("1+\\frac{1}{3}", "1.333", new VerifyOptions { FloatRounding = 3 }));
        Assert.True(MathVerifier.Verify("(\\frac{3}{5},\\frac{8}{3}]", "(0.6,2.6667]", new VerifyOptions { FloatRounding = 2 }));
    }

    [Fact]
    public void Non_strict_mode_matches_variables_by_position()
    {
        Assert.False(MathVerifier.Verify("f(x)", "f(y)"));
        Assert.True(MathVerifier.Verify("f(x)", "f(y)", new VerifyOptions { StrictVariables = false }));
        Assert.True(MathVerifier.Verify("x^2+1", "t^2+1", new VerifyOptions { StrictVariables = false }));
        Assert.False(MathVerifier.Verify("x^2+1", "t^2+2", new VerifyOptions { StrictVariables = false }));
    }

    [Fact]
    public void Set_relation_comparison_is_asymmetric_by_default()
    {
        Assert.True(MathVerifier.Verify("-2 \\le x \\le 7", "x \\in [-2,7]"));
        Assert.False(MathVerifier.Verify("x \\in [-2,7]", "-2 \\le x \\le 7"));
        Assert.True(MathVerifier.Verify("x \\in [-2,7]", "-2 \\le x \\le 7", new VerifyOptions { AllowSetRelationComparison = true }));
        Assert.False(MathVerifier.Verify("[-2,7]", "-2 < x \\le 7", new VerifyOptions { AllowSetRelationComparison = true }));
    }

    [Fact]
    public void Percent_leniency_can_be_turned_off()
    {
        var strict = new VerifyOptions { PercentMatchesBareNumber = false };
        Assert.False(MathVerifier.Verify("10", "10\\%", strict));
        Assert.True(MathVerifier.Verify("0.1", "10\\%", strict));
        Assert.True(MathVerifier.Verify("10\\%", "10 percent", strict));
    }

    [Fact]
    public void Normalize_gives_a_readable_form()
    {
        Assert.Equal("1/2", MathVerifier.Normalize("\\dfrac{1}{2}"));
        Assert.Equal("(3, pi/2)", MathVerifier.Normalize("\\left( 3, \\frac{\\pi}{2} \\right)"));
        Assert.Equal("90", MathVerifier.Normalize("90^\\circ"));
        Assert.Equal("32348", MathVerifier.Normalize("\\$32,\\!348"));
        Assert.Null(MathVerifier.Normalize("   "));
    }
}
