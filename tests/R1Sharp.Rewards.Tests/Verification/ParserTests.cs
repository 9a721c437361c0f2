using R1Sharp.Rewards.Verification;

namespace R1Sharp.Rewards.Tests.MathAnswers;

/// <summary>The LaTeX parser's reading of notation, checked through the readable normal form.</summary>
public class ParserTests
{
    [Theory]
    [InlineData("\\sin^2 x", "sin(x)^2")]
    [InlineData("\\sin^{-1} x", "asin(x)")]
    [InlineData("x^2y", "x^2*y")]
    [InlineData("\\frac12", "1/2")]
    [InlineData("\\frac1{2}", "1/2")]
    [InlineData("\\frac{1}2", "1/2")]
    [InlineData("\\frac ab", "a/b")]
    [InlineData("\\log_2 8", "log(8, 2)")]
    [InlineData("\\ln x", "ln(x)")]
    [InlineData("\\sqrt2", "sqrt(2)")]
    [InlineData("\\sqrt 2x", "sqrt(2)*x")]
    [InlineData("\\sqrt[3]{x}", "root(x, 3)")]
    [InlineData("-x^2", "-x^2")]
    [InlineData("2\\frac{1}{3}", "7/3")]
    [InlineData("-2\\frac{1}{3}", "-7/3")]
    [InlineData("2 \\cdot \\frac{1}{3}", "2*1/3")]
    [InlineData("a \\div b", "a/b")]
    [InlineData("2 \\cdot 3 \\times 4", "2*3*4")]
    [InlineData("1 \\pm \\sqrt{2}", "{1 + sqrt(2), 1 - sqrt(2)}")]
    [InlineData("\\pm 3", "{-3, 3}")]
    [InlineData("\\sin 2x \\cos x", "sin(2*x)*cos(x)")]
    [InlineData("(a+5)(b+2)", "(a + 5)*(b + 2)")]
    [InlineData("|x-1|", "abs(x - 1)")]
    [InlineData("2^10", "2^10")]
    [InlineData("(1,2]", "(1, 2]")]
    [InlineData("(3,1)", "(3, 1)")]
    [InlineData("\\{1,2\\}", "{1, 2}")]
    [InlineData("1<x\\le 2", "1 < x ≤ 2")]
    [InlineData("x \\in [1,2)", "x = [1, 2)")]
    [InlineData("x = 1, 2", "x = {1, 2}")]
    [InlineData("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "[1, 2; 3, 4]")]
    [InlineData("50\\%", "50%")]
    [InlineData("0.\\overline{3}", "1/3")]
    [InlineData("\\text{(B)}", "b")]
    [InlineData("-\\infty", "-oo")]
    [InlineData("\\mathbb{R}\\setminus\\{0\\}", "R \\ {0}")]
    [InlineData("204_5", "204")]
    [InlineData("\\$1,000", "1000")]
    [InlineData("1,000,000", "1000000")]
    [InlineData("1, 000", "{1, 0}")]
    [InlineData("5 \\text{ cm}^2", "5")]
    [InlineData("\\dfrac{3}{4}\\,\\mathrm{m}", "3/4")]
    public void ReadsNotation(string latex, string normal) => Assert.Equal(normal, MathVerifier.Normalize(latex));

    [Theory]
    [InlineData("\\frac{")]
    [InlineData("\\zzz")]
    public void Unreadable_answers_have_no_normal_form(string latex) => Assert.Null(MathVerifier.Normalize(latex));
}
