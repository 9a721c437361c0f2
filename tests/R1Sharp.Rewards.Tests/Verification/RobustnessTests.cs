using System.Diagnostics;
using R1Sharp.Rewards.Verification;

namespace R1Sharp.Rewards.Tests.MathAnswers;

/// <summary>Never throws, bounded in time on hostile input, and safe to call from many threads.</summary>
public class RobustnessTests
{
    private static readonly string[] Pieces =
    [
        "\\frac", "{", "}", "\\sqrt", "[", "]", "(", ")", "^", "_", "1", "23", "x", "y", "e", "i", "\\pi", "+", "-", "\\cdot",
        "=", "<", "\\le", ",", ";", "\\boxed{", "$", "\\left(", "\\right)", "\\begin{pmatrix}", "&", "\\\\", "\\end{pmatrix}",
        "\\text{cm}", "%", "\\%", "!", "|", "\\{", "\\}", "\\cup", "\\infty", "\\pm", ".", "0.5", "\\sin", "\\log_2", " ",
        "answer is", "####", "<answer>", "</answer>", "\\overline{3}", "10^{", "\\\\frac", "'", "\"", "é", "\u221a", "\u00b0",
    ];

    [Fact]
    public void Random_input_never_throws()
    {
        var rng = new Random(12345);
        for (var n = 0; n < 3000; n++)
        {
            var a = RandomText(rng);
            var b = RandomText(rng);
            _ = MathVerifier.Verify(a, b);
            _ = MathVerifier.Grade(a, b);
            _ = AnswerExtractor.Extract(b);
            _ = MathVerifier.Normalize(a);
        }
        // Raw random characters too.
        for (var n = 0; n < 2000; n++)
        {
            var chars = new char[rng.Next(0, 60)];
            for (var k = 0; k < chars.Length; k++) chars[k] = (char)rng.Next(1, 0x3000);
            var s = new string(chars);
            _ = MathVerifier.Verify(s, s[..(s.Length / 2)]);
            _ = MathVerifier.Grade("1", s);
        }
    }

    private static string RandomText(Random rng)
    {
        var n = rng.Next(0, 25);
        var parts = new string[n];
        for (var k = 0; k < n; k++) parts[k] = Pieces[rng.Next(Pieces.Length)];
        return string.Concat(parts);
    }

    [Theory]
    [InlineData("10^{10^{10^{10}}}", "1")]
    [InlineData("(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((x", "x")]
    [InlineData("2^{2^{2^{2^{2^{2^{2^{2}}}}}}}", "4")]
    [InlineData("3000!", "3000!")]
    [InlineData("1000000!", "5")]
    [InlineData("\\sum_{k=1}^{1000000000} k", "1")]
    [InlineData("\\frac{\\frac{\\frac{\\frac{\\frac{\\frac{\\frac{\\frac{1}{2}}{2}}{2}}{2}}{2}}{2}}{2}}{2}", "1/256")]
    public void Hostile_answers_finish_quickly(string gold, string pred)
    {
        var sw = Stopwatch.StartNew();
        _ = MathVerifier.Verify(gold, pred);
        _ = MathVerifier.Verify(pred, gold);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Long_chains_finish_quickly()
    {
        var unions = string.Join(" \\cup ", Enumerable.Range(0, 800).Select(k => $"[{2 * k},{2 * k + 1}]"));
        var divisions = string.Join("/", Enumerable.Range(1, 1500).Select(k => k.ToString()));
        var set = "\\{" + string.Join(",", Enumerable.Range(0, 1000)) + "\\}";
        var sw = Stopwatch.StartNew();
        Assert.True(MathVerifier.Verify(unions, unions));
        _ = MathVerifier.Verify(unions, "[0,1]");
        _ = MathVerifier.Verify(divisions, "0");
        _ = MathVerifier.Verify(set, set + " ");
        _ = MathVerifier.Verify("0 < x < 1", unions);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Long_completions_are_scanned_linearly()
    {
        var text = string.Concat(Enumerable.Repeat("so $x = 1$ and \\boxed{", 20000)) + string.Concat(Enumerable.Repeat("(", 50000));
        var openers = string.Concat(Enumerable.Repeat("\\( x \\[ y $", 30000));
        var sw = Stopwatch.StartNew();
        _ = MathVerifier.Grade("1", text);
        _ = AnswerExtractor.Extract(text);
        _ = MathVerifier.Grade("1", openers);
        _ = MathVerifier.Verify("1", openers);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Deep_nesting_does_not_overflow_the_stack()
    {
        var deep = new string('{', 20000) + "1" + new string('}', 20000);
        Assert.False(MathVerifier.Verify("2", deep));
        var deepAbs = string.Concat(Enumerable.Repeat("\\sqrt{", 5000)) + "1" + new string('}', 5000);
        _ = MathVerifier.Verify("1", deepAbs);
    }

    [Fact]
    public void A_tiny_timeout_judges_wrong_instead_of_hanging()
    {
        var options = new VerifyOptions { Timeout = TimeSpan.FromTicks(1) };
        var sw = Stopwatch.StartNew();
        _ = MathVerifier.Verify("x^{100}+x^{99}+x^{98}+x^{97}+x^{96}+x^{95}", "x^{95}+x^{96}+x^{97}+x^{98}+x^{99}+x^{100}", options);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void Parallel_calls_agree_with_sequential_ones()
    {
        (string Gold, string Pred)[] cases =
        [
            ("\\frac12", "0.5"), ("2\\sqrt{3}", "\\sqrt{12}"), ("(1,2]", "(1,2]"), ("x^2-1", "(x-1)(x+1)"), ("3", "4"),
            ("\\{1,2\\}", "\\{2,1\\}"), ("1<x<2", "(1,2)"), ("50\\%", "0.5"), ("\\text{(C)}", "C"), ("6-5i", "6+5i"),
            ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "(1,2)"), ("y=2x+3", "2x+3"),
        ];
        var expected = cases.Select(c => MathVerifier.Verify(c.Gold, c.Pred)).ToArray();
        var failures = 0;
        Parallel.For(0, 20000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, k =>
        {
            var c = cases[k % cases.Length];
            // Fresh gold strings defeat the cache on some calls so parsing itself also runs concurrently.
            var gold = k % 3 == 0 ? c.Gold + " " : c.Gold;
            if (MathVerifier.Verify(gold, c.Pred) != expected[k % cases.Length]) Interlocked.Increment(ref failures);
        });
        Assert.Equal(0, failures);
    }
}
