using R1Sharp.Rewards.Code;

namespace R1Sharp.Rewards.Tests.Code;

public class OutputComparerTests
{
    [Theory]
    [InlineData("1\n2\n", "1\n2\n")]
    [InlineData("1  \n2\t\n\n\n", "1\n2")]      // trailing spaces, trailing blank lines
    [InlineData("1\r\n2\r\n", "1\n2\n")]         // CRLF
    [InlineData("1   2\n", "1 2\n")]             // whitespace between tokens
    public void Accepts_whitespace_differences(string actual, string expected) =>
        Assert.True(OutputComparer.Compare(actual, expected).Equal);

    [Fact]
    public void A_missing_line_fails_unlike_open_r1_zip()
    {
        // open-r1: all(a.strip() == e.strip() for a, e in zip(actual, expected)) is True here.
        var verdict = OutputComparer.Compare("12\n", "12\n0\n");
        Assert.False(verdict.Equal);
        Assert.Equal("expected 2 lines, got 1 (first missing line 2: '0')", verdict.Difference);
    }

    [Fact]
    public void An_extra_line_fails()
    {
        var verdict = OutputComparer.Compare("12\n0\ndebug\n", "12\n0\n");
        Assert.False(verdict.Equal);
        Assert.Equal("expected 2 lines, got 3 (first extra line 3: 'debug')", verdict.Difference);
    }

    [Fact]
    public void An_extra_blank_line_in_the_middle_fails() =>
        Assert.False(OutputComparer.Compare("1\n\n2\n", "1\n2\n").Equal);

    [Fact]
    public void Reports_the_first_differing_line() =>
        Assert.Equal("line 2: expected '3', got '4'", OutputComparer.Compare("1\n4\n", "1\n3\n").Difference);

    [Fact]
    public void Numbers_compare_exactly_without_tolerance()
    {
        Assert.False(OutputComparer.Compare("1.0\n", "1\n").Equal);
        Assert.False(OutputComparer.Compare("0.3333333\n", "0.333333333\n").Equal);
    }

    [Theory]
    [InlineData("0.33333333", "0.333333333", true)]   // |Δ| = 3.3e-9
    [InlineData("1.0 2", "1 2.0000000001", true)]
    [InlineData("1e6", "1000000.5", true)]             // relative: 0.5 ≤ 1e-6 · 1e6
    [InlineData("1000002", "1000000", false)]          // 2 > 1e-6 · 1e6
    [InlineData("0.001", "0.002", false)]
    [InlineData("abc 1.0", "abc 1", true)]
    [InlineData("abd 1.0", "abc 1", false)]
    [InlineData("nan", "nan", true)]                   // equal as strings
    [InlineData("inf", "1e308", false)]                // non-finite never compares numerically
    public void Numbers_compare_with_tolerance(string actual, string expected, bool equal) =>
        Assert.Equal(equal, OutputComparer.Compare(actual, expected, new FloatTolerance(1e-6, 1e-6)).Equal);
}
