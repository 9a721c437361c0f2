using System.Text;

namespace R1Sharp.Rewards.Verification;

internal enum TokenKind
{
    Number,
    /// <summary>A run of Latin letters as written; split into one-letter symbols before parsing.</summary>
    Word,
    /// <summary>An atomic multi-character name: a Greek letter, <c>\ell</c>.</summary>
    Symbol,
    Command,
    Text,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    Underscore,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    LSetBrace,
    RSetBrace,
    Bar,
    Norm,
    Comma,
    Semicolon,
    Colon,
    Dot,
    Rel,
    Approx,
    In,
    NotIn,
    Bang,
    Prime,
    Amp,
    RowSep,
    Percent,
    PlusMinus,
    MinusPlus,
    Cup,
    Cap,
    SetMinus,
    Infinity,
    EmptySet,
    NamedSet,
    LAngle,
    RAngle,
    LFloor,
    RFloor,
    LCeil,
    RCeil,
    BeginMatrix,
    EndMatrix,
    Ellipsis,
    Unknown,
}

internal readonly record struct Token(TokenKind Kind, string Text = "", bool SpaceBefore = false, RelOp Op = RelOp.Eq, bool Hint = false);

/// <summary>
/// Turns a LaTeX (or plain-text) answer into tokens in one linear pass, dropping the noise that never changes
/// an answer's value: math delimiters, <c>\left</c>/<c>\right</c>, spacing commands, <c>\displaystyle</c>,
/// font switches, degree marks, dollar signs. Unicode operators are mapped to their LaTeX meaning.
/// No regular expressions, so there is nothing to backtrack.
/// </summary>
internal static class LatexLexer
{
    private static readonly HashSet<string> Skip =
    [
        "left", "right", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr", "big", "Big", "bigg", "Bigg",
        "bigm", "Bigm", "middle", "displaystyle", "textstyle", "scriptstyle", "scriptscriptstyle", "limits", "nolimits",
        "quad", "qquad", "enspace", "thinspace", "medspace", "thickspace", "negthinspace", "negmedspace", "negthickspace",
        "hfill", "nonumber", "notag", "mathstrut", "strut", "allowbreak", "circ", "degree", "degrees", "cr", "relax",
        "rm", "bf", "it", "sf", "tt", "ensuremath", "mathop", "nobreak", "noindent", "centering", "space", "smallskip",
        "medskip", "bigskip", "newline", "linebreak", "tiny", "small", "large", "Large", "normalsize", "dollar",
        "leftarrow", "vphantom_", "bullet_",
    ];

    private static readonly HashSet<string> SkipWithArg =
    [
        "hspace", "vspace", "phantom", "hphantom", "vphantom", "label", "tag", "pmod", "color", "textcolor", "hskip",
        "kern", "mkern", "mspace", "hspace*", "vspace*",
    ];

    private static readonly HashSet<string> TextCommands =
    [
        "text", "textrm", "textnormal", "textbf", "textit", "textsf", "texttt", "textup", "textsl", "textsc", "mbox",
        "hbox", "emph", "textmd", "rm", "textstyle_",
    ];

    private static readonly HashSet<string> FontCommands =
    [
        "mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "mathscr", "mathfrak", "boldsymbol", "bm",
        "mathnormal", "pmb", "mathbfit", "bold",
    ];

    /// <summary>Commands the parser understands, passed through as <see cref="TokenKind.Command"/>.</summary>
    internal static readonly HashSet<string> Known =
    [
        "frac", "sqrt", "binom", "boxed", "pi", "choose",
        "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "arccot", "arcsec", "arccsc",
        "sinh", "cosh", "tanh", "coth", "sech", "csch", "arsinh", "arcosh", "artanh", "arcsinh", "arccosh", "arctanh",
        "ln", "log", "lg", "exp", "max", "min", "gcd", "lcm", "det", "sum", "prod",
        "hat", "bar", "overline", "underline", "vec", "tilde", "widehat", "widetilde", "overrightarrow", "overleftarrow",
        "overleftrightarrow", "dot", "ddot", "mathring", "check", "acute", "grave", "breve",
    ];

    private static readonly Dictionary<string, string> Greek = BuildGreek();

    /// <summary>The symbol names Greek letters and their kin lex to (<c>alpha</c>, <c>theta</c>): variables, not words.</summary>
    internal static readonly HashSet<string> GreekNames = new(Greek.Values, StringComparer.Ordinal);

    private static Dictionary<string, string> BuildGreek()
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var g in new[]
                 {
                     "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
                     "kappa", "lambda", "mu", "nu", "xi", "omicron", "rho", "varrho", "sigma", "varsigma", "tau", "upsilon",
                     "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Upsilon",
                     "Phi", "Psi", "Omega", "Pi", "ell", "varpi", "aleph", "hbar", "nabla", "partial", "angle", "triangle",
                     "square", "perp", "parallel", "star", "imath", "jmath",
                 })
            d[g] = g;
        d["varepsilon"] = "epsilon";
        d["vartheta"] = "theta";
        d["varphi"] = "phi";
        d["varrho"] = "rho";
        d["varsigma"] = "sigma";
        d["varpi"] = "pi_";
        d["ell"] = "l";
        d["imath"] = "i";
        d["jmath"] = "j";
        return d;
    }

    private static readonly HashSet<string> MatrixEnvs =
        ["matrix", "pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix", "smallmatrix", "array", "psmallmatrix", "bsmallmatrix"];

    /// <summary>Tokenises <paramref name="s"/>; returns null when the input is over the size cap.</summary>
    public static List<Token>? Lex(string s, Budget budget, int maxTokens = 4096)
    {
        var tokens = new List<Token>(System.Math.Min(s.Length, 256));
        var lexer = new State(s, tokens, budget, maxTokens);
        return lexer.Run() ? tokens : null;
    }

    private sealed class State(string s, List<Token> tokens, Budget budget, int maxTokens)
    {
        private int _i;
        private bool _space;
        private int _matrixDepth;

        private void Emit(TokenKind kind, string text = "", RelOp op = RelOp.Eq, bool hint = false)
        {
            tokens.Add(new Token(kind, text, _space, op, hint));
            _space = false;
        }

        private char Peek(int k = 0) => _i + k < s.Length ? s[_i + k] : '\0';

        public bool Run()
        {
            while (_i < s.Length)
            {
                budget.Tick();
                if (tokens.Count > maxTokens) return false;
                var c = s[_i];
                if (char.IsWhiteSpace(c) || c == '~')
                {
                    _space = true;
                    _i++;
                    continue;
                }
                if (c is >= '0' and <= '9' || (c == '.' && Peek(1) is >= '0' and <= '9'))
                {
                    LexNumber();
                    continue;
                }
                if (c is >= 'a' and <= 'z' or >= 'A' and <= 'Z')
                {
                    var start = _i;
                    while (_i < s.Length && s[_i] is >= 'a' and <= 'z' or >= 'A' and <= 'Z') _i++;
                    Emit(TokenKind.Word, s[start.._i]);
                    continue;
                }
                if (c == '\\')
                {
                    LexBackslash();
                    continue;
                }
                _i++;
                switch (c)
                {
                    case '+': Emit(TokenKind.Plus); break;
                    case '-':
                    case '\u2212':
                    case '\u2013':
                        Emit(TokenKind.Minus);
                        break;
                    case '*':
                    case '\u00d7':
                    case '\u00b7':
                    case '\u22c5':
                    case '\u2217':
                        Emit(TokenKind.Star);
                        break;
                    case '/':
                    case '\u00f7':
                        Emit(TokenKind.Slash);
                        break;
                    case '^':
                        if (!SkipDegreeAfterCaret()) Emit(TokenKind.Caret);
                        break;
                    case '_': Emit(TokenKind.Underscore); break;
                    case '(': Emit(TokenKind.LParen); break;
                    case ')': Emit(TokenKind.RParen); break;
                    case '[': Emit(TokenKind.LBracket); break;
                    case ']': Emit(TokenKind.RBracket); break;
                    case '{':
                        if (IsBracedComma(out var after))
                        {
                            // 14{,}916: LaTeX's thousands comma (also written "{ , }").
                            _i = after;
                            Emit(TokenKind.Comma, "{,}", hint: true);
                        }
                        else Emit(TokenKind.LBrace);
                        break;
                    case '}': Emit(TokenKind.RBrace); break;
                    case '|': Emit(TokenKind.Bar); break;
                    case '\u2016': Emit(TokenKind.Norm); break;
                    case ',': Emit(TokenKind.Comma); break;
                    case ';': Emit(TokenKind.Semicolon); break;
                    case ':':
                        if (Peek() == '=')
                        {
                            _i++;
                            Emit(TokenKind.Rel, op: RelOp.Eq); // a := 5
                        }
                        else Emit(TokenKind.Colon);
                        break;
                    case '.':
                        if (Peek() == '.' && Peek(1) == '.')
                        {
                            _i += 2;
                            Emit(TokenKind.Ellipsis);
                        }
                        else Emit(TokenKind.Dot);
                        break;
                    case '\u2026': Emit(TokenKind.Ellipsis); break;
                    case '=':
                        if (Peek() == '=') _i++;
                        if (Peek() == '<') { _i++; Emit(TokenKind.Rel, op: RelOp.Le); }
                        else if (Peek() == '>') { _i++; Emit(TokenKind.Rel, op: RelOp.Ge); }
                        else Emit(TokenKind.Rel, op: RelOp.Eq);
                        break;
                    case '<':
                        if (Peek() == '=') { _i++; Emit(TokenKind.Rel, op: RelOp.Le); }
                        else if (Peek() == '>') { _i++; Emit(TokenKind.Rel, op: RelOp.Ne); }
                        else Emit(TokenKind.Rel, op: RelOp.Lt);
                        break;
                    case '>':
                        if (Peek() == '=') { _i++; Emit(TokenKind.Rel, op: RelOp.Ge); }
                        else Emit(TokenKind.Rel, op: RelOp.Gt);
                        break;
                    case '\u2264': Emit(TokenKind.Rel, op: RelOp.Le); break;
                    case '\u2265': Emit(TokenKind.Rel, op: RelOp.Ge); break;
                    case '\u2260': Emit(TokenKind.Rel, op: RelOp.Ne); break;
                    case '\u2248': Emit(TokenKind.Approx); break;
                    case '\u2208': Emit(TokenKind.In); break;
                    case '\u2209': Emit(TokenKind.NotIn); break;
                    case '\u222a': Emit(TokenKind.Cup); break;
                    case '\u2229': Emit(TokenKind.Cap); break;
                    case '\u2205': Emit(TokenKind.EmptySet); break;
                    case '\u221e': Emit(TokenKind.Infinity); break;
                    case '\u03c0': Emit(TokenKind.Command, "pi"); break;
                    case '\u221a': Emit(TokenKind.Command, "sqrt"); break;
                    case '\u00b1': Emit(TokenKind.PlusMinus); break;
                    case '\u2213': Emit(TokenKind.MinusPlus); break;
                    case '!':
                        if (Peek() == '=') { _i++; Emit(TokenKind.Rel, op: RelOp.Ne); }
                        else Emit(TokenKind.Bang);
                        break;
                    case '\'':
                    case '\u2032':
                        Emit(TokenKind.Prime);
                        break;
                    case '&': Emit(TokenKind.Amp); break;
                    case '%': Emit(TokenKind.Percent); break;
                    case '\u00b2': Emit(TokenKind.Caret); Emit(TokenKind.Number, "2"); break;
                    case '\u00b3': Emit(TokenKind.Caret); Emit(TokenKind.Number, "3"); break;
                    case '\u00b0':
                    case '$':
                    case '"':
                    case '\u201c':
                    case '\u201d':
                    case '\u2019':
                    case '`':
                        break; // degree sign, math delimiters, quotes: no value
                    case '\u27e8': Emit(TokenKind.LAngle); break;
                    case '\u27e9': Emit(TokenKind.RAngle); break;
                    default:
                        Emit(TokenKind.Unknown, c.ToString());
                        break;
                }
            }
            return true;
        }

        private void LexNumber()
        {
            var sb = new StringBuilder();
            var intDigits = 0;
            while (_i < s.Length && char.IsAsciiDigit(s[_i]))
            {
                sb.Append(s[_i++]);
                intDigits++;
            }
            // "1 000 000": groups of exactly three digits after a space (only for a short leading group).
            if (intDigits is > 0 and <= 3)
            {
                while (Peek() == ' ' && IsDigitGroup(_i + 1))
                {
                    sb.Append(s, _i + 1, 3);
                    _i += 4;
                }
            }
            if (Peek() == '.' && char.IsAsciiDigit(Peek(1)))
            {
                sb.Append('.');
                _i++;
                while (_i < s.Length && char.IsAsciiDigit(s[_i])) sb.Append(s[_i++]);
            }
            // Scientific notation 1.5e-3 / 2E10 (the letter must be followed by a digit, optionally signed).
            if (Peek() is 'e' or 'E')
            {
                var k = 1;
                if (Peek(1) is '+' or '-') k = 2;
                if (char.IsAsciiDigit(Peek(k)) && !(Peek(k + 1) is >= 'a' and <= 'z'))
                {
                    sb.Append('e');
                    if (k == 2) sb.Append(Peek(1));
                    _i += k;
                    while (_i < s.Length && char.IsAsciiDigit(s[_i])) sb.Append(s[_i++]);
                }
            }
            Emit(TokenKind.Number, sb.ToString());
        }

        private bool IsBracedComma(out int after)
        {
            var j = _i;
            while (j < s.Length && s[j] == ' ') j++;
            if (j >= s.Length || s[j] != ',') { after = _i; return false; }
            j++;
            while (j < s.Length && s[j] == ' ') j++;
            if (j >= s.Length || s[j] != '}') { after = _i; return false; }
            after = j + 1;
            return true;
        }

        private bool IsDigitGroup(int at) =>
            at + 3 <= s.Length && char.IsAsciiDigit(s[at]) && char.IsAsciiDigit(s[at + 1]) && char.IsAsciiDigit(s[at + 2]) &&
            (at + 3 == s.Length || !char.IsAsciiDigit(s[at + 3]));

        /// <summary>After '^': swallow <c>\circ</c>, <c>{\circ}</c>, <c>{}</c>-wrapped degree marks.</summary>
        private bool SkipDegreeAfterCaret()
        {
            var j = _i;
            while (j < s.Length && s[j] == ' ') j++;
            var braced = j < s.Length && s[j] == '{';
            if (braced) j++;
            while (j < s.Length && s[j] == ' ') j++;
            if (string.CompareOrdinal(s, j, "\\circ", 0, 5) == 0 && !(j + 5 < s.Length && char.IsAsciiLetter(s[j + 5])))
            {
                j += 5;
            }
            else if (j < s.Length && s[j] == '\u00b0') j++;
            else return false;
            while (j < s.Length && s[j] == ' ') j++;
            if (braced)
            {
                if (j >= s.Length || s[j] != '}') return false;
                j++;
            }
            _i = j;
            return true;
        }

        private string ReadLetters()
        {
            var start = _i;
            while (_i < s.Length && char.IsAsciiLetter(s[_i])) _i++;
            if (_i < s.Length && s[_i] == '*' && _i > start) _i++; // \hspace*
            return s[start.._i];
        }

        /// <summary>Reads a balanced {…} argument (after optional spaces); null when there is none.</summary>
        private string? ReadBraced()
        {
            var j = _i;
            while (j < s.Length && char.IsWhiteSpace(s[j])) j++;
            if (j >= s.Length || s[j] != '{') return null;
            var depth = 0;
            var start = j + 1;
            for (; j < s.Length; j++)
            {
                budget.Tick();
                var c = s[j];
                if (c == '\\')
                {
                    j++;
                    continue;
                }
                if (c == '{') depth++;
                else if (c == '}' && --depth == 0)
                {
                    _i = j + 1;
                    return s[start..j];
                }
            }
            _i = s.Length;
            return s[start..];
        }

        private void LexBackslash()
        {
            var next = Peek(1);
            if (char.IsAsciiLetter(next))
            {
                _i++;
                LexCommand(ReadLetters());
                return;
            }
            _i += 2;
            switch (next)
            {
                case '\\':
                    if (_matrixDepth == 0 && char.IsAsciiLetter(Peek()))
                    {
                        // "\\frac" written with a doubled backslash (escaped JSON, Python raw strings).
                        LexCommand(ReadLetters());
                        return;
                    }
                    Emit(TokenKind.RowSep);
                    return;
                case '{': Emit(TokenKind.LSetBrace); return;
                case '}': Emit(TokenKind.RSetBrace); return;
                case '|': Emit(TokenKind.Norm); return;
                case '%': Emit(TokenKind.Percent); return;
                case ',':
                case ';':
                case ':':
                case '>':
                case ' ':
                case '\n':
                case '\t':
                    _space = true;
                    return;
                case '!':
                    // "10,\!000": a thin negative space inside a number keeps the comma a thousands separator.
                    if (tokens.Count > 0 && tokens[^1].Kind == TokenKind.Comma && !_space)
                        tokens[^1] = tokens[^1] with { Hint = true };
                    return;
                case '$':
                case '(':
                case ')':
                case '[':
                case ']':
                case '&':
                case '#':
                case '\'':
                case '"':
                case '/':
                    return; // math delimiters, escaped symbols without value
                case '\0':
                    return;
                default:
                    Emit(TokenKind.Unknown, "\\" + next);
                    return;
            }
        }

        private void LexCommand(string name)
        {
            budget.Tick();
            if (Skip.Contains(name))
            {
                if (name is "left" or "right" or "bigl" or "bigr" or "Bigl" or "Bigr" or "biggl" or "biggr" or "Biggl" or "Biggr"
                    or "big" or "Big" or "bigg" or "Bigg" or "middle")
                {
                    while (Peek() == ' ') _i++;
                    if (Peek() == '.') _i++; // \left. or \right.
                }
                return;
            }
            if (SkipWithArg.Contains(name))
            {
                if (name == "textcolor") ReadBraced();
                if (ReadBraced() is null && name is "kern" or "mkern" or "hskip")
                {
                    while (_i < s.Length && !char.IsWhiteSpace(s[_i]) && s[_i] != '\\') _i++;
                }
                return;
            }
            if (TextCommands.Contains(name))
            {
                var content = ReadBraced();
                if (content is null) return;
                EmitText(content);
                return;
            }
            if (FontCommands.Contains(name))
            {
                var save = _i;
                var content = ReadBraced();
                if (content is null) return;
                var trimmed = content.Trim();
                if (trimmed.Length > 1 && IsLettersAndSpaces(trimmed))
                {
                    EmitText(trimmed); // \mathrm{cm}, \mathrm{Evelyn}
                    return;
                }
                _i = save; // single letters and math: lex the argument in place ("\mathbf{v}" → v)
                return;
            }
            switch (name)
            {
                case "operatorname":
                {
                    var content = ReadBraced()?.Trim() ?? "";
                    if (content.Length > 0 && Known.Contains(content)) Emit(TokenKind.Command, content);
                    else if (content.Length > 0) Emit(TokenKind.Command, "op:" + content.ToLowerInvariant());
                    return;
                }
                case "mathbb":
                case "Bbb":
                case "mathbbm":
                {
                    var content = (ReadBraced() ?? (char.IsAsciiLetter(Peek()) ? s[_i++].ToString() : "")).Trim();
                    if (content is "R" or "Z" or "N" or "Q" or "C") Emit(TokenKind.NamedSet, content);
                    else if (content.Length > 0) Emit(TokenKind.Word, content);
                    return;
                }
                case "R" or "Z" or "N" or "Q" or "C" or "reals" or "Reals":
                    Emit(TokenKind.NamedSet, name.Length == 1 ? name : "R");
                    return;
                case "begin":
                case "end":
                {
                    var env = ReadBraced()?.Trim() ?? "";
                    if (MatrixEnvs.Contains(env))
                    {
                        if (name == "begin")
                        {
                            if (env == "array") ReadBraced(); // column spec
                            _matrixDepth++;
                            Emit(TokenKind.BeginMatrix, env);
                        }
                        else
                        {
                            _matrixDepth = System.Math.Max(0, _matrixDepth - 1);
                            Emit(TokenKind.EndMatrix, env);
                        }
                    }
                    return; // align, cases, equation…: the environment markers carry no value
                }
                case "dfrac" or "tfrac" or "cfrac" or "frac" or "nicefrac" or "sfrac":
                    Emit(TokenKind.Command, "frac");
                    return;
                case "dbinom" or "tbinom" or "binom":
                    Emit(TokenKind.Command, "binom");
                    return;
                case "fbox" or "boxed" or "framebox":
                    Emit(TokenKind.Command, "boxed");
                    return;
                case "cdot" or "times" or "ast" or "bullet" or "cdotp" or "centerdot":
                    Emit(TokenKind.Star);
                    return;
                case "div":
                    Emit(TokenKind.Slash);
                    return;
                case "pm": Emit(TokenKind.PlusMinus); return;
                case "mp": Emit(TokenKind.MinusPlus); return;
                case "le" or "leq" or "leqslant" or "leqq": Emit(TokenKind.Rel, op: RelOp.Le); return;
                case "ge" or "geq" or "geqslant" or "geqq": Emit(TokenKind.Rel, op: RelOp.Ge); return;
                case "ne" or "neq": Emit(TokenKind.Rel, op: RelOp.Ne); return;
                case "lt": Emit(TokenKind.Rel, op: RelOp.Lt); return;
                case "gt": Emit(TokenKind.Rel, op: RelOp.Gt); return;
                case "equiv" or "coloneqq" or "eqqcolon" or "doteq": Emit(TokenKind.Rel, op: RelOp.Eq); return;
                case "approx" or "simeq" or "thickapprox" or "approxeq" or "sim" or "cong":
                    Emit(TokenKind.Approx);
                    return;
                case "not":
                    while (Peek() == ' ') _i++;
                    if (Peek() == '=') { _i++; Emit(TokenKind.Rel, op: RelOp.Ne); return; }
                    if (string.CompareOrdinal(s, _i, "\\in", 0, 3) == 0 && !char.IsAsciiLetter(Peek(3)))
                    {
                        _i += 3;
                        Emit(TokenKind.NotIn);
                        return;
                    }
                    return;
                case "in" or "isin": Emit(TokenKind.In); return;
                case "notin": Emit(TokenKind.NotIn); return;
                case "cup" or "bigcup": Emit(TokenKind.Cup); return;
                case "cap" or "bigcap": Emit(TokenKind.Cap); return;
                case "setminus" or "backslash" or "smallsetminus": Emit(TokenKind.SetMinus); return;
                case "emptyset" or "varnothing" or "O_": Emit(TokenKind.EmptySet); return;
                case "infty" or "infin" or "infinity": Emit(TokenKind.Infinity); return;
                case "dots" or "ldots" or "cdots" or "vdots" or "ddots" or "dotsc" or "dotsb" or "dotsm" or "hdots":
                    Emit(TokenKind.Ellipsis);
                    return;
                case "langle": Emit(TokenKind.LAngle); return;
                case "rangle": Emit(TokenKind.RAngle); return;
                case "lfloor": Emit(TokenKind.LFloor); return;
                case "rfloor": Emit(TokenKind.RFloor); return;
                case "lceil": Emit(TokenKind.LCeil); return;
                case "rceil": Emit(TokenKind.RCeil); return;
                case "lbrace": Emit(TokenKind.LSetBrace); return;
                case "rbrace": Emit(TokenKind.RSetBrace); return;
                case "lbrack": Emit(TokenKind.LBracket); return;
                case "rbrack": Emit(TokenKind.RBracket); return;
                case "vert" or "lvert" or "rvert" or "mid": Emit(TokenKind.Bar); return;
                case "Vert" or "lVert" or "rVert": Emit(TokenKind.Norm); return;
                case "prime": Emit(TokenKind.Prime); return;
                case "colon" or "ratio": Emit(TokenKind.Colon); return;
                case "mod" or "bmod":
                    // "9 \mod 11" / "\pmod{11}": the modulus is context, not the answer.
                    while (_i < s.Length) _i++;
                    return;
            }
            if (Greek.TryGetValue(name, out var greek))
            {
                Emit(TokenKind.Symbol, greek);
                return;
            }
            if (Known.Contains(name))
            {
                Emit(TokenKind.Command, name);
                return;
            }
            // "\quadx", "\pix": an unknown run that starts with a known command.
            for (var k = name.Length - 1; k >= 2; k--)
            {
                var prefix = name[..k];
                if (Known.Contains(prefix) || Greek.ContainsKey(prefix) || Skip.Contains(prefix))
                {
                    _i -= name.Length - k;
                    LexCommand(prefix);
                    return;
                }
            }
            Emit(TokenKind.Unknown, "\\" + name);
        }

        private void EmitText(string content)
        {
            var t = content.Trim();
            if (t.Length == 0) return;
            var lower = t.ToLowerInvariant();
            if (lower is "and" or "or" or "," or ", and" or ",and" or "and," or ", or")
            {
                Emit(TokenKind.Comma);
                return;
            }
            if (lower is "%" or "percent" or "\\%")
            {
                Emit(TokenKind.Percent);
                return;
            }
            Emit(TokenKind.Text, t);
        }

        private static bool IsLettersAndSpaces(string t)
        {
            foreach (var c in t)
                if (!(char.IsAsciiLetter(c) || c == ' '))
                    return false;
            return true;
        }
    }
}
