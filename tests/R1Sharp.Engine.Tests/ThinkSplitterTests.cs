using R1Sharp.Engine.Generation;

namespace R1Sharp.Engine.Tests;

/// <summary>Splitting streamed output into thinking and answer, whatever the piece boundaries.</summary>
public class ThinkSplitterTests
{
    private static (string Thinking, string Answer, bool Orphan) Feed(bool startsThinking, params string[] pieces)
    {
        var s = new ThinkSplitter(startsThinking);
        var thinking = new System.Text.StringBuilder();
        var answer = new System.Text.StringBuilder();
        var parts = pieces.SelectMany(s.Add).ToList(); // before Flush
        parts.AddRange(s.Flush());
        foreach (var (part, text) in parts)
            (part == OutputPart.Thinking ? thinking : answer).Append(text);
        return (thinking.ToString(), answer.ToString(), s.ClosedWithoutOpening);
    }

    [Fact]
    public void TagsCutAnywhere_GiveTheSameSplit()
    {
        const string text = "<think>\nFirst, 2 + 3 = 5. <b>bold</b> is not a tag.\n</think>\n\nThe answer is \\boxed{5}. x < y";
        var whole = Feed(false, text);
        Assert.Equal("\nFirst, 2 + 3 = 5. <b>bold</b> is not a tag.\n", whole.Thinking);
        Assert.Equal("\n\nThe answer is \\boxed{5}. x < y", whole.Answer);
        for (int size = 1; size <= 9; size++)
        {
            var pieces = Enumerable.Range(0, (text.Length + size - 1) / size).Select(i => text.Substring(i * size, Math.Min(size, text.Length - i * size))).ToArray();
            Assert.Equal(whole, Feed(false, pieces));
        }
    }

    [Fact]
    public void PromptOpenedThinking_AndOrphanClosingTag()
    {
        Assert.Equal(("reasoning\n", "\nanswer", false), Feed(true, "reason", "ing\n</th", "ink>\nanswer"));
        Assert.Equal(("", "reasoninganswer", true), Feed(false, "reasoning</think>answer"));
        Assert.Equal(("", "no tags at all <", false), Feed(false, "no tags at all <"));
        Assert.Equal(("cut short", ""), ThinkSplitter.Split("<think>cut short"));
    }
}
