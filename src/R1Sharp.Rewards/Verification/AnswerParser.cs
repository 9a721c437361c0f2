using System.Collections.Concurrent;
using System.Text;

namespace R1Sharp.Rewards.Verification;

/// <summary>One side of a comparison after parsing: the readings of the answer, and its token-normalised text.</summary>
internal sealed class ParsedSide(Node[] candidates, string normalized, string text = "")
{
    /// <summary>Parsed readings; usually one, two for an ambiguous "1,5" (a list, or 1.5 with a decimal comma).</summary>
    public readonly Node[] Candidates = candidates;

    /// <summary>Token-level normal form: equal strings are equal answers even when unparseable (e.g. "12:00").</summary>
    public readonly string Normalized = normalized;

    /// <summary>
    /// The answer's text as found (the marked answer, or the whole text), without white space and math
    /// delimiters: Math-Verify's last resort, the string comparison of two answers it could not parse.
    /// </summary>
    public readonly string Text = text;

    public static readonly ParsedSide Empty = new([], "");

    public ParsedSide WithText(string text) => new(Candidates, Normalized, text);
}

/// <summary>
/// Turns an answer string (a bare answer such as <c>\frac12</c>, or text that contains one, such as
/// <c>$9$</c> or <c>The answer is \boxed{9}</c>) into a <see cref="ParsedSide"/>.
/// </summary>
internal static class AnswerParser
{
    private const int MaxAnswerChars = 4000;
    private const int MaxNodes = 6000;
    private const int MaxCacheEntries = 20000;

    private static readonly ConcurrentDictionary<string, ParsedSide> GoldCache = new(StringComparer.Ordinal);

    private static readonly ExtractionOptions Anchored = ExtractionOptions.WithoutFallback;
    private static readonly ExtractionOptions FallbackOnly = new() { Rules = [ExtractionRule.LastNumber] };

    /// <summary>Parses a gold answer, caching the result (gold answers repeat across samples of one prompt).</summary>
    public static ParsedSide Gold(string gold, TimeSpan timeout)
    {
        if (GoldCache.TryGetValue(gold, out var cached)) return cached;
        var side = Side(gold, new Budget(timeout));
        if (GoldCache.Count >= MaxCacheEntries) GoldCache.Clear();
        GoldCache[gold] = side;
        return side;
    }

    /// <summary>Parses one side: a marked answer first (box, tag, "answer is"), else the text itself.</summary>
    public static ParsedSide Side(string text, Budget budget)
    {
        var s = text.Trim();
        if (s.Length == 0) return ParsedSide.Empty;
        // The text key is that of the marked answer when there is one (Math-Verify compares the strings it extracted).
        if (HasAnchor(s) && AnswerExtractor.Extract(s, Anchored) is { } marked)
        {
            var side = Answerish(marked.Text, budget);
            var key = TextKey(marked.Text);
            return side.Candidates.Length > 0 ? side.WithText(key) : Answerish(s, budget).WithText(key);
        }
        return Answerish(s, budget).WithText(TextKey(s));
    }

    /// <summary>
    /// The text key of an answer: white space, <c>$</c> and the math delimiters <c>\(</c> <c>\)</c> <c>\[</c>
    /// <c>\]</c> removed, case kept. Two answers with the same key are the same answer, parsed or not.
    /// </summary>
    internal static string TextKey(string s)
    {
        if (s.Length > MaxAnswerChars) s = s[..MaxAnswerChars];
        var sb = new StringBuilder(s.Length);
        for (var k = 0; k < s.Length; k++)
        {
            var c = s[k];
            if (char.IsWhiteSpace(c) || c == '$') continue;
            if (c == '\\' && k + 1 < s.Length && s[k + 1] is '(' or ')' or '[' or ']')
            {
                k++;
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// An answer, or prose around one: prose ("Therefore $x \ge 5$ is the solution", "it's 1,000.99m²") is not
    /// parsed as a product of letters; its last math span or number is used instead.
    /// </summary>
    private static ParsedSide Answerish(string s, Budget budget)
    {
        ParsedSide? whole = null;
        if (!LooksLikeProse(s))
        {
            whole = Parse(s, budget);
            if (whole.Candidates.Length > 0) return whole;
        }
        if (AnswerExtractor.Extract(s, FallbackOnly) is { } last && last.Text != s)
        {
            var side = Parse(last.Text, budget);
            if (side.Candidates.Length > 0) return side;
        }
        return whole ?? Parse(s, budget);
    }

    private static readonly HashSet<string> KnownWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "or", "sin", "cos", "tan", "cot", "sec", "csc", "log", "exp", "sqrt", "inf", "infty", "infinity",
        "percent", "pct", "percentage", "min", "max", "gcd", "lcm", "mod", "arcsin", "arccos", "arctan", "sinh", "cosh",
        "tanh", "det", "frac", "ln", "pi", "in", "lg", "to", "of",
    };

    /// <summary>True when the text has a written word outside LaTeX commands and \text{…}: it is a sentence.</summary>
    internal static bool LooksLikeProse(string s)
    {
        var shortWords = 0;
        for (var k = 0; k < s.Length; k++)
        {
            var c = s[k];
            if (c == '\\')
            {
                var j = k + 1;
                while (j < s.Length && s[j] == '\\') j++; // "\\frac" written with a doubled backslash
                var nameStart = j;
                while (j < s.Length && char.IsAsciiLetter(s[j])) j++;
                var name = s[nameStart..j];
                if (name is "text" or "textbf" or "textit" or "textrm" or "textnormal" or "mbox" or "mathrm" or "mathbf" or "operatorname" or "begin" or "end" or "mathbb" or "hbox")
                {
                    while (j < s.Length && s[j] == ' ') j++;
                    if (j < s.Length && s[j] == '{')
                    {
                        var close = AnswerExtractor.MatchBrace(s, j, s.Length);
                        j = close < 0 ? s.Length : close;
                    }
                }
                k = j - 1;
                continue;
            }
            if (!char.IsAsciiLetter(c)) continue;
            var start = k;
            while (k < s.Length && char.IsAsciiLetter(s[k])) k++;
            var word = s[start..k];
            var before = start > 0 ? s[start - 1] : ' ';
            var after = k < s.Length ? s[k] : ' ';
            k--;
            // A word stands apart ("is the solution"); letters glued to numbers or scripts are math ("2abc", "x_{abc}").
            var standsApart = !(char.IsDigit(before) || before is '_' or '^' or '{' or '\\') && !(char.IsDigit(after) || after is '_' or '^' or '(');
            if (!standsApart || KnownWords.Contains(word) || TokenRewriter.IsUnitWord(word)) continue;
            if (word.Length >= 3 || (word.Length == 2 && ++shortWords >= 2)) return true;
        }
        return false;
    }

    private static bool HasAnchor(string s) =>
        s.Contains("\\boxed", StringComparison.Ordinal) || s.Contains("\\fbox", StringComparison.Ordinal) ||
        s.Contains("####", StringComparison.Ordinal) || s.Contains("answer", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses an answer string (no extraction).</summary>
    public static ParsedSide Parse(string answer, Budget budget)
    {
        if (answer.Length > MaxAnswerChars) return new ParsedSide([], Squeeze(answer));
        var tokens = LatexLexer.Lex(answer, budget);
        if (tokens is null) return new ParsedSide([], Squeeze(answer));
        var rewritten = TokenRewriter.Rewrite(tokens, decimalComma: false);
        var normalized = Canonical(rewritten);
        var candidates = new List<Node>(2);
        var node = ParseTokens(rewritten, budget);
        if (node is not null) candidates.Add(node);
        if (TokenRewriter.LooksLikeDecimalComma(rewritten))
        {
            var alt = ParseTokens(TokenRewriter.Rewrite(tokens, decimalComma: true), budget);
            if (alt is not null) candidates.Add(alt);
        }
        return new ParsedSide(candidates.ToArray(), normalized);
    }

    private static Node? ParseTokens(List<Token> tokens, Budget budget)
    {
        var node = LatexParser.Parse(new List<Token>(tokens), budget);
        if (node is null)
        {
            // Math-Verify's fallback: when the whole chain does not parse, keep what follows the last "=".
            var last = tokens.FindLastIndex(t => t.Kind == TokenKind.Rel && t.Op == RelOp.Eq);
            if (last >= 0 && last + 1 < tokens.Count) node = LatexParser.Parse(tokens.GetRange(last + 1, tokens.Count - last - 1), budget);
        }
        return node is not null && node.Size() <= MaxNodes ? node : null;
    }

    private static string Canonical(List<Token> tokens)
    {
        var sb = new StringBuilder();
        foreach (var t in tokens)
        {
            sb.Append((char)('A' + (int)t.Kind));
            sb.Append(t.Kind == TokenKind.Rel ? t.Op.ToString() : t.Kind == TokenKind.Word ? t.Text.ToLowerInvariant() : t.Text);
        }
        return sb.ToString();
    }

    private static string Squeeze(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
            if (!char.IsWhiteSpace(c) && c != '$')
                sb.Append(char.ToLowerInvariant(c));
        return sb.ToString();
    }
}
