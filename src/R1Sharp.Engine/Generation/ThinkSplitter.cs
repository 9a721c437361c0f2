namespace R1Sharp.Engine.Generation;

/// <summary>Which part of a reasoning model's output a piece of text belongs to.</summary>
public enum OutputPart { Thinking, Answer }

/// <summary>
/// Splits streamed output into the chain of thought (inside <c>&lt;think&gt;…&lt;/think&gt;</c>) and the answer, as
/// it arrives: tags may be cut across pieces, so text that could be the start of a tag is held back until the
/// next piece decides. The tags themselves are dropped. Models whose chat template opens the think block in
/// the prompt (DeepSeek-R1's distilled models) start in <see cref="OutputPart.Thinking"/>.
/// </summary>
public sealed class ThinkSplitter(bool startsThinking = false)
{
    private const string Open = "<think>";
    private const string Close = "</think>";
    private string _pending = "";

    /// <summary>The part the next text belongs to.</summary>
    public OutputPart Current { get; private set; } = startsThinking ? OutputPart.Thinking : OutputPart.Answer;

    /// <summary>A <c>&lt;/think&gt;</c> came while in the answer: what was shown as answer was thinking.</summary>
    public bool ClosedWithoutOpening { get; private set; }

    /// <summary>Feeds a piece; returns the text it completes, part by part, in order.</summary>
    public IReadOnlyList<(OutputPart Part, string Text)> Add(string text)
    {
        var parts = new List<(OutputPart, string)>();
        string buffer = _pending + text;
        while (true)
        {
            int open = buffer.IndexOf(Open, StringComparison.Ordinal);
            int close = buffer.IndexOf(Close, StringComparison.Ordinal);
            int at = open < 0 ? close : close < 0 ? open : Math.Min(open, close);
            if (at < 0) break;
            bool isOpen = at == open;
            if (at > 0) parts.Add((Current, buffer[..at]));
            if (!isOpen && Current == OutputPart.Answer) ClosedWithoutOpening = true;
            Current = isOpen ? OutputPart.Thinking : OutputPart.Answer;
            buffer = buffer[(at + (isOpen ? Open.Length : Close.Length))..];
        }
        int keep = PossibleTagStart(buffer);
        if (buffer.Length - keep > 0) parts.Add((Current, buffer[..^keep]));
        _pending = buffer[^keep..];
        return parts;
    }

    /// <summary>Ends the stream: returns any held-back text.</summary>
    public IReadOnlyList<(OutputPart Part, string Text)> Flush()
    {
        var rest = _pending;
        _pending = "";
        return rest.Length == 0 ? [] : [(Current, rest)];
    }

    /// <summary>
    /// The whole text split at once: (thinking, answer). Without tags, all of it is the answer (or the thinking,
    /// when <paramref name="startsThinking"/> and no closing tag came).
    /// </summary>
    public static (string Thinking, string Answer) Split(string text, bool startsThinking = false)
    {
        var splitter = new ThinkSplitter(startsThinking);
        var thinking = new System.Text.StringBuilder();
        var answer = new System.Text.StringBuilder();
        foreach (var (part, piece) in splitter.Add(text).Concat(splitter.Flush()))
            (part == OutputPart.Thinking ? thinking : answer).Append(piece);
        return (thinking.ToString(), answer.ToString());
    }

    /// <summary>Length of the longest suffix of <paramref name="s"/> that is a proper prefix of a tag.</summary>
    private static int PossibleTagStart(string s)
    {
        for (int n = Math.Min(s.Length, Close.Length - 1); n > 0; n--)
        {
            var tail = s.AsSpan(s.Length - n);
            if (Open.AsSpan().StartsWith(tail) || Close.AsSpan().StartsWith(tail)) return n;
        }
        return 0;
    }
}
