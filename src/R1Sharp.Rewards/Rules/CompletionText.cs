namespace R1Sharp.Rewards.Rules;

/// <summary>
/// Small, allocation-light helpers the rule rewards share to read a completion: its chain-of-thought, its
/// last <c>&lt;answer&gt;</c> block, and its length. None of them throws on any text.
/// </summary>
public static class CompletionText
{
    private const string ThinkOpen = "<think>";
    private const string ThinkClose = "</think>";
    private const string AnswerOpen = "<answer>";
    private const string AnswerClose = "</answer>";

    /// <summary>
    /// The chain-of-thought: the text between the first <c>&lt;think&gt;</c> and the first <c>&lt;/think&gt;</c>
    /// after it. With an opening tag but no closing tag, everything after the opening tag (a truncated chain);
    /// with a closing tag but no opening tag (the prompt already opened it, as TinyZero's template does),
    /// everything before the closing tag. With neither tag, the whole completion.
    /// </summary>
    public static string ChainOfThought(string completion)
    {
        int open = completion.IndexOf(ThinkOpen, StringComparison.Ordinal);
        if (open >= 0)
        {
            int start = open + ThinkOpen.Length;
            int close = completion.IndexOf(ThinkClose, start, StringComparison.Ordinal);
            return close >= 0 ? completion[start..close] : completion[start..];
        }
        int onlyClose = completion.IndexOf(ThinkClose, StringComparison.Ordinal);
        return onlyClose >= 0 ? completion[..onlyClose] : completion;
    }

    /// <summary>
    /// The content of the last complete <c>&lt;answer&gt;…&lt;/answer&gt;</c> block, not trimmed: the text
    /// after the last opening tag that has a closing tag somewhere after it, up to the first such closing tag.
    /// Null when there is none. (TinyZero takes the last match of <c>&lt;answer&gt;(.*?)&lt;/answer&gt;</c>;
    /// the two agree unless answer tags are nested, where this takes the innermost block.)
    /// </summary>
    public static string? LastAnswer(string completion)
    {
        int lastClose = completion.LastIndexOf(AnswerClose, StringComparison.Ordinal);
        if (lastClose < 0) return null;
        int open = completion.AsSpan(0, lastClose).LastIndexOf(AnswerOpen.AsSpan(), StringComparison.Ordinal);
        if (open < 0) return null;
        int start = open + AnswerOpen.Length;
        int close = completion.IndexOf(AnswerClose, start, StringComparison.Ordinal);
        return completion[start..close];
    }

    /// <summary>
    /// The completion's length for length-based rewards: <see cref="RewardInput.CompletionTokens"/> when the
    /// caller knows it, otherwise the number of whitespace-separated words (Python's <c>str.split()</c>),
    /// which is the documented fallback of the reward contract.
    /// </summary>
    public static int Length(RewardInput input) => input.CompletionTokens ?? WhitespaceWordCount(input.Completion);

    /// <summary>Number of maximal runs of non-whitespace characters, like <c>len(text.split())</c>.</summary>
    public static int WhitespaceWordCount(string text)
    {
        int count = 0;
        bool inWord = false;
        foreach (char c in text)
        {
            bool space = char.IsWhiteSpace(c);
            if (!space && !inWord) count++;
            inWord = !space;
        }
        return count;
    }
}
