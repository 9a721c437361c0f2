using System.Globalization;
using System.Numerics;
using System.Text;

namespace R1Sharp.Rewards.Verification;

/// <summary>
/// Recursive-descent parser from answer tokens to a <see cref="Node"/> tree. Precedence, loosest first:
/// element lists (<c>,</c> <c>;</c>), relations (chains such as <c>1 &lt; x \le 2</c>), set operations
/// (<c>\cup</c> <c>\cap</c> <c>\setminus</c>), <c>+ - \pm</c>, products (explicit <c>\cdot \times / \div :</c>
/// and implicit juxtaposition), unary signs, powers, postfix <c>! %</c>, atoms. LaTeX conventions kept:
/// <c>\frac12</c> and <c>\sqrt2</c> take one character, <c>\sin 2x</c> takes the product <c>2x</c>,
/// <c>\sin^2 x</c> is <c>(\sin x)^2</c>, <c>\sin^{-1}</c> is arcsin, <c>2\frac13</c> is a mixed number.
/// Returns null (never throws) on anything it cannot read.
/// </summary>
internal sealed class LatexParser
{
    private const int MaxDepth = 96;
    private const int MaxExpansions = 32;

    private readonly List<Token> _t;
    private readonly Budget _budget;
    private int _p;
    private int _depth;
    private int _absDepth;
    private int _normDepth;

    private LatexParser(List<Token> tokens, Budget budget)
    {
        _t = tokens;
        _budget = budget;
    }

    public static Node? Parse(List<Token> tokens, Budget budget)
    {
        if (tokens.Count == 0) return null;
        var parser = new LatexParser(tokens, budget);
        return parser.ParseAnswer();
    }

    private bool AtEnd => _p >= _t.Count;
    private Token Peek(int k = 0) => _p + k < _t.Count ? _t[_p + k] : new Token(TokenKind.Unknown, "<end>");
    private bool At(TokenKind kind) => _p < _t.Count && _t[_p].Kind == kind;
    private bool AtCommand(string name) => _p < _t.Count && _t[_p].Kind == TokenKind.Command && _t[_p].Text == name;

    // ───────────────────────── answer level ─────────────────────────

    private Node? ParseAnswer()
    {
        var groups = new List<List<Node>> { new() };
        while (!AtEnd)
        {
            _budget.Tick();
            var k = Peek().Kind;
            if (k == TokenKind.Comma)
            {
                _p++;
                continue;
            }
            if (k == TokenKind.Semicolon)
            {
                _p++;
                if (groups[^1].Count > 0) groups.Add([]);
                continue;
            }
            var element = ParseRelation();
            if (element is null) return null;
            groups[^1].Add(element);
            if (!AtEnd && Peek().Kind is not (TokenKind.Comma or TokenKind.Semicolon)) return null;
        }
        if (groups[^1].Count == 0) groups.RemoveAt(groups.Count - 1);
        if (groups.Count == 0) return null;

        if (groups.Count == 1)
        {
            var elements = groups[0];
            // "x = 1, 2, 3" and "(x, y) = (1, 2), (3, 4)": the variable names a list of values.
            if (elements.Count > 1 && elements[0] is { Kind: NodeKind.Relation, Ops.Length: 1 } first && first.Ops[0] == RelOp.Eq &&
                Equivalence.IsOnlySymbols(first.Args[0]) && elements.Skip(1).All(e => e.Kind != NodeKind.Relation))
            {
                var values = new List<Node> { first.Args[1] };
                values.AddRange(elements.Skip(1));
                return Node.Relation(first.Args[0], RelOp.Eq, Node.Set(ExpandAll(values)));
            }
            var expanded = ExpandAll(elements);
            return expanded.Length == 1 ? expanded[0] : Node.Set(expanded);
        }
        if (groups.All(g => g.Count == 1)) return Node.Set(ExpandAll(groups.Select(g => g[0]).ToList()));
        return Node.Set(groups.Select(g => g.Count == 1 ? g[0] : Node.Tuple(g.ToArray())).ToArray());
    }

    private Node[] ExpandAll(List<Node> elements)
    {
        var result = new List<Node>(elements.Count);
        foreach (var e in elements) result.AddRange(ExpandPlusMinus(e));
        return result.ToArray();
    }

    /// <summary>Expands every ± into both signs: <c>1 \pm \sqrt{19}</c> → {1 + √19, 1 − √19}.</summary>
    internal List<Node> ExpandPlusMinus(Node node)
    {
        _budget.Tick();
        if (!ContainsPlusMinus(node)) return [node];
        if (node.Kind == NodeKind.PlusMinus)
        {
            var result = new List<Node>();
            if (node.Args.Length == 1)
            {
                foreach (var b in ExpandPlusMinus(node.Args[0]))
                {
                    result.Add(Negate(b));
                    result.Add(b);
                }
                return Cap(result, node);
            }
            foreach (var a in ExpandPlusMinus(node.Args[0]))
            foreach (var b in ExpandPlusMinus(node.Args[1]))
            {
                result.Add(Node.Add(a, b));
                result.Add(Node.Add(a, Negate(b)));
                if (result.Count > MaxExpansions) return [node];
            }
            return result;
        }
        // Cartesian product over the children.
        var combos = new List<Node[]> { new Node[node.Args.Length] };
        for (var i = 0; i < node.Args.Length; i++)
        {
            var options = ExpandPlusMinus(node.Args[i]);
            var next = new List<Node[]>(combos.Count * options.Count);
            foreach (var combo in combos)
            foreach (var option in options)
            {
                var copy = (Node[])combo.Clone();
                copy[i] = option;
                next.Add(copy);
            }
            if (next.Count > MaxExpansions) return [node];
            combos = next;
        }
        return combos.Select(node.WithArgs).ToList();
    }

    private static List<Node> Cap(List<Node> result, Node original) => result.Count > MaxExpansions ? [original] : result;

    private static bool ContainsPlusMinus(Node node)
    {
        if (node.Kind == NodeKind.PlusMinus) return true;
        if (node.Kind is NodeKind.Tuple or NodeKind.Interval or NodeKind.Matrix) return false; // kept inside
        foreach (var a in node.Args)
            if (ContainsPlusMinus(a))
                return true;
        return false;
    }

    private static Node Negate(Node n) => n.Kind == NodeKind.Number ? Node.Number(n.Value.Negate(), n.IsFloat) : Node.Neg(n);

    // ───────────────────────── relations and sets ─────────────────────────

    private Node? ParseRelation()
    {
        if (++_depth > MaxDepth) return null;
        try
        {
            var first = ParseSetExpr();
            if (first is null) return null;
            List<Node>? operands = null;
            List<RelOp>? ops = null;
            while (!AtEnd)
            {
                _budget.Tick();
                var t = Peek();
                if (t.Kind is TokenKind.Rel or TokenKind.In or TokenKind.NotIn)
                {
                    _p++;
                    var rhs = ParseSetExpr();
                    if (rhs is null) return null;
                    if (t.Kind == TokenKind.NotIn) rhs = Node.SetOp(NodeKind.Complement, Node.NamedSet("R"), rhs);
                    operands ??= [first];
                    ops ??= [];
                    operands.Add(rhs);
                    ops.Add(t.Kind == TokenKind.Rel ? t.Op : RelOp.Eq);
                    continue;
                }
                if (t.Kind == TokenKind.Approx)
                {
                    _p++;
                    var rhs = ParseSetExpr();
                    if (rhs is null) return null;
                    // "x ≈ 11" means 11; "1/3 ≈ 0.33" and "x = 1/3 ≈ 0.33" keep what came before (Math-Verify).
                    if (operands is null && Equivalence.IsOnlySymbols(first)) first = rhs;
                    continue;
                }
                break;
            }
            return operands is null ? first : Node.Relation(operands.ToArray(), ops!.ToArray());
        }
        finally
        {
            _depth--;
        }
    }

    private Node? ParseSetExpr()
    {
        var left = ParseAdditive();
        if (left is null) return null;
        while (!AtEnd)
        {
            var kind = Peek().Kind switch
            {
                TokenKind.Cup => NodeKind.Union,
                TokenKind.Cap => NodeKind.Intersection,
                TokenKind.SetMinus => NodeKind.Complement,
                _ => (NodeKind?)null,
            };
            if (kind is null) break;
            _p++;
            var right = ParseAdditive();
            if (right is null) return null;
            left = Node.SetOp(kind.Value, left, right);
        }
        return left;
    }

    // ───────────────────────── arithmetic ─────────────────────────

    private Node? ParseAdditive()
    {
        var first = ParseTerm();
        if (first is null) return null;
        List<Node>? terms = null;
        while (!AtEnd)
        {
            _budget.Tick();
            var k = Peek().Kind;
            if (k is TokenKind.Plus or TokenKind.Minus)
            {
                _p++;
                var term = ParseTerm();
                if (term is null) return null;
                terms ??= [first];
                terms.Add(k == TokenKind.Plus ? term : Negate(term));
                continue;
            }
            if (k is TokenKind.PlusMinus or TokenKind.MinusPlus)
            {
                _p++;
                var term = ParseTerm();
                if (term is null) return null;
                var left = terms is null ? first : Node.Add(terms.ToArray());
                first = Node.PlusMinus(left, term);
                terms = null;
                continue;
            }
            break;
        }
        return terms is null ? first : Node.Add(terms.ToArray());
    }

    private Node? ParseTerm()
    {
        var left = ParseUnary();
        if (left is null) return null;
        while (!AtEnd)
        {
            _budget.Tick();
            var t = Peek();
            switch (t.Kind)
            {
                case TokenKind.Star:
                {
                    _p++;
                    var right = ParseUnary();
                    if (right is null) return null;
                    left = AppendProduct(left, right);
                    continue;
                }
                case TokenKind.Slash:
                case TokenKind.Colon:
                {
                    _p++;
                    var right = ParseUnary();
                    if (right is null) return null;
                    left = Node.Div(left, right);
                    continue;
                }
            }
            if (t.Kind == TokenKind.Command && t.Text == "choose")
            {
                _p++;
                var right = ParseUnary();
                if (right is null) return null;
                left = Node.Func("binom", left, right);
                continue;
            }
            if (!CanStartImplicitFactor(t)) break;
            var factor = ParsePower();
            if (factor is null) return null;
            // Mixed number: 2\frac{1}{3} = 7/3 (an integer followed by a fraction of positive integers).
            if (IsIntegerLiteral(left) && factor is { Kind: NodeKind.Div } d && IsPositiveIntegerLiteral(d.Args[0]) &&
                IsPositiveIntegerLiteral(d.Args[1]) && BigRational.TryDivide(d.Args[0].Value, d.Args[1].Value, out var frac))
            {
                var whole = left.Value;
                var value = whole.Sign < 0 ? Sum(whole, frac.Negate()) : Sum(whole, frac);
                if (value is { } v)
                {
                    left = Node.Number(v);
                    continue;
                }
            }
            left = AppendProduct(left, factor);
        }
        return left;
    }

    private static BigRational? Sum(BigRational a, BigRational b) => BigRational.TryAdd(a, b, out var r) ? r : null;

    private static bool IsIntegerLiteral(Node n) => n.Kind == NodeKind.Number && !n.IsFloat && n.Value.IsInteger;

    private static bool IsPositiveIntegerLiteral(Node n) => IsIntegerLiteral(n) && n.Value.Sign > 0;

    private static Node AppendProduct(Node left, Node right)
    {
        if (left.Kind == NodeKind.Mul)
        {
            var args = new Node[left.Args.Length + 1];
            left.Args.CopyTo(args, 0);
            args[^1] = right;
            return Node.Mul(args);
        }
        return Node.Mul(left, right);
    }

    private bool CanStartImplicitFactor(Token t) => t.Kind switch
    {
        TokenKind.Number or TokenKind.Word or TokenKind.Symbol or TokenKind.Text or TokenKind.LParen or TokenKind.LBrace
            or TokenKind.LAngle or TokenKind.LFloor or TokenKind.LCeil or TokenKind.Infinity or TokenKind.BeginMatrix => true,
        TokenKind.Command => t.Text != "choose",
        TokenKind.Bar => _absDepth == 0,
        TokenKind.Norm => _normDepth == 0,
        _ => false,
    };

    private Node? ParseUnary()
    {
        if (++_depth > MaxDepth) return null;
        try
        {
            var k = Peek().Kind;
            switch (k)
            {
                case TokenKind.Minus:
                {
                    _p++;
                    var x = ParseUnary();
                    return x is null ? null : Negate(x);
                }
                case TokenKind.Plus:
                    _p++;
                    return ParseUnary();
                case TokenKind.PlusMinus:
                case TokenKind.MinusPlus:
                {
                    _p++;
                    var x = ParseUnary();
                    return x is null ? null : Node.PlusMinus(null, x);
                }
                default:
                    return ParsePower();
            }
        }
        finally
        {
            _depth--;
        }
    }

    private Node? ParsePower()
    {
        var b = ParsePostfix();
        if (b is null) return null;
        while (At(TokenKind.Caret))
        {
            _budget.Tick();
            _p++;
            var e = ParseExponent();
            if (e is null) return null;
            b = Node.Pow(b, e);
            b = ParsePostfixOps(b);
        }
        return b;
    }

    private Node? ParseExponent()
    {
        if (++_depth > MaxDepth) return null;
        try
        {
            var t = Peek();
            switch (t.Kind)
            {
                case TokenKind.LBrace:
                    return ParseBraceGroup(allowSet: false);
                case TokenKind.Minus:
                {
                    _p++;
                    var e = ParseExponent();
                    return e is null ? null : Negate(e);
                }
                case TokenKind.Plus:
                    _p++;
                    return ParseExponent();
                case TokenKind.Number:
                    _p++;
                    return MakeNumber(t.Text);
                case TokenKind.Word:
                    _p++;
                    return Node.Sym(t.Text.ToLowerInvariant());
                default:
                    return ParseAtom();
            }
        }
        finally
        {
            _depth--;
        }
    }

    private Node? ParsePostfix()
    {
        var a = ParseAtom();
        return a is null ? null : ParsePostfixOps(a);
    }

    private Node ParsePostfixOps(Node a)
    {
        while (!AtEnd)
        {
            var k = Peek().Kind;
            if (k == TokenKind.Bang)
            {
                _p++;
                a = Node.Func("fact", a);
            }
            else if (k == TokenKind.Percent)
            {
                _p++;
                a = Node.Percent(a);
            }
            else if (k == TokenKind.Prime)
            {
                _p++;
                if (a.Kind == NodeKind.Symbol) a = Node.Sym(a.Name + "'");
            }
            else break;
        }
        return a;
    }

    // ───────────────────────── atoms ─────────────────────────

    private Node? ParseAtom()
    {
        if (++_depth > MaxDepth || AtEnd) return null;
        try
        {
            _budget.Tick();
            var t = Peek();
            switch (t.Kind)
            {
                case TokenKind.Number:
                {
                    _p++;
                    var n = ParseNumberTail(t.Text);
                    if (n is null) return null;
                    if (At(TokenKind.Underscore))
                    {
                        // 204_5: Math-Verify reads a base subscript as the digits themselves.
                        _p++;
                        if (ReadSubscriptText() is null) return null;
                    }
                    return n;
                }
                case TokenKind.Word:
                {
                    _p++;
                    var name = t.Text.ToLowerInvariant();
                    return WithSubscript(name);
                }
                case TokenKind.Symbol:
                    _p++;
                    return WithSubscript(t.Text);
                case TokenKind.Text:
                {
                    _p++;
                    var name = NormalizeText(t.Text);
                    return name.Length == 0 ? null : Node.Sym(name);
                }
                case TokenKind.LParen:
                case TokenKind.LBracket:
                    return ParseBracketed();
                case TokenKind.LBrace:
                    return ParseBraceGroup(allowSet: true);
                case TokenKind.LSetBrace:
                    return ParseSetLiteral();
                case TokenKind.LAngle:
                {
                    _p++;
                    var items = ParseList(TokenKind.RAngle);
                    return items is null ? null : items.Count == 1 ? items[0] : Node.Tuple(items.ToArray());
                }
                case TokenKind.Bar:
                {
                    _p++;
                    _absDepth++;
                    var inner = ParseRelation();
                    _absDepth--;
                    if (inner is null || !At(TokenKind.Bar)) return null;
                    _p++;
                    return Node.Func("abs", inner);
                }
                case TokenKind.Norm:
                {
                    _p++;
                    _normDepth++;
                    var inner = ParseRelation();
                    _normDepth--;
                    if (inner is null || !At(TokenKind.Norm)) return null;
                    _p++;
                    return Node.Func("abs", inner);
                }
                case TokenKind.LFloor:
                case TokenKind.LCeil:
                {
                    _p++;
                    var inner = ParseRelation();
                    var close = t.Kind == TokenKind.LFloor ? TokenKind.RFloor : TokenKind.RCeil;
                    if (inner is null || !At(close)) return null;
                    _p++;
                    return Node.Func(t.Kind == TokenKind.LFloor ? "floor" : "ceil", inner);
                }
                case TokenKind.Infinity:
                    _p++;
                    return Node.InfinityNode;
                case TokenKind.EmptySet:
                    _p++;
                    return Node.Empty;
                case TokenKind.NamedSet:
                    _p++;
                    return Node.NamedSet(t.Text);
                case TokenKind.BeginMatrix:
                    return ParseMatrix();
                case TokenKind.Ellipsis:
                    _p++;
                    return Node.Sym("...");
                case TokenKind.Command:
                    return ParseCommand(t.Text);
                default:
                    return null;
            }
        }
        finally
        {
            _depth--;
        }
    }

    /// <summary>Lower-case, without spaces or parentheses: <c>\text{(C)}</c> and <c>C</c> name the same choice.</summary>
    internal static string NormalizeText(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || c is '(' or ')' or '\\' or '{' or '}' or '$' or '~') continue;
            sb.Append(char.ToLowerInvariant(c));
        }
        while (sb.Length > 0 && sb[^1] is '.' or ',' or ':' or ';') sb.Length--;
        return sb.ToString();
    }

    private Node WithSubscript(string name)
    {
        if (!At(TokenKind.Underscore)) return Node.Sym(name);
        _p++;
        var sub = ReadSubscriptText();
        return sub is null ? Node.Sym(name) : Node.Sym(name + "_" + sub);
    }

    /// <summary>Reads a subscript (one token or a braced group) as canonical text: a_{37}, F_{n-k-1}.</summary>
    private string? ReadSubscriptText()
    {
        if (AtEnd) return null;
        var t = Peek();
        if (t.Kind != TokenKind.LBrace)
        {
            _p++;
            return TokenText(t);
        }
        _p++;
        var sb = new StringBuilder();
        var depth = 1;
        while (!AtEnd)
        {
            _budget.Tick();
            var u = _t[_p++];
            if (u.Kind == TokenKind.LBrace) depth++;
            else if (u.Kind == TokenKind.RBrace && --depth == 0) return sb.ToString();
            sb.Append(TokenText(u));
        }
        return null;
    }

    private static string TokenText(Token t) => t.Kind switch
    {
        TokenKind.Word => t.Text.ToLowerInvariant(),
        TokenKind.Plus => "+",
        TokenKind.Minus => "-",
        TokenKind.Star => "*",
        TokenKind.Slash => "/",
        TokenKind.Comma => ",",
        TokenKind.Caret => "^",
        TokenKind.LParen => "(",
        TokenKind.RParen => ")",
        TokenKind.Rel => "=",
        _ => t.Text,
    };

    private Node? ParseNumberTail(string text)
    {
        var n = MakeNumber(text);
        if (n is null) return null;
        // Repeating decimals: 0.\overline{3} = 1/3, 0.1\overline{6} = 1/6.
        var dotThenBar = At(TokenKind.Dot) && Peek(1) is { Kind: TokenKind.Command, Text: "overline" };
        if ((dotThenBar || (AtCommand("overline") && text.Contains('.'))) && !text.Contains('e'))
        {
            var save = _p;
            if (dotThenBar) _p++;
            _p++;
            var digits = ReadDigitsArgument();
            if (digits is not null && MakeRepeating(text, digits) is { } repeating) return repeating;
            _p = save;
        }
        return n;
    }

    private string? ReadDigitsArgument()
    {
        if (At(TokenKind.Number) && IsDigits(Peek().Text)) return _t[_p++].Text;
        if (!At(TokenKind.LBrace) || Peek(1).Kind != TokenKind.Number || Peek(2).Kind != TokenKind.RBrace) return null;
        var d = Peek(1).Text;
        if (!IsDigits(d)) return null;
        _p += 3;
        return d;
    }

    private static bool IsDigits(string s) => s.Length > 0 && s.All(char.IsAsciiDigit);

    private static Node? MakeRepeating(string prefix, string repeat)
    {
        var dot = prefix.IndexOf('.');
        var intPart = dot < 0 ? prefix : prefix[..dot];
        var nonRep = dot < 0 ? "" : prefix[(dot + 1)..];
        if (repeat.Length > 50 || nonRep.Length > 50) return null;
        var i = BigInteger.Parse(intPart.Length == 0 ? "0" : intPart, CultureInfo.InvariantCulture);
        var a = nonRep.Length == 0 ? BigInteger.Zero : BigInteger.Parse(nonRep, CultureInfo.InvariantCulture);
        var r = BigInteger.Parse(repeat, CultureInfo.InvariantCulture);
        var nines = BigInteger.Pow(10, repeat.Length) - 1;
        var scale = BigInteger.Pow(10, nonRep.Length);
        var frac = BigRational.Create(a * nines + r, scale * nines);
        return BigRational.TryAdd(new BigRational(i), frac, out var v) ? Node.Number(v) : null;
    }

    /// <summary>Parses "12", "3.25", ".5", "1.5e-3" exactly; decimals are flagged as floats (Math-Verify's Float).</summary>
    internal static Node? MakeNumber(string text)
    {
        var e = text.IndexOf('e');
        var mantissa = e < 0 ? text : text[..e];
        var exponent = 0;
        if (e >= 0 && !int.TryParse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent))
            return null;
        if (System.Math.Abs(exponent) > 400) return null;
        var dot = mantissa.IndexOf('.');
        var digits = dot < 0 ? mantissa : mantissa[..dot] + mantissa[(dot + 1)..];
        if (digits.Length == 0 || digits.Length > 2000) return null;
        var value = BigInteger.Parse(digits, CultureInfo.InvariantCulture);
        var scale = (dot < 0 ? 0 : mantissa.Length - dot - 1) - exponent;
        var r = scale >= 0
            ? BigRational.Create(value, BigInteger.Pow(10, scale))
            : BigRational.Create(value * BigInteger.Pow(10, -scale), BigInteger.One);
        return Node.Number(r, isFloat: dot >= 0 || e >= 0);
    }

    private Node? ParseBracketed()
    {
        var open = Peek().Kind;
        _p++;
        var items = new List<Node>();
        TokenKind close;
        while (true)
        {
            _budget.Tick();
            if (AtEnd) return null;
            var item = ParseRelation();
            if (item is null) return null;
            items.Add(item);
            var k = Peek().Kind;
            if (k is TokenKind.Comma or TokenKind.Semicolon)
            {
                _p++;
                continue;
            }
            if (k is TokenKind.RParen or TokenKind.RBracket)
            {
                close = k;
                _p++;
                break;
            }
            return null;
        }
        if (items.Count == 1) return items[0];
        var leftOpen = open == TokenKind.LParen;
        var rightOpen = close == TokenKind.RParen;
        if (items.Count == 2 && !items.Any(i => i.IsRelation || i.IsSetLike || i.Kind == NodeKind.Matrix))
        {
            // Math-Verify: an "interval" whose bounds are reversed is an ordered pair, e.g. (3, 1).
            var lo = Evaluator.TryConstant(items[0], _budget);
            var hi = Evaluator.TryConstant(items[1], _budget);
            if (lo is { IsValid: true, IsReal: true } a && hi is { IsValid: true, IsReal: true } b)
            {
                var cmp = Compare(a, b);
                if ((leftOpen && rightOpen && cmp >= 0) || (!leftOpen && !rightOpen && cmp > 0)) return Node.Tuple(items.ToArray());
            }
            return Node.Interval(items[0], items[1], leftOpen, rightOpen);
        }
        return Node.Tuple(items.ToArray());
    }

    private static int Compare(Num a, Num b)
    {
        if (a.IsExact && b.IsExact) return a.Exact.CompareTo(b.Exact);
        return a.RealValue.CompareTo(b.RealValue);
    }

    private List<Node>? ParseList(TokenKind close)
    {
        var items = new List<Node>();
        while (true)
        {
            _budget.Tick();
            if (AtEnd) return null;
            if (At(close))
            {
                _p++;
                return items;
            }
            if (At(TokenKind.Comma) || At(TokenKind.Semicolon))
            {
                _p++;
                continue;
            }
            var item = ParseRelation();
            if (item is null) return null;
            items.Add(item);
            if (!(At(close) || At(TokenKind.Comma) || At(TokenKind.Semicolon))) return null;
        }
    }

    private Node? ParseBraceGroup(bool allowSet)
    {
        _p++;
        var items = ParseList(TokenKind.RBrace);
        if (items is null) return null;
        if (items.Count == 0) return Node.Empty;
        if (items.Count == 1) return items[0];
        return allowSet ? Node.Set(ExpandAll(items)) : null;
    }

    private Node? ParseSetLiteral()
    {
        _p++;
        var items = ParseList(TokenKind.RSetBrace);
        if (items is null) return null;
        return Node.Set(ExpandAll(items));
    }

    private Node? ParseMatrix()
    {
        var env = Peek().Text;
        _p++;
        var rows = new List<List<Node>>();
        var row = new List<Node>();
        while (true)
        {
            _budget.Tick();
            if (AtEnd) return null;
            var k = Peek().Kind;
            if (k == TokenKind.EndMatrix)
            {
                _p++;
                if (row.Count > 0) rows.Add(row);
                break;
            }
            if (k == TokenKind.RowSep)
            {
                _p++;
                if (row.Count > 0) rows.Add(row);
                row = [];
                continue;
            }
            var cell = ParseRelation();
            if (cell is null) return null;
            row.Add(cell);
            if (At(TokenKind.Amp)) _p++;
            else if (!(At(TokenKind.RowSep) || At(TokenKind.EndMatrix))) return null;
        }
        if (rows.Count == 0) return null;
        var cols = rows[0].Count;
        if (rows.Any(r => r.Count != cols)) return null;
        var matrix = Node.Matrix(rows.Count, cols, rows.SelectMany(r => r).ToArray());
        return env is "vmatrix" ? Node.Func("det", matrix) : matrix;
    }

    // ───────────────────────── commands ─────────────────────────

    private static readonly HashSet<string> Functions =
    [
        "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "arccot", "arcsec", "arccsc",
        "sinh", "cosh", "tanh", "coth", "sech", "csch", "arsinh", "arcosh", "artanh", "arcsinh", "arccosh", "arctanh",
        "ln", "log", "lg", "exp", "max", "min", "gcd", "lcm", "det",
    ];

    private static readonly HashSet<string> Accents =
    [
        "hat", "bar", "overline", "underline", "vec", "tilde", "widehat", "widetilde", "overrightarrow", "overleftarrow",
        "overleftrightarrow", "dot", "ddot", "mathring", "check", "acute", "grave", "breve",
    ];

    private Node? ParseCommand(string name)
    {
        switch (name)
        {
            case "frac":
            {
                _p++;
                var a = ParseMacroArgument();
                if (a is null) return null;
                var b = ParseMacroArgument();
                return b is null ? null : Node.Div(a, b);
            }
            case "binom":
            {
                _p++;
                var a = ParseMacroArgument();
                if (a is null) return null;
                var b = ParseMacroArgument();
                return b is null ? null : Node.Func("binom", a, b);
            }
            case "sqrt":
            {
                _p++;
                Node? index = null;
                if (At(TokenKind.LBracket))
                {
                    _p++;
                    index = ParseRelation();
                    if (index is null || !At(TokenKind.RBracket)) return null;
                    _p++;
                }
                var arg = At(TokenKind.LParen) ? ParseBracketed() : ParseMacroArgument();
                if (arg is null) return null;
                return index is null ? Node.Func("sqrt", arg) : Node.Func("root", arg, index);
            }
            case "boxed":
                _p++;
                return At(TokenKind.LBrace) ? ParseBraceGroup(allowSet: true) : ParseMacroArgument();
            case "pi":
                _p++;
                return Node.PiNode;
            case "sum":
            case "prod":
                return ParseBigOperator(name);
        }
        if (Functions.Contains(name)) return ParseFunction(name);
        if (Accents.Contains(name))
        {
            _p++;
            string? text;
            if (At(TokenKind.LBrace)) text = ReadSubscriptText();
            else text = AtEnd ? null : TokenText(_t[_p++]);
            return text is null ? null : Node.Sym(name is "overline" or "bar" ? $"bar({text})" : $"{name}({text})");
        }
        if (name.StartsWith("op:", StringComparison.Ordinal))
        {
            _p++;
            var fname = name[3..];
            if (At(TokenKind.LParen))
            {
                _p++;
                var args = ParseList(TokenKind.RParen);
                return args is null || args.Count == 0 ? null : Node.Func("op:" + fname, args.ToArray());
            }
            return Node.Sym(fname);
        }
        return null;
    }

    /// <summary>One TeX argument: a braced group or a single token (<c>\frac12</c>, <c>\frac ab</c>, <c>\sqrt2</c>).</summary>
    private Node? ParseMacroArgument()
    {
        if (AtEnd) return null;
        var t = Peek();
        switch (t.Kind)
        {
            case TokenKind.LBrace:
                return ParseBraceGroup(allowSet: false);
            case TokenKind.Number:
                if (t.Text.Length > 1 && char.IsAsciiDigit(t.Text[0]) && char.IsAsciiDigit(t.Text[1]))
                {
                    _t[_p] = t with { Text = t.Text[1..], SpaceBefore = false };
                    return Node.Integer(t.Text[0] - '0');
                }
                _p++;
                return MakeNumber(t.Text);
            case TokenKind.Word:
                _p++;
                return Node.Sym(t.Text.ToLowerInvariant());
            case TokenKind.Symbol:
                _p++;
                return Node.Sym(t.Text);
            default:
                return ParseAtom();
        }
    }

    private Node? ParseFunction(string name)
    {
        _p++;
        Node? power = null;
        Node? sub = null;
        for (var i = 0; i < 2; i++)
        {
            if (At(TokenKind.Caret))
            {
                _p++;
                power = ParseExponent();
                if (power is null) return null;
            }
            else if (At(TokenKind.Underscore))
            {
                _p++;
                sub = ParseMacroArgument();
                if (sub is null) return null;
            }
        }
        List<Node>? args;
        if (At(TokenKind.LParen))
        {
            _p++;
            args = ParseList(TokenKind.RParen);
        }
        else if (At(TokenKind.LBrace))
        {
            var g = ParseBraceGroup(allowSet: false);
            args = g is null ? null : [g];
        }
        else
        {
            var a = ParseFunctionArgumentWithoutParens();
            args = a is null ? null : [a];
        }
        if (args is null || args.Count == 0) return null;
        var multi = name is "max" or "min" or "gcd" or "lcm";
        if (!multi && args.Count != 1)
        {
            if (name is "log" && args.Count == 2) return Node.Func("log", args[0], args[1]);
            return null;
        }
        if (power is { Kind: NodeKind.Number } p && p.Value.Equals(BigRational.FromInt(-1)) &&
            name is "sin" or "cos" or "tan" or "cot" or "sec" or "csc" or "sinh" or "cosh" or "tanh")
        {
            name = "a" + name;
            power = null;
        }
        name = name switch
        {
            "arcsin" or "arccos" or "arctan" or "arccot" or "arcsec" or "arccsc" => "a" + name[3..],
            "arsinh" or "arcosh" or "artanh" => "a" + name[2..],
            "arcsinh" or "arccosh" or "arctanh" => "a" + name[3..],
            _ => name,
        };
        Node f = name switch
        {
            "log" => Node.Func("log", args[0], sub ?? Node.Integer(10)),
            "lg" => Node.Func("log", args[0], Node.Integer(10)),
            "exp" => Node.Pow(Node.Sym("e"), args[0]),
            _ => Node.Func(name, args.ToArray()),
        };
        return power is null ? f : Node.Pow(f, power);
    }

    private Node? ParseFunctionArgumentWithoutParens()
    {
        if (At(TokenKind.Minus))
        {
            _p++;
            var x = ParseFunctionArgumentWithoutParens();
            return x is null ? null : Negate(x);
        }
        var first = ParsePower();
        if (first is null) return null;
        List<Node>? factors = null;
        while (!AtEnd)
        {
            _budget.Tick();
            var t = Peek();
            if (!CanStartImplicitFactor(t) || t.Kind is TokenKind.LParen or TokenKind.Text ||
                (t.Kind == TokenKind.Command && (Functions.Contains(t.Text) || t.Text is "sum" or "prod")))
                break;
            var f = ParsePower();
            if (f is null) return null;
            factors ??= [first];
            factors.Add(f);
        }
        return factors is null ? first : Node.Mul(factors.ToArray());
    }

    private Node? ParseBigOperator(string name)
    {
        _p++;
        Node? lower = null;
        Node? upper = null;
        for (var i = 0; i < 2; i++)
        {
            if (At(TokenKind.Underscore))
            {
                _p++;
                lower = ParseMacroArgument();
                if (lower is null) return null;
            }
            else if (At(TokenKind.Caret))
            {
                _p++;
                upper = ParseExponent();
                if (upper is null) return null;
            }
        }
        if (lower is not { Kind: NodeKind.Relation, Args.Length: 2 } rel || rel.Args[0].Kind != NodeKind.Symbol || upper is null)
            return null;
        var body = ParseTerm();
        if (body is null) return null;
        return Node.Func(name, body, rel.Args[0], rel.Args[1], upper);
    }
}
