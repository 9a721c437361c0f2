using System.Buffers;

namespace R1Sharp.Text.Tokenization;

/// <summary>
/// A token matched in the input text before normalization and pre-tokenization (HF <c>AddedToken</c>).
/// <see cref="Special"/> tokens are dropped by <c>Decode(ids, skipSpecialTokens: true)</c>.
/// <see cref="LStrip"/>/<see cref="RStrip"/> make a match swallow the whitespace on its left/right,
/// <see cref="SingleWord"/> matches only when not inside a word, and <see cref="Normalized"/> tokens are
/// matched in the normalized text rather than in the raw input.
/// </summary>
public sealed record AddedToken(int Id, string Content, bool Special = false, bool SingleWord = false,
    bool LStrip = false, bool RStrip = false, bool Normalized = false);

/// <summary>A stretch of text: either an added token (<see cref="TokenId"/> ≥ 0) or plain text (-1).</summary>
internal readonly record struct TextSection(int Start, int End, int TokenId);

/// <summary>
/// Finds added tokens the way HF's <c>AddedVocabulary::find_matches</c> does: leftmost-longest matching
/// (Aho–Corasick <c>LeftmostLongest</c>; here a character trie tried at each position, which gives the same
/// matches), then the single_word / lstrip / rstrip rules.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Node _root = new();
    private readonly SearchValues<char> _firstChars;

    public AddedTokenMatcher(IEnumerable<(string Pattern, AddedToken Token)> tokens)
    {
        var first = new HashSet<char>();
        foreach (var (pattern, token) in tokens)
        {
            if (pattern.Length == 0) continue;
            var node = _root;
            foreach (char c in pattern)
            {
                node.Children ??= [];
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            node.Token ??= token; // the first token with this content wins, as in HF's trie
            first.Add(pattern[0]);
        }
        IsEmpty = first.Count == 0;
        _firstChars = SearchValues.Create(first.ToArray());
    }

    public bool IsEmpty { get; }

    /// <summary>Splits text[start..end) into sections covering it entirely, in order.</summary>
    public void Split(ReadOnlySpan<char> text, int start, int end, List<TextSection> output)
    {
        int plainStart = start;
        int pos = start;
        while (pos < end)
        {
            int hit = text[pos..end].IndexOfAny(_firstChars);
            if (hit < 0) break;
            int i = pos + hit;
            var (token, length) = LongestAt(text, i, end);
            if (token is null)
            {
                pos = i + 1;
                continue;
            }
            int matchStart = i, matchEnd = i + length;
            pos = matchEnd;
            if (token.SingleWord)
            {
                bool startOk = matchStart == start || !IsWordChar(text, matchStart - 1, before: true);
                bool endOk = matchEnd == end || !IsWordChar(text, matchEnd, before: false);
                if (!startOk || !endOk) continue;
            }
            if (token.LStrip)
            {
                int s = matchStart;
                while (s > start && char.IsWhiteSpace(text[s - 1])) s--;
                matchStart = Math.Max(s, plainStart);
            }
            if (token.RStrip)
            {
                while (matchEnd < end && char.IsWhiteSpace(text[matchEnd])) matchEnd++;
                pos = matchEnd;
            }
            if (plainStart < matchStart) output.Add(new TextSection(plainStart, matchStart, -1));
            output.Add(new TextSection(matchStart, matchEnd, token.Id));
            plainStart = matchEnd;
        }
        if (plainStart < end || output.Count == 0) output.Add(new TextSection(plainStart, end, -1));
    }

    private (AddedToken? Token, int Length) LongestAt(ReadOnlySpan<char> text, int i, int end)
    {
        AddedToken? best = null;
        int bestLength = 0;
        var node = _root;
        for (int k = i; k < end; k++)
        {
            if (node.Children is null || !node.Children.TryGetValue(text[k], out var child)) break;
            node = child;
            if (node.Token is not null)
            {
                best = node.Token;
                bestLength = k - i + 1;
            }
        }
        return (best, bestLength);
    }

    /// <summary>Regex <c>\w</c>: letters, marks, decimal digits and connector punctuation.</summary>
    private static bool IsWordChar(ReadOnlySpan<char> text, int index, bool before)
    {
        int cp = text[index];
        if (before && char.IsLowSurrogate(text[index]) && index > 0 && char.IsHighSurrogate(text[index - 1]))
            cp = char.ConvertToUtf32(text[index - 1], text[index]);
        else if (!before && char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
            cp = char.ConvertToUtf32(text[index], text[index + 1]);
        var category = System.Globalization.CharUnicodeInfo.GetUnicodeCategory(cp);
        return category is System.Globalization.UnicodeCategory.UppercaseLetter or System.Globalization.UnicodeCategory.LowercaseLetter
            or System.Globalization.UnicodeCategory.TitlecaseLetter or System.Globalization.UnicodeCategory.ModifierLetter
            or System.Globalization.UnicodeCategory.OtherLetter or System.Globalization.UnicodeCategory.NonSpacingMark
            or System.Globalization.UnicodeCategory.SpacingCombiningMark or System.Globalization.UnicodeCategory.EnclosingMark
            or System.Globalization.UnicodeCategory.DecimalDigitNumber or System.Globalization.UnicodeCategory.ConnectorPunctuation;
    }

    private sealed class Node
    {
        public Dictionary<char, Node>? Children;
        public AddedToken? Token;
    }
}
