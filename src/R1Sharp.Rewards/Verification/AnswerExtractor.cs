namespace R1Sharp.Rewards.Verification;

/// <summary>Which extraction rule produced an answer.</summary>
public enum ExtractionRule
{
    /// <summary>The last <c>&lt;answer&gt;…&lt;/answer&gt;</c> block (R1-Zero format); a box inside it is unwrapped.</summary>
    AnswerTag,
    /// <summary>The last <c>\boxed{…}</c>, <c>\boxed 5</c> or <c>\fbox{…}</c>; adjacent boxes joined (<c>\boxed{1}, \boxed{2}</c>).</summary>
    Boxed,
    /// <summary>GSM8K's <c>#### 42</c> line.</summary>
    Gsm8k,
    /// <summary>"The final answer is …" / "Final Answer: …".</summary>
    FinalAnswer,
    /// <summary>"Answer: …", "the answer is …".</summary>
    AnswerPhrase,
    /// <summary>Fallback: the last number (or the last inline math span, whichever ends later).</summary>
    LastNumber,
}

/// <summary>Which extraction rules are on, in priority order (the first rule that finds an answer wins).</summary>
public sealed record ExtractionOptions
{
    /// <summary>All rules, the last-number fallback last.</summary>
    public static ExtractionOptions Default { get; } = new();

    /// <summary>Anchored rules only: no answer unless the completion marks one.</summary>
    public static ExtractionOptions WithoutFallback { get; } = new()
    {
        Rules = [ExtractionRule.AnswerTag, ExtractionRule.Boxed, ExtractionRule.Gsm8k, ExtractionRule.FinalAnswer, ExtractionRule.AnswerPhrase],
    };

    /// <summary>Rules in priority order; a rule not listed is off.</summary>
    public IReadOnlyList<ExtractionRule> Rules { get; init; } =
    [
        ExtractionRule.AnswerTag, ExtractionRule.Boxed, ExtractionRule.Gsm8k, ExtractionRule.FinalAnswer,
        ExtractionRule.AnswerPhrase, ExtractionRule.LastNumber,
    ];

    /// <summary>Longest answer returned, in characters (an unclosed <c>\boxed{</c> otherwise takes the rest of the text).</summary>
    public int MaxAnswerLength { get; init; } = 2000;
}

/// <summary>An answer found in a completion: its text, the rule that found it, and where it starts.</summary>
public sealed record ExtractedAnswer(string Text, ExtractionRule Rule, int Start);

/// <summary>
/// Finds the final answer in a model completion with hand-written linear scanners (no regular expressions,
/// so no catastrophic backtracking on adversarial text). The rules mirror Math-Verify's extraction targets
/// (huggingface/Math-Verify, src/math_verify/parser.py) and open-r1's accuracy reward.
/// </summary>
public static class AnswerExtractor
{
    /// <summary>Returns the answer found by the first rule (in <paramref name="options"/>' order) that finds one, or null.</summary>
    public static ExtractedAnswer? Extract(string text, ExtractionOptions? options = null)
    {
        options ??= ExtractionOptions.Default;
        if (string.IsNullOrEmpty(text)) return null;
        try
        {
            foreach (var rule in options.Rules)
            {
                var found = rule switch
                {
                    ExtractionRule.AnswerTag => AnswerTag(text),
                    ExtractionRule.Boxed => BoxedUnlessFinalAnswerFollows(text, options),
                    ExtractionRule.Gsm8k => Gsm8k(text),
                    ExtractionRule.FinalAnswer => FinalAnswer(text),
                    ExtractionRule.AnswerPhrase => AnswerPhrase(text),
                    ExtractionRule.LastNumber => LastNumber(text, 0, text.Length),
                    _ => null,
                };
                if (found is null) continue;
                var (start, answer) = found.Value;
                answer = answer.Trim();
                if (answer.Length == 0) continue;
                if (answer.Length > options.MaxAnswerLength) answer = answer[..options.MaxAnswerLength];
                return new ExtractedAnswer(answer, rule, start);
            }
        }
        catch (Exception)
        {
            // Never throw on model text.
        }
        return null;
    }

    // ───────────────────────── rules ─────────────────────────

    private static (int, string)? AnswerTag(string text)
    {
        var open = text.LastIndexOf("<answer>", StringComparison.OrdinalIgnoreCase);
        if (open < 0) return null;
        var start = open + "<answer>".Length;
        var close = text.IndexOf("</answer>", start, StringComparison.OrdinalIgnoreCase);
        var end = close < 0 ? text.Length : close;
        if (Boxed(text, start, end) is { } boxed) return boxed;
        var (s, e) = Trim(text, start, end);
        if (e <= s) return null;
        // A tag holding a sentence ("The answer is 5."): read the answer inside it.
        var inner = text[s..e];
        if (inner.Length > 40 && (FinalAnswer(inner) ?? AnswerPhrase(inner)) is { } phrase) return (s + phrase.Item1, phrase.Item2);
        if (MathSpanAt(text, s, e) is { } span && span.End == e) return (span.ContentStart, span.Content);
        return (s, StripMathDelimiters(inner));
    }

    /// <summary>
    /// The last box, except that a "final answer is …" statement written after it wins (Math-Verify gives both
    /// the same priority and takes the one that ends last), when the FinalAnswer rule is enabled.
    /// </summary>
    private static (int, string)? BoxedUnlessFinalAnswerFollows(string text, ExtractionOptions options)
    {
        var boxed = Boxed(text, 0, text.Length);
        if (boxed is null || !options.Rules.Contains(ExtractionRule.FinalAnswer)) return boxed;
        var final = FinalAnswer(text);
        return final is { } f && f.Item1 > boxed.Value.Item1 + boxed.Value.Item2.Length ? f : boxed;
    }

    /// <summary>
    /// The last box in [from, to). Earlier boxes are joined to it (with commas) while they stay close: fewer
    /// than 10 characters apart, or fewer than 70 with "and", "or", "," or ";" between and a different content
    /// (Math-Verify's rule, so <c>\boxed{1}, \boxed{2}</c> is {1, 2} but two boxes in different steps are not).
    /// </summary>
    internal static (int, string)? Boxed(string text, int from, int to)
    {
        var results = new List<(int Start, string Content)>();
        var searchEnd = to;
        var limit = to;
        var laterBoxStart = -1;
        var lastBoxEnd = -1;
        while (searchEnd > from)
        {
            var boxed = LastIndexOf(text, "\\boxed", from, searchEnd);
            var fbox = LastIndexOf(text, "\\fbox", from, searchEnd);
            var idx = System.Math.Max(boxed, fbox);
            if (idx < 0) break;
            var j = idx + (idx == boxed ? 6 : 5);
            searchEnd = idx;
            if (j < limit && char.IsAsciiLetter(text[j])) continue; // \boxedsomething: another command
            while (j < limit && char.IsWhiteSpace(text[j])) j++;
            if (j >= limit) continue;
            if (text[j] == '{')
            {
                var close = MatchBrace(text, j, limit);
                if (close < 0)
                {
                    if (results.Count == 0) results.Add((j + 1, text[(j + 1)..limit]));
                    break;
                }
                var content = text[(j + 1)..close].Trim();
                if (results.Count > 0)
                {
                    var between = text[(close + 1)..laterBoxStart];
                    if (!(between.Length < 10 || (content != results[^1].Content && between.Length < 70 && HasSeparator(between))))
                        break;
                }
                if (results.Count == 0) lastBoxEnd = close + 1;
                if (results.Count == 0 || results[^1].Content != content) results.Add((j + 1, content));
                laterBoxStart = idx;
                limit = idx;
                continue;
            }
            // \boxed 5: the argument runs to the next space or math delimiter.
            if (results.Count == 0)
            {
                var k = j;
                while (k < limit && !char.IsWhiteSpace(text[k]) && text[k] != '$' && !(text[k] == '\\' && k + 1 < limit && text[k + 1] is ']' or ')')) k++;
                var arg = text[j..k].TrimEnd('.', ',', ';');
                if (arg.Length > 0) results.Add((j, arg));
            }
            break;
        }
        if (results.Count == 0) return null;
        results.Reverse();
        var joined = string.Join(", ", results.Select(r => r.Content));
        if (results.Count == 1 && lastBoxEnd >= 0 && PercentAfter(text, lastBoxEnd, to)) joined += "\\%";
        return (results[0].Start, joined);
    }

    /// <summary>"\\boxed{28}$ percent", "\\boxed{28}\\%": the unit of a boxed value written just after the box.</summary>
    private static bool PercentAfter(string text, int k, int to)
    {
        while (k < to && (text[k] == ' ' || text[k] == '$')) k++;
        if (k < to && text[k] == '%') return true;
        if (k + 1 < to && text[k] == '\\' && text[k + 1] == '%') return true;
        return IsWordAt(text, k, "percent") || IsWordAt(text, k, "pct") || IsWordAt(text, k, "percentage");
    }

    private static (int, string)? Gsm8k(string text)
    {
        var idx = text.LastIndexOf("####", StringComparison.Ordinal);
        if (idx < 0) return null;
        var start = idx + 4;
        var end = text.IndexOf('\n', start);
        if (end < 0) end = text.Length;
        var (s, e) = Trim(text, start, end);
        return e > s ? (s, text[s..e]) : null;
    }

    private static (int, string)? FinalAnswer(string text)
    {
        var idx = text.LastIndexOf("final answer", StringComparison.OrdinalIgnoreCase);
        while (idx >= 0)
        {
            var found = AfterAnchor(text, idx + "final answer".Length);
            if (found is not null) return found;
            idx = idx == 0 ? -1 : text.LastIndexOf("final answer", idx - 1, StringComparison.OrdinalIgnoreCase);
        }
        return null;
    }

    private static (int, string)? AnswerPhrase(string text)
    {
        var idx = text.Length;
        for (var guard = 0; guard < 64; guard++)
        {
            idx = idx == 0 ? -1 : text.LastIndexOf("answer", idx - 1, StringComparison.OrdinalIgnoreCase);
            if (idx < 0) return null;
            var before = idx > 0 ? text[idx - 1] : ' ';
            if (char.IsAsciiLetter(before) || before is '<' or '/') continue; // "<answer>", "</answer>"
            var after = idx + 6;
            if (after < text.Length && text[after] is 's' or 'S' or 'e' or 'E') continue; // "answers", "answered"
            var found = AfterAnchor(text, after);
            if (found is not null) return found;
        }
        return null;
    }

    /// <summary>
    /// Reads the answer in the sentence that follows an anchor ("final answer", "answer"): after the last
    /// "=" or the last "is"/"be"/":" of that sentence, else the first math or number in it.
    /// </summary>
    private static (int, string)? AfterAnchor(string text, int pos)
    {
        var end = SentenceEnd(text, pos, System.Math.Min(text.Length, pos + 300));
        var cut = -1;
        var inDollar = false;
        var inParen = false;
        var braces = 0;
        for (var k = pos; k < end; k++)
        {
            var c = text[k];
            if (c == '\\' && k + 1 < end)
            {
                var n = text[k + 1];
                if (n is '(' or '[') inParen = true;
                else if (n is ')' or ']') inParen = false;
                k++;
                continue;
            }
            if (c == '$')
            {
                inDollar = !inDollar;
                continue;
            }
            if (c == '{') braces++;
            else if (c == '}') braces = System.Math.Max(0, braces - 1);
            if (inDollar || inParen || braces > 0) continue;
            if (c == ':' || c == '=') cut = k + 1;
            else if (IsWordAt(text, k, "is") || IsWordAt(text, k, "be")) cut = k + 2;
            else if (IsWordAt(text, k, "was") || IsWordAt(text, k, "are")) cut = k + 3;
        }
        var start = cut >= 0 ? cut : pos;
        var answer = ReadAnswerAt(text, start, end);
        if (answer is null && cut >= 0 && cut != pos) answer = ReadAnswerAt(text, pos, end);
        return answer;
    }

    private static bool IsWordAt(string text, int k, string word)
    {
        if (k + word.Length > text.Length || string.Compare(text, k, word, 0, word.Length, StringComparison.OrdinalIgnoreCase) != 0)
            return false;
        var before = k > 0 ? text[k - 1] : ' ';
        var after = k + word.Length < text.Length ? text[k + word.Length] : ' ';
        return !char.IsLetterOrDigit(before) && !char.IsLetterOrDigit(after) && before != '\\';
    }

    /// <summary>End of the sentence starting at <paramref name="pos"/>: a newline, or ". " outside math.</summary>
    private static int SentenceEnd(string text, int pos, int limit)
    {
        var inDollar = false;
        var inParen = false;
        for (var k = pos; k < limit; k++)
        {
            var c = text[k];
            if (c == '\\' && k + 1 < limit)
            {
                var n = text[k + 1];
                if (n is '(' or '[') inParen = true;
                else if (n is ')' or ']') inParen = false;
                k++;
                continue;
            }
            if (c == '$')
            {
                if (k + 1 < limit && text[k + 1] == '$') k++;
                inDollar = !inDollar;
            }
            if (inDollar || inParen) continue;
            if (c == '\n' && k > pos && !(k + 1 < limit && text[k + 1] is '$' or '\\') && HasContent(text, pos, k)) return k;
            if (c is '.' or '!' or '?' && (k + 1 >= limit || char.IsWhiteSpace(text[k + 1])) && HasContent(text, pos, k)) return k;
        }
        return limit;
    }

    private static bool HasContent(string text, int from, int to)
    {
        for (var k = from; k < to; k++)
            if (char.IsLetterOrDigit(text[k]) || text[k] is '$' or '\\')
                return true;
        return false;
    }

    /// <summary>
    /// Reads an answer starting at <paramref name="pos"/>: a box, one or more math spans joined by "and"/","
    /// (up to five), or plain text up to the sentence end with leading filler words dropped.
    /// </summary>
    private static (int, string)? ReadAnswerAt(string text, int pos, int end)
    {
        var k = pos;
        while (k < end && (char.IsWhiteSpace(text[k]) || text[k] is '*' or '"' or ':' or '\'' or '`')) k++;
        if (k >= end) return null;
        if (Boxed(text, k, end) is { } boxed && boxed.Item1 - k < 12) return boxed;
        if (MathSpanAt(text, k, end) is { } first)
        {
            var parts = new List<string> { first.Content };
            var next = first.End;
            for (var n = 0; n < 5; n++)
            {
                var j = next;
                while (j < end && char.IsWhiteSpace(text[j])) j++;
                var sep = j;
                if (j < end && text[j] == ',') j++;
                while (j < end && char.IsWhiteSpace(text[j])) j++;
                if (IsWordAt(text, j, "and")) j += 3;
                else if (IsWordAt(text, j, "or")) j += 2;
                if (j == sep) break;
                while (j < end && char.IsWhiteSpace(text[j])) j++;
                if (MathSpanAt(text, j, end) is not { } more) break;
                parts.Add(more.Content);
                next = more.End;
            }
            return (first.ContentStart, string.Join(", ", parts));
        }
        // Plain text: drop filler words ("therefore", "approximately") before the first math-looking token.
        var s = k;
        while (true)
        {
            var w = s;
            while (w < end && char.IsAsciiLetter(text[w])) w++;
            if (w - s < 2 || w >= end || !char.IsWhiteSpace(text[w])) break;
            var rest = w;
            while (rest < end && char.IsWhiteSpace(text[rest])) rest++;
            if (rest >= end) break;
            if (!LooksMathy(text[rest]) && !char.IsAsciiLetter(text[rest])) break;
            if (!HasMathyAhead(text, rest, end)) break;
            s = rest;
        }
        if (MathSpanAt(text, s, end) is { } span) return (span.ContentStart, span.Content);
        var (a, b) = Trim(text, s, end);
        while (b > a && text[b - 1] is '.' or ',' or ';' or '!' or '?' or '*' or '"' or '\'') b--;
        if (b <= a) return null;
        var plain = text[a..b];
        if (!plain.Any(c => char.IsDigit(c) || c is '\\' or '$' or '=' or '/' or '^') && plain.Count(c => c == ' ') > 2) return null;
        return (a, StripMathDelimiters(plain));
    }

    private static bool LooksMathy(char c) => char.IsDigit(c) || c is '-' or '+' or '(' or '[' or '{' or '\\' or '$' or '.';

    private static bool HasMathyAhead(string text, int from, int end)
    {
        for (var k = from; k < end; k++)
            if (LooksMathy(text[k]))
                return true;
        return false;
    }

    private readonly record struct Span(int ContentStart, string Content, int End);

    /// <summary>A math span opening exactly at <paramref name="k"/>: $…$, $$…$$, \(…\), \[…\].</summary>
    private static Span? MathSpanAt(string text, int k, int end)
    {
        if (k >= end) return null;
        string open, close;
        if (text[k] == '$')
        {
            var display = k + 1 < end && text[k + 1] == '$';
            open = display ? "$$" : "$";
            close = open;
        }
        else if (text[k] == '\\' && k + 1 < end && text[k + 1] == '(')
        {
            open = "\\(";
            close = "\\)";
        }
        else if (text[k] == '\\' && k + 1 < end && text[k + 1] == '[')
        {
            open = "\\[";
            close = "\\]";
        }
        else return null;
        var cs = k + open.Length;
        var search = cs;
        while (true)
        {
            var ce = text.IndexOf(close, search, System.Math.Max(0, System.Math.Min(end, text.Length) - search), StringComparison.Ordinal);
            if (ce < 0) return null;
            if (ce > 0 && text[ce - 1] == '\\' && open == "$")
            {
                search = ce + 1; // an escaped dollar inside
                continue;
            }
            var content = text[cs..ce];
            if (open == "$" && content.Contains('\n')) return null;
            var trimmed = content.Trim();
            if (trimmed.Length == 0) return null;
            return new Span(cs + (content.Length - content.TrimStart().Length), trimmed, ce + close.Length);
        }
    }

    /// <summary>
    /// The last number in [from, to) (with thousands separators, decimals, a percent sign, or as a simple
    /// fraction a/b), unless an inline math span ends after it, in which case that span's content.
    /// A number glued to a preceding letter (<c>XDY2K</c>) does not count.
    /// </summary>
    internal static (int, string)? LastNumber(string text, int from, int to)
    {
        (int Start, int End)? last = null;
        var k = from;
        while (k < to)
        {
            var c = text[k];
            if (!char.IsAsciiDigit(c) && !(c == '.' && k + 1 < to && char.IsAsciiDigit(text[k + 1]) && (k == from || !char.IsAsciiDigit(text[k - 1]))))
            {
                k++;
                continue;
            }
            var start = k;
            var prev = start > from ? text[start - 1] : ' ';
            if (char.IsLetter(prev) || prev is '_' or '^' or '\\')
            {
                while (k < to && (char.IsAsciiDigit(text[k]) || text[k] == '.')) k++;
                continue;
            }
            if (start > from && prev == '-' && (start - 1 == from || !char.IsLetterOrDigit(text[start - 2]))) start--;
            var e = ScanNumber(text, k, to);
            // a/b
            if (e + 1 < to && text[e] == '/' && char.IsAsciiDigit(text[e + 1])) e = ScanNumber(text, e + 1, to);
            // percent
            var pe = e;
            while (pe < to && text[pe] == ' ') pe++;
            if (pe < to && text[pe] == '%') e = pe + 1;
            else if (pe + 1 < to && text[pe] == '\\' && text[pe + 1] == '%') e = pe + 2;
            else if (IsWordAt(text, pe, "percent")) e = pe + 7;
            last = (start, e);
            k = System.Math.Max(e, k + 1);
        }
        // A bare \frac{3}{4} (Math-Verify's plain-text fraction pattern) ends after the numbers inside it.
        if (LastBareFraction(text, from, to) is { } fraction && (last is null || fraction.End >= last.Value.End)) last = fraction;
        var span = LastMathSpan(text, from, to);
        if (span is { } s && (last is null || s.End >= last.Value.End)) return (s.ContentStart, s.Content);
        if (last is null) return null;
        return (last.Value.Start, text[last.Value.Start..last.Value.End]);
    }

    /// <summary>
    /// The last <c>\frac{a}{b}</c> (also <c>\dfrac</c>, <c>\tfrac</c>, with an optional leading minus) in [from, to)
    /// whose two arguments are plain numbers, written outside math delimiters: <c>-\frac{3}{4}</c>.
    /// </summary>
    private static (int Start, int End)? LastBareFraction(string text, int from, int to)
    {
        var k = to;
        while (k > from)
        {
            var idx = LastIndexOf(text, "frac{", from, k);
            if (idx < 0) return null;
            k = idx;
            var start = idx;
            if (start > from && text[start - 1] is 'd' or 't') start--;
            if (start == from || text[start - 1] != '\\') continue;
            start--;
            var e = FractionArgument(text, idx + 4, to);
            if (e < 0) continue;
            e = FractionArgument(text, e, to);
            if (e < 0) continue;
            var m = start;
            while (m > from && text[m - 1] == ' ') m--;
            if (m > from && text[m - 1] == '-' && (m - 1 == from || !char.IsLetterOrDigit(text[m - 2]))) start = m - 1;
            return (start, e);
        }
        return null;
    }

    /// <summary>Reads "{-12}" or "{2.5}" at <paramref name="k"/>; returns the index after the closing brace, or −1.</summary>
    private static int FractionArgument(string text, int k, int to)
    {
        if (k >= to || text[k] != '{') return -1;
        k++;
        while (k < to && text[k] == ' ') k++;
        if (k < to && text[k] == '-') k++;
        var digits = k;
        while (k < to && char.IsAsciiDigit(text[k])) k++;
        if (k == digits) return -1;
        if (k + 1 < to && text[k] is '.' or ',' && char.IsAsciiDigit(text[k + 1]))
        {
            k++;
            while (k < to && char.IsAsciiDigit(text[k])) k++;
        }
        while (k < to && text[k] == ' ') k++;
        return k < to && text[k] == '}' ? k + 1 : -1;
    }

    private static int ScanNumber(string text, int k, int to)
    {
        var start = k;
        while (k < to && char.IsAsciiDigit(text[k])) k++;
        // "118 000": groups of three digits after single spaces, after a leading group of one to three digits.
        if (k - start <= 3)
            while (k + 3 < to && text[k] == ' ' && char.IsAsciiDigit(text[k + 1]) && char.IsAsciiDigit(text[k + 2]) &&
                   char.IsAsciiDigit(text[k + 3]) && (k + 4 >= to || !char.IsAsciiDigit(text[k + 4])))
                k += 4;
        // thousands groups: ,ddd (not followed by another digit)
        while (k + 3 < to && text[k] == ',' && k + 3 < text.Length && char.IsAsciiDigit(text[k + 1]) && char.IsAsciiDigit(text[k + 2]) &&
               char.IsAsciiDigit(text[k + 3]) && (k + 4 >= to || !char.IsAsciiDigit(text[k + 4])))
            k += 4;
        if (k + 1 < to && text[k] is '.' or ',' && char.IsAsciiDigit(text[k + 1]))
        {
            k++;
            while (k < to && char.IsAsciiDigit(text[k])) k++;
        }
        return k;
    }

    private static Span? LastMathSpan(string text, int from, int to)
    {
        Span? last = null;
        var k = from;
        // Once an opener has no closer after it, later openers of the same kind have none either: skip them
        // (keeps the scan linear on text full of unmatched "\(").
        var noParenClose = false;
        var noBracketClose = false;
        while (k < to)
        {
            var c = text[k];
            if (c == '$' && k > from && text[k - 1] == '\\')
            {
                k++;
                continue;
            }
            var paren = c == '\\' && k + 1 < to && text[k + 1] == '(';
            var bracket = c == '\\' && k + 1 < to && text[k + 1] == '[';
            if ((paren && noParenClose) || (bracket && noBracketClose))
            {
                k += 2;
                continue;
            }
            if (c == '$' || paren || bracket)
            {
                var span = MathSpanAt(text, k, to);
                if (span is null && paren && text.IndexOf("\\)", k, StringComparison.Ordinal) < 0) noParenClose = true;
                if (span is null && bracket && text.IndexOf("\\]", k, StringComparison.Ordinal) < 0) noBracketClose = true;
                // Display math ($$…$$, \[…\], \(…\)) is math as written; a single "$" may be a currency sign.
                if (span is { } s && (c != '$' || (k + 1 < to && text[k + 1] == '$') || IsProbablyMath(s.Content)))
                {
                    last = s;
                    k = s.End;
                    continue;
                }
                // An unpaired "$" is a currency sign: skip it.
                k += c == '$' && k + 1 < to && text[k + 1] == '$' ? 2 : 1;
                continue;
            }
            k++;
        }
        return last;
    }

    /// <summary>
    /// "$2 per egg … $" is prose between two currency signs, not math: too many plain words (words inside
    /// <c>\text{…}</c> and similar are LaTeX's own text, and do not count).
    /// </summary>
    private static bool IsProbablyMath(string content)
    {
        var words = 0;
        for (var k = 0; k < content.Length; k++)
        {
            if (content[k] == '\\' && TextCommandArgumentEnd(content, k) is var skip and > 0)
            {
                k = skip - 1;
                continue;
            }
            if (!char.IsAsciiLetter(content[k])) continue;
            var s = k;
            while (k < content.Length && char.IsAsciiLetter(content[k])) k++;
            if (k - s >= 3 && (s == 0 || content[s - 1] is not ('\\' or '{'))) words++;
        }
        return words < 3 && content.Length <= 1000;
    }

    private static readonly string[] TextCommandNames = ["text", "textbf", "textit", "textrm", "textnormal", "mbox", "mathrm", "operatorname"];

    /// <summary>For <c>\text{…}</c> (and its kin) at <paramref name="k"/>: the index after its closing brace, else −1.</summary>
    private static int TextCommandArgumentEnd(string content, int k)
    {
        var j = k + 1;
        while (j < content.Length && char.IsAsciiLetter(content[j])) j++;
        var name = content.AsSpan(k + 1, j - k - 1);
        var known = false;
        foreach (var n in TextCommandNames) known |= name.SequenceEqual(n);
        if (!known) return -1;
        while (j < content.Length && content[j] == ' ') j++;
        if (j >= content.Length || content[j] != '{') return -1;
        var close = MatchBrace(content, j, content.Length);
        return close < 0 ? -1 : close + 1;
    }

    // ───────────────────────── helpers ─────────────────────────

    private static int LastIndexOf(string text, string value, int from, int to)
    {
        if (to - from < value.Length) return -1;
        var idx = text.LastIndexOf(value, to - 1, to - from, StringComparison.Ordinal);
        return idx >= from && idx + value.Length <= to ? idx : -1;
    }

    /// <summary>Index of the brace closing the one at <paramref name="open"/> (escaped braces ignored), or −1.</summary>
    internal static int MatchBrace(string text, int open, int limit)
    {
        var depth = 0;
        for (var k = open; k < limit; k++)
        {
            var c = text[k];
            if (c == '\\')
            {
                k++;
                continue;
            }
            if (c == '{') depth++;
            else if (c == '}' && --depth == 0) return k;
        }
        return -1;
    }

    private static bool HasSeparator(string between)
    {
        if (between.Contains(',') || between.Contains(';')) return true;
        for (var k = 0; k < between.Length; k++)
            if (IsWordAt(between, k, "and") || IsWordAt(between, k, "or"))
                return true;
        return false;
    }

    private static (int, int) Trim(string text, int s, int e)
    {
        while (s < e && char.IsWhiteSpace(text[s])) s++;
        while (e > s && char.IsWhiteSpace(text[e - 1])) e--;
        return (s, e);
    }

    private static string StripMathDelimiters(string s)
    {
        var t = s.Trim();
        if (t.Length >= 4 && t.StartsWith("$$", StringComparison.Ordinal) && t.EndsWith("$$", StringComparison.Ordinal)) return t[2..^2].Trim();
        if (t.Length >= 2 && t[0] == '$' && t[^1] == '$') return t[1..^1].Trim();
        if (t.Length >= 4 && (t.StartsWith("\\(", StringComparison.Ordinal) && t.EndsWith("\\)", StringComparison.Ordinal) ||
                              t.StartsWith("\\[", StringComparison.Ordinal) && t.EndsWith("\\]", StringComparison.Ordinal)))
            return t[2..^2].Trim();
        return t;
    }
}
