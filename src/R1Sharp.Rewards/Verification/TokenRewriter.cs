namespace R1Sharp.Rewards.Verification;

/// <summary>
/// Token-level clean-up between lexing and parsing: words with a meaning (<c>and</c>, <c>or</c>, <c>percent</c>,
/// <c>infinity</c>, bare <c>sin</c>), units after an answer (<c>cm</c>, <c>\text{ dollars}</c>, <c>inches^2</c>),
/// thousands separators, and trailing punctuation.
/// </summary>
internal static class TokenRewriter
{
    /// <summary>Unit and counting words dropped after a value (our own list; Math-Verify keeps a similar one).</summary>
    private static readonly HashSet<string> Units = new(StringComparer.OrdinalIgnoreCase)
    {
        "cm", "mm", "km", "m", "meter", "meters", "metre", "metres", "centimeter", "centimeters", "centimetre", "centimetres",
        "millimeter", "millimeters", "kilometer", "kilometers", "kilometre", "kilometres", "inch", "inches", "ft", "foot",
        "feet", "yd", "yard", "yards", "mi", "mile", "miles", "mph", "kph", "kmh", "kg", "g", "gram", "grams", "mg", "kilogram",
        "kilograms", "lb", "lbs", "pound", "pounds", "oz", "ounce", "ounces", "ton", "tons", "tonne", "tonnes", "liter", "liters",
        "litre", "litres", "ml", "milliliter", "milliliters", "gal", "gallon", "gallons", "cup", "cups", "quart", "quarts",
        "pint", "pints", "s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "hr", "hrs", "hour",
        "hours", "day", "days", "week", "weeks", "month", "months", "year", "years", "yr", "yrs", "dollar", "dollars",
        "cent", "cents", "usd", "euro", "euros", "yuan", "rupee", "rupees", "rs", "degree", "degrees", "deg", "radian",
        "radians", "unit", "units", "sq", "square", "squared", "cubic", "cu", "per", "each", "point", "points", "st", "nd",
        "rd", "th", "am", "pm", "p", "mathrm",
    };

    internal static bool IsUnitWord(string word) => Units.Contains(word);

    /// <summary>Single-letter units only count when written apart from a number: "5 m", "3 s".</summary>
    private static readonly HashSet<string> OneLetterUnits = new(StringComparer.Ordinal) { "m", "s", "g", "p" };

    private static readonly HashSet<string> FunctionWords = new(StringComparer.Ordinal)
    {
        "sin", "cos", "tan", "cot", "sec", "csc", "ln", "log", "exp", "sqrt", "arcsin", "arccos", "arctan", "sinh",
        "cosh", "tanh", "max", "min", "gcd", "lcm",
    };

    /// <summary>Rewrites the tokens in place-ish; <paramref name="decimalComma"/> reads "1,5" as 1.5.</summary>
    public static List<Token> Rewrite(List<Token> input, bool decimalComma)
    {
        var tokens = new List<Token>(input.Count);
        var inMatrix = 0;
        for (var i = 0; i < input.Count; i++)
        {
            var t = input[i];
            switch (t.Kind)
            {
                case TokenKind.BeginMatrix: inMatrix++; break;
                case TokenKind.EndMatrix: inMatrix = System.Math.Max(0, inMatrix - 1); break;
                case TokenKind.RowSep or TokenKind.Amp when inMatrix == 0:
                    continue; // align-style "&=" and line breaks outside a matrix
                case TokenKind.Word:
                    t = RewriteWord(t, i + 1 < input.Count ? input[i + 1] : default);
                    break;
            }
            tokens.Add(t);
        }
        TrimTrailingPunctuation(tokens);
        tokens = StripUnits(tokens);
        TrimTrailingPunctuation(tokens);
        MergeThousands(tokens, decimalComma);
        return SplitWords(tokens);
    }

    private static Token RewriteWord(Token t, Token next)
    {
        var w = t.Text;
        var lower = w.ToLowerInvariant();
        switch (lower)
        {
            case "and" or "or": return t with { Kind = TokenKind.Comma };
            case "infinity" or "inf" or "infty": return t with { Kind = TokenKind.Infinity };
            case "pi": return t with { Kind = TokenKind.Command, Text = "pi" };
            case "percent" or "pct" or "percentage" or "percents": return t with { Kind = TokenKind.Percent };
        }
        if (FunctionWords.Contains(lower) && lower == w)
        {
            // Bare "sin x", "sqrt(2)", "log(8)"; "min" only as a function when called.
            if (lower is "min" or "sec" or "max" && next.Kind != TokenKind.LParen) return t;
            return t with { Kind = TokenKind.Command, Text = lower };
        }
        return t;
    }

    private static void TrimTrailingPunctuation(List<Token> tokens)
    {
        while (tokens.Count > 0 && tokens[^1].Kind is TokenKind.Dot or TokenKind.Comma or TokenKind.Semicolon or TokenKind.Colon)
            tokens.RemoveAt(tokens.Count - 1);
        while (tokens.Count > 0 && tokens[0].Kind is TokenKind.Comma or TokenKind.Semicolon or TokenKind.Colon)
            tokens.RemoveAt(0);
    }

    /// <summary>Drops units at the end of every top-level element ("5 cm, 10 cm" → "5, 10").</summary>
    private static List<Token> StripUnits(List<Token> tokens)
    {
        var result = new List<Token>(tokens.Count);
        var segStart = 0;
        for (var i = 0; i <= tokens.Count; i++)
        {
            var atEnd = i == tokens.Count;
            if (!atEnd)
            {
                var k = tokens[i].Kind;
                // Element boundaries at any depth: "{35 cm, 4}" and "(5 cm, 10 cm)" lose their units too.
                if (!(k is TokenKind.Comma or TokenKind.Semicolon or TokenKind.Rel or TokenKind.RSetBrace or TokenKind.RParen
                        or TokenKind.RBracket or TokenKind.Amp or TokenKind.RowSep || (k == TokenKind.RBrace && IsSetBrace(tokens, i))))
                    continue;
            }
            var segment = tokens.GetRange(segStart, i - segStart);
            StripSegment(segment);
            result.AddRange(segment);
            if (!atEnd) result.Add(tokens[i]);
            segStart = i + 1;
        }
        return result;
    }

    /// <summary>Whether the "}" at <paramref name="close"/> closes a "{…, …}" list (a set) rather than a TeX group.</summary>
    private static bool IsSetBrace(List<Token> tokens, int close)
    {
        var depth = 0;
        for (var k = close - 1; k >= 0; k--)
        {
            var kind = tokens[k].Kind;
            if (kind == TokenKind.RBrace) depth++;
            else if (kind == TokenKind.LBrace)
            {
                if (depth == 0) return k == 0 || tokens[k - 1].Kind is TokenKind.Comma or TokenKind.Rel or TokenKind.LParen;
                depth--;
            }
            else if (kind == TokenKind.Comma && depth == 0) return true;
        }
        return false;
    }

    private static void StripSegment(List<Token> seg)
    {
        for (var round = 0; round < 4 && seg.Count > 1; round++)
        {
            var n = seg.Count;
            // Optional trailing power on the unit: cm^2, \text{ cm}^2, inches^{3}.
            var powLen = 0;
            if (n >= 3 && seg[n - 2].Kind == TokenKind.Caret && seg[n - 1].Kind == TokenKind.Number) powLen = 2;
            else if (n >= 5 && seg[n - 4].Kind == TokenKind.Caret && seg[n - 3].Kind == TokenKind.LBrace &&
                     seg[n - 2].Kind == TokenKind.Number && seg[n - 1].Kind == TokenKind.RBrace) powLen = 4;
            var u = n - 1 - powLen;
            if (u < 1) return;
            var unit = seg[u];
            var unitLen = 1;
            // \mathrm{cm} lexes as "{", "cm", "}" is avoided by the lexer; a braced word "{cm}" still counts.
            if (unit.Kind == TokenKind.RBrace && u >= 2 && seg[u - 1].Kind is TokenKind.Word or TokenKind.Text && seg[u - 2].Kind == TokenKind.LBrace)
            {
                unit = seg[u - 1];
                unitLen = 3;
            }
            var before = u - unitLen; // index of the token before the unit
            if (before < 0) return;
            var prev = seg[before];
            // \mathrm{m}, \mathrm{g}: an upright one-letter unit right after a value.
            var braced = unitLen == 3 && unit.Kind == TokenKind.Word && OneLetterUnits.Contains(unit.Text) &&
                         prev.Kind is TokenKind.Number or TokenKind.RBrace or TokenKind.RParen;
            if (!braced && !IsUnitToken(unit, prev, powLen > 0)) return;
            seg.RemoveRange(before + 1, seg.Count - before - 1);
        }
    }

    private static bool IsUnitToken(Token unit, Token prev, bool hasPower)
    {
        var valueBefore = prev.Kind is TokenKind.Number or TokenKind.RBrace or TokenKind.RParen or TokenKind.Percent or TokenKind.Symbol
            or TokenKind.Infinity || (prev.Kind == TokenKind.Command && prev.Text == "pi");
        switch (unit.Kind)
        {
            case TokenKind.Text:
                // Math-Verify drops any trailing \text{…} after a value; we require a value before it.
                return valueBefore || prev.Kind is TokenKind.Word or TokenKind.Text;
            case TokenKind.Word:
            {
                var w = unit.Text;
                if (w.Length == 1)
                    return OneLetterUnits.Contains(w) && unit.SpaceBefore && prev.Kind == TokenKind.Number;
                if (Units.Contains(w)) return valueBefore || prev.Kind is TokenKind.Word or TokenKind.Text;
                // Any other written-out noun after a number: "18 apples", "3 ways".
                return w.Length >= 3 && unit.SpaceBefore && (prev.Kind is TokenKind.Number or TokenKind.RBrace || hasPower);
            }
            default:
                return false;
        }
    }

    private static bool IsPlainInteger(Token t) => t.Kind == TokenKind.Number && IsAllDigits(t.Text);

    private static bool IsAllDigits(string s)
    {
        if (s.Length == 0) return false;
        foreach (var c in s)
            if (!char.IsAsciiDigit(c))
                return false;
        return true;
    }

    private static bool IsThreeDigitGroup(Token t, bool last)
    {
        if (t.Kind != TokenKind.Number) return false;
        var s = t.Text;
        var dot = s.IndexOf('.');
        var intPart = dot < 0 ? s : s[..dot];
        if (intPart.Length != 3 || !IsAllDigits(intPart)) return false;
        return dot < 0 || (last && IsAllDigits(s[(dot + 1)..]));
    }

    /// <summary>
    /// "1,234,567" is one number only when it is the whole answer (as in Math-Verify: "1, 2" stays a list);
    /// "14{,}916" and "10,\!080" are numbers anywhere. With <paramref name="decimalComma"/> "2,5" is 2.5.
    /// </summary>
    private static void MergeThousands(List<Token> tokens, bool decimalComma)
    {
        // Unambiguous separators first.
        for (var i = 1; i + 1 < tokens.Count; i++)
        {
            if (tokens[i].Kind == TokenKind.Comma && tokens[i].Hint && IsPlainInteger(tokens[i - 1]) &&
                IsThreeDigitGroup(tokens[i + 1], true) && !(i >= 2 && tokens[i - 2].Kind == TokenKind.Comma && !tokens[i - 2].Hint))
            {
                tokens[i - 1] = tokens[i - 1] with { Text = tokens[i - 1].Text + tokens[i + 1].Text };
                tokens.RemoveRange(i, 2);
                i--;
            }
        }
        var start = tokens.Count > 0 && tokens[0].Kind == TokenKind.Minus ? 1 : 0;
        if (tokens.Count - start >= 3 && tokens[start].Kind == TokenKind.Number && (tokens.Count - start) % 2 == 1)
        {
            var first = tokens[start];
            if (decimalComma)
            {
                if (tokens.Count - start == 3 && IsPlainInteger(first) && tokens[start + 1].Kind == TokenKind.Comma &&
                    IsPlainInteger(tokens[start + 2]) && !tokens[start + 2].SpaceBefore)
                {
                    tokens[start] = first with { Text = first.Text + "." + tokens[start + 2].Text };
                    tokens.RemoveRange(start + 1, 2);
                }
                return;
            }
            if (!IsPlainInteger(first) || first.Text.Length > 3 || first.Text[0] == '0') return;
            for (var i = start + 1; i < tokens.Count; i += 2)
            {
                if (tokens[i].Kind != TokenKind.Comma) return;
                var group = tokens[i + 1];
                if (!IsThreeDigitGroup(group, i + 2 == tokens.Count)) return;
                if (group.SpaceBefore && !tokens[i].Hint) return;
            }
            var text = first.Text;
            for (var i = start + 2; i < tokens.Count; i += 2) text += tokens[i].Text;
            tokens[start] = first with { Text = text };
            tokens.RemoveRange(start + 1, tokens.Count - start - 1);
        }
    }

    /// <summary>Splits remaining letter runs into one-letter symbols (implicit multiplication, as in LaTeX).</summary>
    private static List<Token> SplitWords(List<Token> tokens)
    {
        List<Token>? result = null;
        for (var i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (t.Kind == TokenKind.Word && t.Text.Length > 1)
            {
                result ??= tokens.GetRange(0, i);
                for (var k = 0; k < t.Text.Length; k++)
                    result.Add(new Token(TokenKind.Word, t.Text[k].ToString(), k == 0 && t.SpaceBefore, Hint: true));
                continue;
            }
            result?.Add(t);
        }
        return result ?? tokens;
    }

    /// <summary>True when the whole answer is "d+,d+" with a group that cannot be thousands (a decimal comma).</summary>
    public static bool LooksLikeDecimalComma(List<Token> tokens)
    {
        var start = tokens.Count > 0 && tokens[0].Kind == TokenKind.Minus ? 1 : 0;
        if (tokens.Count - start != 3) return false;
        var a = tokens[start];
        var b = tokens[start + 2];
        if (!IsPlainInteger(a) || tokens[start + 1].Kind != TokenKind.Comma || !IsPlainInteger(b) || b.SpaceBefore) return false;
        return b.Text.Length != 3 || a.Text == "0";
    }
}
