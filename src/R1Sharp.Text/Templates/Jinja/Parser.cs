namespace R1Sharp.Text.Templates.Jinja;

/// <summary>
/// Recursive-descent parser for the Jinja subset chat templates use, following jinja2's grammar and operator
/// precedence (lowest first): <c>x if c else y</c>, <c>or</c>, <c>and</c>, <c>not</c>, comparisons and
/// <c>in</c>, <c>+ -</c>, <c>~</c>, <c>* / // %</c>, <c>**</c>, unary <c>- +</c>, then postfix
/// <c>.attr [key] (args)</c> and filters/tests (<c>|f</c>, <c>is t</c>) which bind tightest.
/// Filters and tests are resolved here, so an unknown one fails at parse time with its line and column.
/// </summary>
internal sealed class Parser
{
    private static readonly HashSet<string> Unsupported = ["extends", "block", "include", "import", "from", "autoescape"];

    private readonly List<Token> _tokens;
    private readonly Lexer _lexer;
    private int _pos;
    private int _loopDepth;
    private readonly Stack<HashSet<string>> _nameScopes = new();
    private readonly Stack<string> _tagStack = new();

    private Parser(List<Token> tokens, Lexer lexer)
    {
        _tokens = tokens;
        _lexer = lexer;
    }

    /// <summary>Parses a whole template; also says whether it has <c>{% generation %}</c> blocks.</summary>
    public static (List<Stmt> Body, bool HasGeneration) Parse(string source)
    {
        var (tokens, lexer) = Lexer.Tokenize(source);
        var parser = new Parser(tokens, lexer);
        var body = parser.SubParse(null);
        return (body, parser._sawGeneration);
    }

    private bool _sawGeneration;

    // ---------------------------------------------------------------- token stream

    private Token Current => _tokens[_pos];
    private Token Peek(int k = 1) => _tokens[Math.Min(_pos + k, _tokens.Count - 1)];
    private Token Next() => _tokens[_pos++];

    private (int Line, int Column) Where(Token t) => _lexer.Locate(t.Position);

    private TemplateSyntaxException Fail(string message, Token? at = null)
    {
        var (l, c) = Where(at ?? Current);
        return new TemplateSyntaxException(message, l, c);
    }

    private static string Describe(Token t) => t.Kind switch
    {
        TokenKind.Eof => "end of template",
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.VariableEnd => "end of print statement",
        TokenKind.BlockBegin => "begin of statement block",
        TokenKind.VariableBegin => "begin of print statement",
        TokenKind.Data => "template data",
        _ => t.Text,
    };

    private Token Expect(TokenKind kind, string? text = null)
    {
        var t = Current;
        if (t.Kind != kind || (text is not null && t.Text != text))
        {
            string want = text ?? kind switch
            {
                TokenKind.BlockEnd => "end of statement block",
                TokenKind.VariableEnd => "end of print statement",
                TokenKind.Name => "name",
                _ => kind.ToString(),
            };
            throw Fail($"expected token '{want}', got '{Describe(t)}'");
        }
        return Next();
    }

    private bool SkipOp(string op)
    {
        if (!Current.IsOp(op)) return false;
        _pos++;
        return true;
    }

    private bool SkipName(string name)
    {
        if (!Current.IsName(name)) return false;
        _pos++;
        return true;
    }

    // ---------------------------------------------------------------- statements

    /// <summary>Parses until one of <paramref name="endTags"/> (left as the current token) or the end.</summary>
    private List<Stmt> SubParse(string[]? endTags)
    {
        var body = new List<Stmt>();
        List<(string?, Expr?)>? output = null;
        int outLine = 0, outCol = 0;
        void Flush()
        {
            if (output is null) return;
            body.Add(new OutputStmt(output, outLine, outCol));
            output = null;
        }
        void Add(string? text, Expr? expr, Token at)
        {
            if (output is null) (outLine, outCol) = Where(at);
            (output ??= []).Add((text, expr));
        }

        while (Current.Kind != TokenKind.Eof)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Data:
                    Add(t.Text, null, t);
                    Next();
                    break;
                case TokenKind.VariableBegin:
                    Next();
                    Add(null, ParseTuple(withCondExpr: true), t);
                    Expect(TokenKind.VariableEnd);
                    break;
                case TokenKind.BlockBegin:
                    Flush();
                    Next();
                    if (endTags is not null && Current.Kind == TokenKind.Name && endTags.Contains(Current.Text))
                        return body;
                    body.Add(ParseStatement());
                    Expect(TokenKind.BlockEnd);
                    break;
                default:
                    throw Fail($"unexpected '{Describe(t)}'");
            }
        }
        Flush();
        if (endTags is not null)
        {
            string looking = string.Join(" or ", endTags.Select(e => $"'{e}'"));
            string inner = _tagStack.Count > 0 ? $" The innermost block that needs to be closed is '{_tagStack.Peek()}'." : "";
            throw Fail($"Unexpected end of template. Jinja was looking for the following tags: {looking}.{inner}");
        }
        return body;
    }

    /// <summary>Parses the body of a block statement up to one of the end tags and consumes that tag name.</summary>
    private List<Stmt> ParseBody(string[] endTags, bool dropNeedle)
    {
        SkipOp(":");
        Expect(TokenKind.BlockEnd);
        var body = SubParse(endTags);
        if (dropNeedle) Next();
        return body;
    }

    private Stmt ParseStatement()
    {
        var t = Current;
        if (t.Kind != TokenKind.Name) throw Fail("tag name expected");
        var (line, col) = Where(t);
        _tagStack.Push(t.Text);
        try
        {
            switch (t.Text)
            {
                case "if": return ParseIf(line, col);
                case "for": return ParseFor(line, col);
                case "set": return ParseSet(line, col);
                case "macro": return ParseMacro(line, col);
                case "call": return ParseCallBlock(line, col);
                case "filter": return ParseFilterBlock(line, col);
                case "with": return ParseWith(line, col);
                case "generation":
                    Next();
                    _sawGeneration = true;
                    return new GenerationStmt(ParseBody(["endgeneration"], true), line, col);
                case "print":
                {
                    Next();
                    var parts = new List<(string?, Expr?)>();
                    while (Current.Kind != TokenKind.BlockEnd)
                    {
                        if (parts.Count > 0) Expect(TokenKind.Operator, ",");
                        parts.Add((null, ParseExpression()));
                    }
                    return new OutputStmt(parts, line, col);
                }
                case "break":
                case "continue":
                    Next();
                    if (_loopDepth == 0) throw Fail($"'{t.Text}' outside of a loop", t);
                    return new LoopControlStmt(t.Text == "break" ? Flow.Break : Flow.Continue, line, col);
            }
            if (Unsupported.Contains(t.Text))
                throw Fail($"tag '{t.Text}' is not supported: a chat template must be self-contained (no inheritance, includes or imports)", t);
            throw Fail($"Encountered unknown tag '{t.Text}'.", t);
        }
        finally
        {
            _tagStack.Pop();
        }
    }

    private Stmt ParseIf(int line, int col)
    {
        Next();
        var branches = new List<(Expr, List<Stmt>)>();
        List<Stmt> otherwise = [];
        while (true)
        {
            var test = ParseTuple(withCondExpr: false);
            var body = ParseBody(["elif", "else", "endif"], false);
            branches.Add((test, body));
            var tag = Next();
            if (tag.Text == "elif") continue;
            if (tag.Text == "else") otherwise = ParseBody(["endif"], true);
            break;
        }
        return new IfStmt(branches, otherwise, line, col);
    }

    private Stmt ParseFor(int line, int col)
    {
        Next();
        var target = ParseAssignTarget(extraEnd: "in");
        Expect(TokenKind.Name, "in");
        var iter = ParseTuple(withCondExpr: false, extraEnd: "recursive");
        Expr? condition = null;
        if (SkipName("if")) condition = ParseExpression();
        if (Current.IsName("recursive")) throw Fail("recursive for loops are not supported");
        _loopDepth++;
        var body = ParseBody(["endfor", "else"], false);
        _loopDepth--;
        List<Stmt> otherwise = [];
        if (Next().Text == "else") otherwise = ParseBody(["endfor"], true);
        return new ForStmt(target, iter, condition, body, otherwise, line, col);
    }

    private Stmt ParseSet(int line, int col)
    {
        Next();
        var target = ParseAssignTarget(withNamespace: true);
        if (SkipOp("="))
            return new SetStmt(target, ParseTuple(withCondExpr: true), line, col);
        var filter = ParseFilter(null, startInline: false);
        var body = ParseBody(["endset"], true);
        return new SetBlockStmt(target, filter, body, line, col);
    }

    private (string[] Names, Expr?[] Defaults) ParseSignature()
    {
        Expect(TokenKind.Operator, "(");
        var names = new List<string>();
        var defaults = new List<Expr?>();
        while (!Current.IsOp(")"))
        {
            if (names.Count > 0) Expect(TokenKind.Operator, ",");
            names.Add(Expect(TokenKind.Name).Text);
            if (SkipOp("=")) defaults.Add(ParseExpression());
            else if (defaults.Any(d => d is not null)) throw Fail("non-default argument follows default argument");
            else defaults.Add(null);
        }
        Expect(TokenKind.Operator, ")");
        return ([.. names], [.. defaults]);
    }

    private Stmt ParseMacro(int line, int col)
    {
        Next();
        string name = Expect(TokenKind.Name).Text;
        var (names, defaults) = ParseSignature();
        var (body, used) = ParseScopedBody(["endmacro"]);
        return new MacroStmt(name, names, defaults, body, used.Contains("varargs"), used.Contains("kwargs"), used.Contains("caller"), line, col);
    }

    /// <summary>A macro-like body: loop controls do not cross it; records which names it reads.</summary>
    private (List<Stmt> Body, HashSet<string> Used) ParseScopedBody(string[] endTags)
    {
        int savedLoop = _loopDepth;
        _loopDepth = 0;
        var used = new HashSet<string>();
        _nameScopes.Push(used);
        try
        {
            return (ParseBody(endTags, true), used);
        }
        finally
        {
            _nameScopes.Pop();
            _loopDepth = savedLoop;
        }
    }

    private Stmt ParseCallBlock(int line, int col)
    {
        Next();
        string[] names = [];
        Expr?[] defaults = [];
        if (Current.IsOp("(")) (names, defaults) = ParseSignature();
        var call = ParseExpression() as CallExpr ?? throw Fail("expected call");
        var (body, used) = ParseScopedBody(["endcall"]);
        return new CallBlockStmt(call, names, defaults, body, used.Contains("varargs"), used.Contains("kwargs"), line, col);
    }

    private Stmt ParseFilterBlock(int line, int col)
    {
        Next();
        var filter = ParseFilter(null, startInline: true)!;
        var body = ParseBody(["endfilter"], true);
        return new FilterBlockStmt(filter, body, line, col);
    }

    private Stmt ParseWith(int line, int col)
    {
        Next();
        var bindings = new List<(Target, Expr)>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (bindings.Count > 0) Expect(TokenKind.Operator, ",");
            var target = ParseAssignTarget();
            Expect(TokenKind.Operator, "=");
            bindings.Add((target, ParseExpression()));
        }
        var body = ParseBody(["endwith"], true);
        return new WithStmt(bindings, body, line, col);
    }

    private Target ParseAssignTarget(string? extraEnd = null, bool withNamespace = false)
    {
        var items = new List<Target>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) Expect(TokenKind.Operator, ",");
            if (IsTupleEnd(extraEnd) || Current.IsOp("=")) break;
            items.Add(ParseTargetPrimary(withNamespace));
            if (Current.IsOp(",")) isTuple = true;
            else break;
        }
        if (items.Count == 0) throw Fail($"can't assign to {Describe(Current)}");
        return isTuple ? new TupleTarget([.. items]) : items[0];
    }

    private Target ParseTargetPrimary(bool withNamespace)
    {
        if (Current.IsOp("("))
        {
            Next();
            var inner = ParseAssignTarget();
            Expect(TokenKind.Operator, ")");
            return inner;
        }
        var name = Current;
        if (name.Kind != TokenKind.Name || name.Text is "true" or "false" or "none" or "True" or "False" or "None")
            throw Fail($"can't assign to '{Describe(name)}'");
        Next();
        if (withNamespace && Current.IsOp("."))
        {
            Next();
            return new NamespaceTarget(name.Text, Expect(TokenKind.Name).Text);
        }
        return new NameTarget(name.Text);
    }

    // ---------------------------------------------------------------- expressions

    private bool IsTupleEnd(string? extraEnd) =>
        Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd || Current.IsOp(")") ||
        (extraEnd is not null && Current.IsName(extraEnd));

    private Expr ParseTuple(bool withCondExpr = true, string? extraEnd = null, bool explicitParens = false)
    {
        var (line, col) = Where(Current);
        var items = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) Expect(TokenKind.Operator, ",");
            if (IsTupleEnd(extraEnd)) break;
            items.Add(withCondExpr ? ParseExpression() : ParseOr());
            if (Current.IsOp(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (items.Count > 0) return items[0];
            if (!explicitParens) throw Fail($"Expected an expression, got '{Describe(Current)}'");
        }
        return new TupleExpr([.. items], line, col);
    }

    private Expr ParseExpression() => ParseCondExpr();

    private Expr ParseCondExpr()
    {
        var (line, col) = Where(Current);
        var expr = ParseOr();
        while (SkipName("if"))
        {
            var test = ParseOr();
            Expr? otherwise = SkipName("else") ? ParseCondExpr() : null;
            expr = new CondExpr(test, expr, otherwise, line, col);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var (line, col) = Where(Current);
        var left = ParseAnd();
        while (SkipName("or")) left = new LogicExpr(false, left, ParseAnd(), line, col);
        return left;
    }

    private Expr ParseAnd()
    {
        var (line, col) = Where(Current);
        var left = ParseNot();
        while (SkipName("and")) left = new LogicExpr(true, left, ParseNot(), line, col);
        return left;
    }

    private Expr ParseNot()
    {
        if (Current.IsName("not"))
        {
            var (line, col) = Where(Next());
            return new UnaryExpr("not", ParseNot(), line, col);
        }
        return ParseCompare();
    }

    private static readonly HashSet<string> CompareOps = ["==", "!=", "<", "<=", ">", ">="];

    private Expr ParseCompare()
    {
        var (line, col) = Where(Current);
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && CompareOps.Contains(Current.Text))
            {
                string op = Next().Text;
                rest.Add((op, ParseMath1()));
            }
            else if (SkipName("in")) rest.Add(("in", ParseMath1()));
            else if (Current.IsName("not") && Peek().IsName("in"))
            {
                _pos += 2;
                rest.Add(("notin", ParseMath1()));
            }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first, [.. rest], line, col);
    }

    private Expr ParseMath1()
    {
        var (line, col) = Where(Current);
        var left = ParseConcat();
        while (Current.IsOp("+") || Current.IsOp("-"))
        {
            string op = Next().Text;
            left = new BinaryExpr(op, left, ParseConcat(), line, col);
        }
        return left;
    }

    private Expr ParseConcat()
    {
        var (line, col) = Where(Current);
        var parts = new List<Expr> { ParseMath2() };
        while (SkipOp("~")) parts.Add(ParseMath2());
        return parts.Count == 1 ? parts[0] : new ConcatExpr([.. parts], line, col);
    }

    private Expr ParseMath2()
    {
        var (line, col) = Where(Current);
        var left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Text is "*" or "/" or "//" or "%")
        {
            string op = Next().Text;
            left = new BinaryExpr(op, left, ParsePow(), line, col);
        }
        return left;
    }

    private Expr ParsePow()
    {
        var (line, col) = Where(Current);
        var left = ParseUnary(true);
        while (SkipOp("**")) left = new BinaryExpr("**", left, ParseUnary(true), line, col);
        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        var (line, col) = Where(Current);
        Expr node;
        if (SkipOp("-")) node = new UnaryExpr("-", ParseUnary(false), line, col);
        else if (SkipOp("+")) node = new UnaryExpr("+", ParseUnary(false), line, col);
        else node = ParsePrimary();
        node = ParsePostfix(node);
        if (withFilter) node = ParseFilterExpr(node);
        return node;
    }

    private Expr ParsePrimary()
    {
        var t = Current;
        var (line, col) = Where(t);
        switch (t.Kind)
        {
            case TokenKind.Name:
                Next();
                switch (t.Text)
                {
                    case "true" or "True": return new ConstExpr(true, line, col);
                    case "false" or "False": return new ConstExpr(false, line, col);
                    case "none" or "None": return new ConstExpr(null, line, col);
                }
                foreach (var scope in _nameScopes) scope.Add(t.Text);
                return new NameExpr(t.Text, line, col);
            case TokenKind.String:
            {
                Next();
                string s = (string)t.Value!;
                while (Current.Kind == TokenKind.String) s += (string)Next().Value!;
                return new ConstExpr(s, line, col);
            }
            case TokenKind.Integer:
            case TokenKind.Float:
                Next();
                return new ConstExpr(t.Value, line, col);
            case TokenKind.Operator when t.Text == "(":
            {
                Next();
                var inner = ParseTuple(explicitParens: true);
                Expect(TokenKind.Operator, ")");
                return inner;
            }
            case TokenKind.Operator when t.Text == "[":
            {
                Next();
                var items = new List<Expr>();
                while (!Current.IsOp("]"))
                {
                    if (items.Count > 0) Expect(TokenKind.Operator, ",");
                    if (Current.IsOp("]")) break;
                    items.Add(ParseExpression());
                }
                Expect(TokenKind.Operator, "]");
                return new ListExpr([.. items], line, col);
            }
            case TokenKind.Operator when t.Text == "{":
            {
                Next();
                var pairs = new List<(Expr, Expr)>();
                while (!Current.IsOp("}"))
                {
                    if (pairs.Count > 0) Expect(TokenKind.Operator, ",");
                    if (Current.IsOp("}")) break;
                    var key = ParseExpression();
                    Expect(TokenKind.Operator, ":");
                    pairs.Add((key, ParseExpression()));
                }
                Expect(TokenKind.Operator, "}");
                return new DictExpr([.. pairs], line, col);
            }
        }
        throw Fail($"unexpected '{Describe(t)}'");
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (Current.IsOp(".") || Current.IsOp("[")) node = ParseSubscript(node);
            else if (Current.IsOp("(")) node = ParseCall(node);
            else return node;
        }
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOp("|")) node = ParseFilter(node, startInline: false)!;
            else if (Current.IsName("is")) node = ParseTest(node);
            else if (Current.IsOp("(")) node = ParseCall(node);
            else return node;
        }
    }

    private Expr ParseSubscript(Expr node)
    {
        var t = Next();
        var (line, col) = Where(t);
        if (t.Text == ".")
        {
            var attr = Next();
            if (attr.Kind == TokenKind.Name) return new GetAttrExpr(node, attr.Text, line, col);
            if (attr.Kind != TokenKind.Integer) throw Fail("expected name or number", attr);
            var (al, ac) = Where(attr);
            return new GetItemExpr(node, new ConstExpr(attr.Value, al, ac), line, col);
        }
        var args = new List<Expr>();
        while (!Current.IsOp("]"))
        {
            if (args.Count > 0) Expect(TokenKind.Operator, ",");
            args.Add(ParseSubscribed());
        }
        Expect(TokenKind.Operator, "]");
        var key = args.Count == 1 ? args[0] : new TupleExpr([.. args], line, col);
        return new GetItemExpr(node, key, line, col);
    }

    private Expr ParseSubscribed()
    {
        var (line, col) = Where(Current);
        Expr? start = null;
        if (!Current.IsOp(":"))
        {
            var node = ParseExpression();
            if (!Current.IsOp(":")) return node;
            start = node;
        }
        Next(); // ':'
        Expr? stop = null, step = null;
        if (!Current.IsOp(":") && !Current.IsOp("]") && !Current.IsOp(",")) stop = ParseExpression();
        if (SkipOp(":") && !Current.IsOp("]") && !Current.IsOp(",")) step = ParseExpression();
        return new SliceExpr(start, stop, step, line, col);
    }

    private CallArgs ParseCallArgs()
    {
        var open = Expect(TokenKind.Operator, "(");
        var positional = new List<Expr>();
        var named = new List<(string, Expr)>();
        Expr? dynArgs = null, dynKwargs = null;
        bool requireComma = false;
        while (!Current.IsOp(")"))
        {
            if (requireComma)
            {
                Expect(TokenKind.Operator, ",");
                if (Current.IsOp(")")) break;
            }
            if (SkipOp("*"))
            {
                if (dynArgs is not null || dynKwargs is not null) throw Fail("invalid syntax for function call expression", open);
                dynArgs = ParseExpression();
            }
            else if (SkipOp("**"))
            {
                if (dynKwargs is not null) throw Fail("invalid syntax for function call expression", open);
                dynKwargs = ParseExpression();
            }
            else if (Current.Kind == TokenKind.Name && Peek().IsOp("="))
            {
                if (dynKwargs is not null) throw Fail("invalid syntax for function call expression", open);
                string key = Next().Text;
                Next();
                named.Add((key, ParseExpression()));
            }
            else
            {
                if (dynArgs is not null || dynKwargs is not null || named.Count > 0)
                    throw Fail("invalid syntax for function call expression", open);
                positional.Add(ParseExpression());
            }
            requireComma = true;
        }
        Expect(TokenKind.Operator, ")");
        return new CallArgs([.. positional], [.. named], dynArgs, dynKwargs);
    }

    private Expr ParseCall(Expr node)
    {
        var (line, col) = Where(Current);
        return new CallExpr(node, ParseCallArgs(), line, col);
    }

    private FilterExpr? ParseFilter(Expr? node, bool startInline)
    {
        FilterExpr? result = null;
        while (Current.IsOp("|") || startInline)
        {
            if (!startInline) Next();
            startInline = false;
            var nameTok = Expect(TokenKind.Name);
            string name = nameTok.Text;
            while (SkipOp(".")) name += "." + Expect(TokenKind.Name).Text;
            var fn = Filters.Get(name) ?? throw Fail($"No filter named '{name}'.", nameTok);
            var args = Current.IsOp("(") ? ParseCallArgs() : CallArgs.Empty;
            var (line, col) = Where(nameTok);
            result = new FilterExpr(node, name, fn, args, line, col);
            node = result;
        }
        return result;
    }

    private Expr ParseTest(Expr node)
    {
        var isTok = Next();
        bool negated = SkipName("not");
        var nameTok = Expect(TokenKind.Name);
        string name = nameTok.Text;
        while (SkipOp(".")) name += "." + Expect(TokenKind.Name).Text;
        var fn = Tests.Get(name) ?? throw Fail($"No test named '{name}'.", nameTok);
        CallArgs args;
        if (Current.IsOp("(")) args = ParseCallArgs();
        else if ((Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                  || Current.IsOp("(") || Current.IsOp("[") || Current.IsOp("{"))
                 && !Current.IsName("else") && !Current.IsName("or") && !Current.IsName("and"))
        {
            if (Current.IsName("is")) throw Fail("You cannot chain multiple tests with is");
            var arg = ParsePostfix(ParsePrimary());
            args = new CallArgs([arg], [], null, null);
        }
        else args = CallArgs.Empty;
        var (line, col) = Where(isTok);
        Expr test = new TestExpr(node, name, fn, args, line, col);
        return negated ? new UnaryExpr("not", test, line, col) : test;
    }
}
