using System.Text.RegularExpressions;

namespace R1Sharp.Rewards.Rules;

/// <summary>Which response layout <see cref="FormatReward"/> checks.</summary>
public enum FormatPattern
{
    /// <summary>
    /// open-r1's <c>format_reward</c>, exactly: Python <c>re.match(r"^&lt;think&gt;\n.*?\n&lt;/think&gt;\n&lt;answer&gt;\n.*?\n&lt;/answer&gt;$", text, re.DOTALL | re.MULTILINE)</c>.
    /// Because of MULTILINE, <c>$</c> also matches before any newline, so text after a newline that follows
    /// <c>&lt;/answer&gt;</c> is accepted (open-r1's behaviour, kept).
    /// </summary>
    R1Zero,

    /// <summary>
    /// The spacing of the R1-Zero template itself, <c>&lt;think&gt; … &lt;/think&gt; &lt;answer&gt; … &lt;/answer&gt;</c>:
    /// optional leading whitespace, a think block, optional whitespace, an answer block whose content is not
    /// blank, optional trailing whitespace, and nothing else. Neither block may contain any of the four tags
    /// (so repeated or nested tags fail). Whitespace inside the blocks is free; the think block may be empty.
    /// </summary>
    R1ZeroLoose,

    /// <summary>
    /// The cold-start (readable) layout of DeepSeek-R1, <c>&lt;think&gt;\n{reasoning}\n&lt;/think&gt;\n{summary}</c>:
    /// the completion starts with <c>&lt;think&gt;\n</c>, contains exactly one <c>&lt;think&gt;</c> and one
    /// <c>&lt;/think&gt;</c>, the closing tag is written <c>\n&lt;/think&gt;\n</c>, and both the reasoning
    /// between the tags and the summary after them are not blank.
    /// </summary>
    ColdStart,
}

/// <summary>
/// Format reward: 1.0 when the completion has the layout of the chosen <see cref="FormatPattern"/>, else 0.0.
/// Never null. Matching runs in linear time (a non-backtracking regex engine for the open-r1 pattern, plain
/// index checks for the others), so adversarial text cannot stall it.
/// </summary>
public sealed class FormatReward : IReward
{
    // Singleline = Python DOTALL; Multiline = Python MULTILINE (affects $ only; the match is anchored at \A).
    private static readonly Regex R1ZeroRegex = new(
        @"\A<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$",
        RegexOptions.Singleline | RegexOptions.Multiline | RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);

    private readonly FormatPattern _pattern;

    /// <param name="pattern">The layout to check.</param>
    /// <param name="name">The reward's name in configs and metrics; defaults per pattern
    /// (<c>format</c>, <c>r1_zero_format</c>, <c>cold_start_format</c>).</param>
    public FormatReward(FormatPattern pattern = FormatPattern.R1Zero, string? name = null)
    {
        _pattern = pattern;
        Name = name ?? pattern switch
        {
            FormatPattern.R1Zero => "format",
            FormatPattern.R1ZeroLoose => "r1_zero_format",
            _ => "cold_start_format",
        };
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>True when <paramref name="completion"/> has the layout of <paramref name="pattern"/>.</summary>
    public static bool Matches(string completion, FormatPattern pattern) => pattern switch
    {
        FormatPattern.R1Zero => completion.StartsWith("<think>\n", StringComparison.Ordinal) && R1ZeroRegex.IsMatch(completion),
        FormatPattern.R1ZeroLoose => MatchesLoose(completion),
        _ => MatchesColdStart(completion),
    };

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var scores = new double?[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            scores[i] = Matches(batch[i].Completion, _pattern) ? 1.0 : 0.0;
        }
        return scores;
    }

    private static bool MatchesLoose(string text)
    {
        if (Count(text, "<think>") != 1 || Count(text, "</think>") != 1 || Count(text, "<answer>") != 1 || Count(text, "</answer>") != 1)
            return false;
        int thinkOpen = text.IndexOf("<think>", StringComparison.Ordinal);
        int thinkClose = text.IndexOf("</think>", StringComparison.Ordinal);
        int answerOpen = text.IndexOf("<answer>", StringComparison.Ordinal);
        int answerClose = text.IndexOf("</answer>", StringComparison.Ordinal);
        if (!(thinkOpen < thinkClose && thinkClose < answerOpen && answerOpen < answerClose)) return false;
        return IsBlank(text.AsSpan(0, thinkOpen))
            && IsBlank(text.AsSpan(thinkClose + "</think>".Length, answerOpen - thinkClose - "</think>".Length))
            && !IsBlank(text.AsSpan(answerOpen + "<answer>".Length, answerClose - answerOpen - "<answer>".Length))
            && IsBlank(text.AsSpan(answerClose + "</answer>".Length));
    }

    private static bool MatchesColdStart(string text)
    {
        const string open = "<think>\n", close = "\n</think>\n";
        if (!text.StartsWith(open, StringComparison.Ordinal)) return false;
        if (Count(text, "<think>") != 1 || Count(text, "</think>") != 1) return false;
        int closeAt = text.IndexOf(close, StringComparison.Ordinal);
        if (closeAt < open.Length - 1) return false; // the newline after <think> cannot also be the one before </think>
        return !IsBlank(text.AsSpan(open.Length, Math.Max(0, closeAt - open.Length)))
            && !IsBlank(text.AsSpan(closeAt + close.Length));
    }

    private static bool IsBlank(ReadOnlySpan<char> span) => span.IsWhiteSpace();

    internal static int Count(string text, string value)
    {
        int count = 0;
        for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
            count++;
        return count;
    }
}
