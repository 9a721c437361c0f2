using R1Sharp.Text.Templates;

namespace R1Sharp.Text.Tests.Templates;

public class TokenMaskTests
{
    [Fact]
    public void Tokens_overlapping_a_span_are_marked()
    {
        // text "abcdefghijkl", tokens [abc][de][][fghi][jkl]; span "ef" = [4, 6)
        (int, int)[] offsets = [(0, 3), (3, 5), (5, 5), (5, 9), (9, 12)];
        Assert.Equal([false, true, false, true, false], TokenMask.FromSpans(offsets, [(4, 6)]));
    }

    [Fact]
    public void Span_boundaries_on_token_boundaries_mark_exactly_the_inside_tokens()
    {
        (int, int)[] offsets = [(0, 3), (3, 5), (5, 9), (9, 12)];
        Assert.Equal([false, true, true, false], TokenMask.FromSpans(offsets, [(3, 9)]));
    }

    [Fact]
    public void Several_unordered_overlapping_and_empty_spans()
    {
        (int, int)[] offsets = [(9, 12), (0, 3), (3, 5), (5, 9), (12, 14)];
        Assert.Equal([true, false, true, true, false], TokenMask.FromSpans(offsets, [(10, 11), (4, 6), (5, 7), (2, 2)]));
    }

    [Fact]
    public void No_spans_no_mask()
    {
        Assert.Equal([false, false], TokenMask.FromSpans([(0, 1), (1, 2)], []));
        Assert.Empty(TokenMask.FromSpans([], [(0, 5)]));
    }

    [Fact]
    public void Invalid_offsets_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => TokenMask.FromSpans([(5, 3)], [(0, 10)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenMask.FromSpans([(0, 3)], [(-1, 2)]));
    }
}
