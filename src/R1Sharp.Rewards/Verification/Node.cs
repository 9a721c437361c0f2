using System.Text;

namespace R1Sharp.Rewards.Verification;

internal enum NodeKind
{
    Number,
    Symbol,
    Pi,
    Infinity,
    Add,
    Mul,
    Div,
    Pow,
    Neg,
    Func,
    Percent,
    PlusMinus,
    Relation,
    FiniteSet,
    Tuple,
    Interval,
    Union,
    Intersection,
    Complement,
    NamedSet,
    EmptySet,
    Matrix,
}

internal enum RelOp { Eq, Ne, Lt, Le, Gt, Ge }

/// <summary>
/// An immutable node of a parsed answer. One class with a kind tag (rather than a type per node) keeps the
/// comparison code a set of small switch statements. Products keep the order in which they were written
/// (needed to read <c>odd</c> back as a word); canonical ordering happens only in <see cref="Key"/>.
/// </summary>
internal sealed class Node
{
    public readonly NodeKind Kind;
    public readonly Node[] Args;
    public readonly BigRational Value;
    /// <summary>Number written with a decimal point or exponent (Math-Verify's Float): compared after rounding.</summary>
    public readonly bool IsFloat;
    public readonly string Name;
    public readonly RelOp[] Ops;
    public readonly bool LeftOpen;
    public readonly bool RightOpen;
    public readonly int Rows;
    public readonly int Cols;

    private string? _key;
    internal object? ConstCache;

    private static readonly Node[] NoArgs = [];
    private static readonly RelOp[] NoOps = [];

    private Node(NodeKind kind, Node[]? args = null, BigRational value = default, bool isFloat = false, string? name = null,
        RelOp[]? ops = null, bool leftOpen = false, bool rightOpen = false, int rows = 0, int cols = 0)
    {
        Kind = kind;
        Args = args ?? NoArgs;
        Value = value;
        IsFloat = isFloat;
        Name = name ?? "";
        Ops = ops ?? NoOps;
        LeftOpen = leftOpen;
        RightOpen = rightOpen;
        Rows = rows;
        Cols = cols;
    }

    public static readonly Node PiNode = new(NodeKind.Pi);
    public static readonly Node InfinityNode = new(NodeKind.Infinity);
    public static readonly Node Empty = new(NodeKind.EmptySet);
    public static readonly Node MinusOne = Number(BigRational.FromInt(-1));
    public static readonly Node Half = Number(BigRational.Create(1, 2));

    public static Node Number(BigRational value, bool isFloat = false) => new(NodeKind.Number, value: value, isFloat: isFloat);
    public static Node Integer(long value) => Number(BigRational.FromInt(value));
    public static Node Sym(string name) => new(NodeKind.Symbol, name: name);
    public static Node Add(params Node[] args) => new(NodeKind.Add, args);
    public static Node Mul(params Node[] args) => new(NodeKind.Mul, args);
    public static Node Div(Node a, Node b) => new(NodeKind.Div, [a, b]);
    public static Node Pow(Node a, Node b) => new(NodeKind.Pow, [a, b]);
    public static Node Neg(Node a) => new(NodeKind.Neg, [a]);
    public static Node Func(string name, params Node[] args) => new(NodeKind.Func, args, name: name);
    public static Node Percent(Node a) => new(NodeKind.Percent, [a]);
    /// <summary>a ± b; <paramref name="a"/> null for a unary ±b.</summary>
    public static Node PlusMinus(Node? a, Node b) => a is null ? new(NodeKind.PlusMinus, [b]) : new(NodeKind.PlusMinus, [a, b]);
    public static Node Relation(Node[] operands, RelOp[] ops) => new(NodeKind.Relation, operands, ops: ops);
    public static Node Relation(Node lhs, RelOp op, Node rhs) => new(NodeKind.Relation, [lhs, rhs], ops: [op]);
    public static Node Set(Node[] elements) => elements.Length == 0 ? Empty : new(NodeKind.FiniteSet, elements);
    public static Node Tuple(Node[] elements) => new(NodeKind.Tuple, elements);
    public static Node Interval(Node lo, Node hi, bool leftOpen, bool rightOpen) =>
        new(NodeKind.Interval, [lo, hi], leftOpen: leftOpen, rightOpen: rightOpen);
    public static Node SetOp(NodeKind kind, Node a, Node b) => new(kind, [a, b]);
    public static Node NamedSet(string name) => new(NodeKind.NamedSet, name: name);
    public static Node Matrix(int rows, int cols, Node[] cells) => new(NodeKind.Matrix, cells, rows: rows, cols: cols);

    /// <summary>The same node with new children (used by ± expansion and substitution).</summary>
    public Node WithArgs(Node[] args) =>
        new(Kind, args, Value, IsFloat, Name, Ops, LeftOpen, RightOpen, Rows, Cols);

    public bool IsNumber => Kind == NodeKind.Number;
    public bool IsRelation => Kind == NodeKind.Relation;
    public bool IsOpenPair => Kind == NodeKind.Interval && LeftOpen && RightOpen;

    public bool IsSetLike => Kind is NodeKind.FiniteSet or NodeKind.Tuple or NodeKind.Interval or NodeKind.Union
        or NodeKind.Intersection or NodeKind.Complement or NodeKind.NamedSet or NodeKind.EmptySet;

    /// <summary>Number of nodes, for the size cap.</summary>
    public int Size()
    {
        var n = 1;
        foreach (var a in Args) n += a.Size();
        return n;
    }

    /// <summary>
    /// Canonical structural key: commutative operands and set elements sorted, so <c>b+a</c> and <c>a+b</c>
    /// share a key. Two answers with equal keys are equal.
    /// </summary>
    public string Key
    {
        get
        {
            if (_key is not null) return _key;
            var sb = new StringBuilder();
            WriteKey(sb);
            return _key = sb.ToString();
        }
    }

    private void WriteKey(StringBuilder sb)
    {
        switch (Kind)
        {
            case NodeKind.Number:
                sb.Append(Value.ToString());
                return;
            case NodeKind.Symbol:
                sb.Append('`').Append(Name);
                return;
            case NodeKind.Pi:
                sb.Append("pi");
                return;
            case NodeKind.Infinity:
                sb.Append("oo");
                return;
            case NodeKind.EmptySet:
                sb.Append("{}");
                return;
            case NodeKind.NamedSet:
                sb.Append('#').Append(Name);
                return;
        }
        sb.Append(Kind switch
        {
            NodeKind.Func => Name,
            NodeKind.Relation => "rel" + string.Join("", Ops),
            NodeKind.Interval => (LeftOpen ? "(" : "[") + (RightOpen ? ")" : "]"),
            NodeKind.Matrix => $"mat{Rows}x{Cols}",
            _ => Kind.ToString(),
        });
        sb.Append('(');
        var keys = new string[Args.Length];
        for (var i = 0; i < Args.Length; i++) keys[i] = Args[i].Key;
        if (Kind is NodeKind.Add or NodeKind.Mul or NodeKind.FiniteSet or NodeKind.Union or NodeKind.Intersection)
            Array.Sort(keys, StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(keys[i]);
        }
        sb.Append(')');
    }

    /// <summary>A readable plain-text form (the "normalised gold" shown in reports).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Write(sb, 0);
        return sb.ToString();
    }

    private static readonly string[] RelText = ["=", "≠", "<", "≤", ">", "≥"];

    private void Write(StringBuilder sb, int parentPrec)
    {
        switch (Kind)
        {
            case NodeKind.Number:
                if (IsFloat && Value.Den != 1) sb.Append(Value.ToDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                else if (Value.Den != 1 && parentPrec >= 2) sb.Append('(').Append(Value).Append(')');
                else if (Value.Sign < 0 && parentPrec >= 1) sb.Append('(').Append(Value).Append(')');
                else sb.Append(Value);
                return;
            case NodeKind.Symbol: sb.Append(Name); return;
            case NodeKind.Pi: sb.Append("pi"); return;
            case NodeKind.Infinity: sb.Append("oo"); return;
            case NodeKind.EmptySet: sb.Append("{}"); return;
            case NodeKind.NamedSet: sb.Append(Name); return;
            case NodeKind.Add:
                Paren(sb, parentPrec > 1, () =>
                {
                    for (var i = 0; i < Args.Length; i++)
                    {
                        if (i > 0 && Args[i].Kind == NodeKind.Neg)
                        {
                            sb.Append(" - ");
                            Args[i].Args[0].Write(sb, 2);
                            continue;
                        }
                        if (i > 0 && Args[i] is { Kind: NodeKind.Number, IsFloat: false } n && n.Value.Sign < 0)
                        {
                            sb.Append(" - ").Append(n.Value.Negate());
                            continue;
                        }
                        if (i > 0) sb.Append(" + ");
                        Args[i].Write(sb, 1);
                    }
                });
                return;
            case NodeKind.Mul:
                Paren(sb, parentPrec > 2, () =>
                {
                    for (var i = 0; i < Args.Length; i++)
                    {
                        if (i > 0) sb.Append('*');
                        Args[i].Write(sb, 2);
                    }
                });
                return;
            case NodeKind.Div:
                Paren(sb, parentPrec > 2, () =>
                {
                    Args[0].Write(sb, 2);
                    sb.Append('/');
                    Args[1].Write(sb, 3);
                });
                return;
            case NodeKind.Pow:
                Paren(sb, parentPrec > 3, () =>
                {
                    Args[0].Write(sb, 4);
                    sb.Append('^');
                    Args[1].Write(sb, 4);
                });
                return;
            case NodeKind.Neg:
                Paren(sb, parentPrec > 1, () =>
                {
                    sb.Append('-');
                    Args[0].Write(sb, 2);
                });
                return;
            case NodeKind.Percent:
                Args[0].Write(sb, 4);
                sb.Append('%');
                return;
            case NodeKind.PlusMinus:
                Paren(sb, parentPrec > 1, () =>
                {
                    if (Args.Length == 2) Args[0].Write(sb, 1);
                    sb.Append(Args.Length == 2 ? " ± " : "±");
                    Args[^1].Write(sb, 2);
                });
                return;
            case NodeKind.Func:
                sb.Append(Name).Append('(');
                WriteList(sb, Args);
                sb.Append(')');
                return;
            case NodeKind.Relation:
                for (var i = 0; i < Args.Length; i++)
                {
                    if (i > 0) sb.Append(' ').Append(RelText[(int)Ops[i - 1]]).Append(' ');
                    Args[i].Write(sb, 0);
                }
                return;
            case NodeKind.FiniteSet:
                sb.Append('{');
                WriteList(sb, Args);
                sb.Append('}');
                return;
            case NodeKind.Tuple:
                sb.Append('(');
                WriteList(sb, Args);
                sb.Append(')');
                return;
            case NodeKind.Interval:
                sb.Append(LeftOpen ? '(' : '[');
                WriteList(sb, Args);
                sb.Append(RightOpen ? ')' : ']');
                return;
            case NodeKind.Union:
            case NodeKind.Intersection:
            case NodeKind.Complement:
                Args[0].Write(sb, 1);
                sb.Append(Kind == NodeKind.Union ? " ∪ " : Kind == NodeKind.Intersection ? " ∩ " : " \\ ");
                Args[1].Write(sb, 1);
                return;
            case NodeKind.Matrix:
                sb.Append('[');
                for (var r = 0; r < Rows; r++)
                {
                    if (r > 0) sb.Append("; ");
                    for (var c = 0; c < Cols; c++)
                    {
                        if (c > 0) sb.Append(", ");
                        Args[r * Cols + c].Write(sb, 0);
                    }
                }
                sb.Append(']');
                return;
        }
    }

    private static void WriteList(StringBuilder sb, Node[] items)
    {
        for (var i = 0; i < items.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            items[i].Write(sb, 0);
        }
    }

    private static void Paren(StringBuilder sb, bool paren, Action body)
    {
        if (paren) sb.Append('(');
        body();
        if (paren) sb.Append(')');
    }
}
