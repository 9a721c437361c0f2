using System.Globalization;
using System.Text;

namespace R1Sharp.Text.Templates.Jinja;

internal enum TokenKind { Data, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, Eof }

internal readonly record struct Token(TokenKind Kind, string Text, object? Value, int Position)
{
    public bool IsName(string name) => Kind == TokenKind.Name && Text == name;
    public bool IsOp(string op) => Kind == TokenKind.Operator && Text == op;
}

/// <summary>
/// Splits a template into data and tag tokens with jinja2's whitespace rules as transformers configures them:
/// <list type="bullet">
/// <item>newlines are normalised to \n and one trailing newline is dropped (keep_trailing_newline=False);</item>
/// <item><c>{%-</c>/<c>{{-</c>/<c>{#-</c> strip all whitespace before the tag, <c>-%}</c>/<c>-}}</c>/<c>-#}</c> all after;</item>
/// <item>trim_blocks: the first newline after <c>%}</c> or <c>#}</c> is removed (not after <c>}}</c>; <c>+%}</c> keeps it);</item>
/// <item>lstrip_blocks: spaces/tabs between the start of a line and <c>{%</c> or <c>{#</c> are removed
///   (not before <c>{{</c>; <c>{%+</c> keeps them).</item>
/// </list>
/// </summary>
internal sealed class Lexer
{
    private readonly string _src;
    private readonly List<Token> _tokens = [];
    private readonly int[] _lineStarts;

    private Lexer(string source)
    {
        _src = Normalize(source);
        var starts = new List<int> { 0 };
        for (int i = 0; i < _src.Length; i++)
            if (_src[i] == '\n') starts.Add(i + 1);
        _lineStarts = [.. starts];
    }

    public string Source => _src;

    public static (List<Token> Tokens, Lexer Lexer) Tokenize(string source)
    {
        var lexer = new Lexer(source);
        lexer.Run();
        return (lexer._tokens, lexer);
    }

    public (int Line, int Column) Locate(int position)
    {
        int line = Array.BinarySearch(_lineStarts, position);
        if (line < 0) line = ~line - 1;
        return (line + 1, position - _lineStarts[line] + 1);
    }

    private TemplateSyntaxException Error(string message, int position)
    {
        var (l, c) = Locate(position);
        return new TemplateSyntaxException(message, l, c);
    }

    private static string Normalize(string source)
    {
        string s = source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        return s.EndsWith('\n') ? s[..^1] : s;
    }

    private void Run()
    {
        int pos = 0;
        bool lineStarting = true;
        while (pos < _src.Length)
        {
            int tag = FindTagStart(pos);
            if (tag < 0)
            {
                _tokens.Add(new(TokenKind.Data, _src[pos..], null, pos));
                break;
            }
            char kind = _src[tag + 1]; // '{', '%' or '#'
            int afterDelim = tag + 2;
            char sign = afterDelim < _src.Length && _src[afterDelim] is '-' or '+' ? _src[afterDelim] : '\0';
            string text = _src[pos..tag];
            if (sign == '-')
                text = PyStrings.Strip(text, null, false, true);
            else if (sign != '+' && kind != '{')
            {
                int lpos = text.LastIndexOf('\n') + 1;
                if ((lpos > 0 || lineStarting) && lpos < text.Length && AllSpace(text, lpos))
                    text = text[..lpos];
            }
            if (text.Length > 0) _tokens.Add(new(TokenKind.Data, text, null, pos));
            int inner = afterDelim + (sign != '\0' ? 1 : 0);
            if (kind == '#') pos = LexComment(tag, inner, out lineStarting);
            else if (kind == '%' && TryRaw(tag, inner, out int rawEnd, out lineStarting)) pos = rawEnd;
            else pos = LexTag(tag, inner, kind == '%', out lineStarting);
        }
        _tokens.Add(new(TokenKind.Eof, "", null, _src.Length));
    }

    private static bool AllSpace(string s, int from)
    {
        for (int i = from; i < s.Length; i++)
            if (!PyStrings.IsSpace(s[i])) return false;
        return true;
    }

    private int FindTagStart(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
            if (_src[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    /// <summary>Position after a closing delimiter, applying "-" (strip following whitespace) or trim_blocks.</summary>
    private int AfterClose(int closeStart, int delimLength, bool trimBlocks, out bool endsWithNewline)
    {
        char sign = _src[closeStart];
        int p = closeStart + delimLength;
        if (sign == '-')
        {
            p++;
            int q = p;
            while (p < _src.Length && PyStrings.IsSpace(_src[p])) p++;
            endsWithNewline = p > q && _src[p - 1] == '\n';
            return p;
        }
        if (sign == '+') p++;
        else if (trimBlocks && p < _src.Length && _src[p] == '\n')
        {
            endsWithNewline = true;
            return p + 1;
        }
        endsWithNewline = false;
        return p;
    }

    private int LexComment(int start, int inner, out bool lineStarting)
    {
        int end = _src.IndexOf("#}", inner, StringComparison.Ordinal);
        if (end < 0) throw Error("Missing end of comment tag", start);
        int close = end > inner && _src[end - 1] is '-' or '+' ? end - 1 : end;
        return AfterClose(close, close == end ? 2 : 2, trimBlocks: true, out lineStarting);
    }

    /// <summary><c>{% raw %}...{% endraw %}</c>: everything between is data.</summary>
    private bool TryRaw(int start, int inner, out int end, out bool lineStarting)
    {
        end = 0;
        lineStarting = false;
        int p = inner;
        while (p < _src.Length && PyStrings.IsSpace(_src[p])) p++;
        if (string.CompareOrdinal(_src, p, "raw", 0, 3) != 0) return false;
        p += 3;
        while (p < _src.Length && PyStrings.IsSpace(_src[p])) p++;
        int bodyStart;
        if (string.CompareOrdinal(_src, p, "-%}", 0, 3) == 0)
        {
            bodyStart = p + 3;
            while (bodyStart < _src.Length && PyStrings.IsSpace(_src[bodyStart])) bodyStart++;
        }
        else if (string.CompareOrdinal(_src, p, "%}", 0, 2) == 0) bodyStart = p + 2;
        else return false;

        for (int q = _src.IndexOf("{%", bodyStart, StringComparison.Ordinal); q >= 0; q = _src.IndexOf("{%", q + 1, StringComparison.Ordinal))
        {
            int r = q + 2;
            char sign = r < _src.Length && _src[r] is '-' or '+' ? _src[r] : '\0';
            if (sign != '\0') r++;
            while (r < _src.Length && PyStrings.IsSpace(_src[r])) r++;
            if (string.CompareOrdinal(_src, r, "endraw", 0, 6) != 0) continue;
            r += 6;
            while (r < _src.Length && PyStrings.IsSpace(_src[r])) r++;
            if (r < _src.Length && _src[r] is '-' or '+' && string.CompareOrdinal(_src, r + 1, "%}", 0, 2) == 0
                || string.CompareOrdinal(_src, r, "%}", 0, 2) == 0)
            {
                string body = _src[bodyStart..q];
                if (sign == '-') body = PyStrings.Strip(body, null, false, true);
                else if (sign != '+')
                {
                    int lpos = body.LastIndexOf('\n') + 1;
                    if (lpos > 0 && lpos < body.Length && AllSpace(body, lpos)) body = body[..lpos];
                }
                if (body.Length > 0) _tokens.Add(new(TokenKind.Data, body, null, bodyStart));
                end = AfterClose(r, 2, trimBlocks: true, out lineStarting);
                return true;
            }
        }
        throw Error("Missing end of raw directive", start);
    }

    private int LexTag(int start, int inner, bool block, out bool lineStarting)
    {
        _tokens.Add(new(block ? TokenKind.BlockBegin : TokenKind.VariableBegin, "", null, start));
        var balance = new Stack<char>();
        int p = inner;
        while (true)
        {
            if (p >= _src.Length)
                throw Error(block ? "unexpected end of template, expected '%}'" : "unexpected end of template, expected '}}'", start);
            char c = _src[p];
            if (balance.Count == 0)
            {
                int close = CloseAt(p, block);
                if (close >= 0)
                {
                    _tokens.Add(new(block ? TokenKind.BlockEnd : TokenKind.VariableEnd, "", null, p));
                    return AfterClose(p, 2, trimBlocks: block, out lineStarting);
                }
            }
            if (PyStrings.IsSpace(c)) { p++; continue; }
            if (char.IsAsciiDigit(c)) { p = LexNumber(p); continue; }
            if (c == '_' || char.IsLetter(c)) { p = LexName(p); continue; }
            if (c is '\'' or '"') { p = LexString(p); continue; }
            string? op = MatchOperator(p);
            if (op is null) throw Error($"unexpected char {PyFormat.Repr(c.ToString())} at {p}", p);
            switch (op)
            {
                case "(": balance.Push(')'); break;
                case "[": balance.Push(']'); break;
                case "{": balance.Push('}'); break;
                case ")" or "]" or "}":
                    if (balance.Count == 0) throw Error($"unexpected '{op}'", p);
                    char expected = balance.Pop();
                    if (expected != op[0]) throw Error($"unexpected '{op}', expected '{expected}'", p);
                    break;
            }
            _tokens.Add(new(TokenKind.Operator, op, null, p));
            p += op.Length;
        }
    }

    /// <summary>Whether a closing delimiter (with optional - or + sign) starts at p.</summary>
    private int CloseAt(int p, bool block)
    {
        string delim = block ? "%}" : "}}";
        if (string.CompareOrdinal(_src, p, delim, 0, 2) == 0) return p;
        if (_src[p] == '-' || (block && _src[p] == '+'))
            if (string.CompareOrdinal(_src, p + 1, delim, 0, 2) == 0) return p;
        return -1;
    }

    private static readonly string[] Operators =
        ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    private string? MatchOperator(int p)
    {
        foreach (string op in Operators)
            if (string.CompareOrdinal(_src, p, op, 0, op.Length) == 0) return op;
        return null;
    }

    private int LexName(int p)
    {
        int start = p;
        while (p < _src.Length && (_src[p] == '_' || char.IsLetterOrDigit(_src[p]))) p++;
        _tokens.Add(new(TokenKind.Name, _src[start..p], null, start));
        return p;
    }

    private int LexNumber(int p)
    {
        int start = p;
        // float: digits ( .digits )? e[+-]digits  |  digits .digits   (underscores between digits allowed)
        int q = Digits(p);
        bool isFloat = false;
        if (q < _src.Length && _src[q] == '.' && q + 1 < _src.Length && char.IsAsciiDigit(_src[q + 1]))
        {
            q = Digits(q + 1);
            isFloat = true;
        }
        if (q < _src.Length && _src[q] is 'e' or 'E')
        {
            int r = q + 1;
            if (r < _src.Length && _src[r] is '+' or '-') r++;
            if (r < _src.Length && char.IsAsciiDigit(_src[r]))
            {
                q = Digits(r);
                isFloat = true;
            }
        }
        bool afterDot = start > 0 && _src[start - 1] == '.';
        if (isFloat && !afterDot)
        {
            string text = _src[start..q].Replace("_", "", StringComparison.Ordinal);
            _tokens.Add(new(TokenKind.Float, text, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture), start));
            return q;
        }
        // integer: 0b/0o/0x prefixes, [1-9](_?\d)*, or 0(_?0)*
        if (_src[p] == '0' && p + 1 < _src.Length && _src[p + 1] is 'b' or 'B' or 'o' or 'O' or 'x' or 'X')
        {
            int radix = _src[p + 1] switch { 'b' or 'B' => 2, 'o' or 'O' => 8, _ => 16 };
            int r = p + 2;
            long value = 0;
            int digits = 0;
            while (r < _src.Length)
            {
                if (_src[r] == '_' && r + 1 < _src.Length && HexValue(_src[r + 1]) is int h0 && h0 < radix) { r++; continue; }
                if (HexValue(_src[r]) is not int h || h >= radix) break;
                value = checked(value * radix + h);
                digits++;
                r++;
            }
            if (digits > 0)
            {
                _tokens.Add(new(TokenKind.Integer, _src[start..r], value, start));
                return r;
            }
        }
        int end;
        if (_src[p] == '0')
        {
            end = p + 1;
            while (end + 1 < _src.Length && ((_src[end] == '_' && _src[end + 1] == '0') || _src[end] == '0'))
                end += _src[end] == '_' ? 2 : 1;
            if (end < _src.Length && _src[end] == '0') end++;
        }
        else end = Digits(p);
        string digitsText = _src[start..end].Replace("_", "", StringComparison.Ordinal);
        if (!long.TryParse(digitsText, NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            throw Error("integer literal too large (this interpreter's ints are 64-bit)", start);
        _tokens.Add(new(TokenKind.Integer, digitsText, n, start));
        return end;
    }

    private static int? HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => null,
    };

    private int Digits(int p)
    {
        while (p < _src.Length && (char.IsAsciiDigit(_src[p]) || (_src[p] == '_' && p + 1 < _src.Length && char.IsAsciiDigit(_src[p + 1]) && p > 0 && char.IsAsciiDigit(_src[p - 1]))))
            p++;
        return p;
    }

    private int LexString(int p)
    {
        char quote = _src[p];
        int start = p++;
        var sb = new StringBuilder();
        while (true)
        {
            if (p >= _src.Length) throw Error("unexpected end of string", start);
            char c = _src[p];
            if (c == quote) break;
            if (c == '\\')
            {
                if (p + 1 >= _src.Length) throw Error("unexpected end of string", start);
                p = Unescape(p, sb);
                continue;
            }
            sb.Append(c);
            p++;
        }
        _tokens.Add(new(TokenKind.String, _src[start..(p + 1)], sb.ToString(), start));
        return p + 1;
    }

    /// <summary>Python "unicode-escape" decoding of one backslash sequence starting at p; returns the next position.</summary>
    private int Unescape(int p, StringBuilder sb)
    {
        char e = _src[p + 1];
        switch (e)
        {
            case '\n': return p + 2;
            case '\\': sb.Append('\\'); return p + 2;
            case '\'': sb.Append('\''); return p + 2;
            case '"': sb.Append('"'); return p + 2;
            case 'a': sb.Append('\a'); return p + 2;
            case 'b': sb.Append('\b'); return p + 2;
            case 'f': sb.Append('\f'); return p + 2;
            case 'n': sb.Append('\n'); return p + 2;
            case 'r': sb.Append('\r'); return p + 2;
            case 't': sb.Append('\t'); return p + 2;
            case 'v': sb.Append('\v'); return p + 2;
            case 'x': return Hex(p, 2, sb);
            case 'u': return Hex(p, 4, sb);
            case 'U': return Hex(p, 8, sb);
            case 'N': throw Error("\\N{...} escapes are not supported", p);
        }
        if (e is >= '0' and <= '7')
        {
            int q = p + 1, value = 0;
            while (q < p + 4 && q < _src.Length && _src[q] is >= '0' and <= '7') value = value * 8 + (_src[q++] - '0');
            sb.Append((char)value);
            return q;
        }
        sb.Append('\\').Append(e);
        return p + 2;
    }

    private int Hex(int p, int count, StringBuilder sb)
    {
        int value = 0;
        for (int i = 0; i < count; i++)
        {
            int q = p + 2 + i;
            if (q >= _src.Length || HexValue(_src[q]) is not int h)
                throw Error($"truncated \\{_src[p + 1]}{new string('X', count)} escape", p);
            value = value * 16 + h;
        }
        if (value > 0x10FFFF) throw Error("illegal Unicode character", p);
        sb.Append(char.ConvertFromUtf32(value));
        return p + 2 + count;
    }
}
