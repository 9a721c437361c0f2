namespace R1Sharp.Text.Templates.Jinja;

/// <summary>Python semantics of the operators: truthiness, ==, ordering, arithmetic, <c>in</c>, len, iteration.</summary>
internal static class PyOps
{
    // Boxed once: comparisons and tests run per message, and boxing a fresh bool each time shows up.
    public static readonly object True = true;
    public static readonly object False = false;

    public static object Box(bool b) => b ? True : False;

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        PyTuple => "tuple",
        PyDict => "dict",
        PyDictView view => "dict_" + view.Kind,
        PyRange => "range",
        PyNamespace => "Namespace",
        LoopContext => "LoopContext",
        Undefined => "Undefined",
        Macro => "Macro",
        PyCallable => "builtin_function_or_method",
        _ => v.GetType().Name,
    };

    public static bool Truthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        PyTuple t => t.Count > 0,
        PyDict d => d.Count > 0,
        PyDictView view => view.Count > 0,
        PyRange r => r.Count > 0,
        Undefined => false,
        _ => true,
    };

    // ---------------------------------------------------------------- equality and ordering

    public static bool Equal(object? a, object? b)
    {
        if (ReferenceEquals(a, b)) return true;
        switch (a)
        {
            case null: return b is null;
            case string sa: return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
            case bool or long or double:
                return IsNumber(b) && NumEqual(a, b!);
            case List<object?> la: return b is List<object?> lb && SeqEqual(la, lb);
            case PyTuple ta: return b is PyTuple tb && SeqEqual(ta, tb);
            case PyDict da:
                if (b is not PyDict db || da.Count != db.Count) return false;
                foreach (var kv in da)
                    if (!db.TryGet(kv.Key, out var v) || !Equal(kv.Value, v)) return false;
                return true;
            case PyRange ra:
                return b is PyRange rb && SeqEqual(ra, rb);
            case Undefined: return b is Undefined;
            default: return a.Equals(b);
        }
    }

    private static bool SeqEqual(IReadOnlyList<object?> a, IReadOnlyList<object?> b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
            if (!Equal(a[i], b[i])) return false;
        return true;
    }

    public static bool IsNumber(object? v) => v is bool or long or double;

    private static bool NumEqual(object a, object b)
    {
        if (a is double || b is double) return ToDouble(a) == ToDouble(b);
        return ToLong(a) == ToLong(b);
    }

    public static long ToLong(object v) => v switch
    {
        bool b => b ? 1 : 0,
        long l => l,
        _ => throw new InvalidOperationException("not an int"),
    };

    public static double ToDouble(object v) => v switch
    {
        bool b => b ? 1 : 0,
        long l => l,
        double d => d,
        _ => throw new InvalidOperationException("not a number"),
    };

    /// <summary>Python's a &lt; b style ordering; TypeError for unorderable pairs.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double)
            {
                double x = ToDouble(a!), y = ToDouble(b!);
                if (double.IsNaN(x) || double.IsNaN(y)) return op is "<" or "<=" or ">" or ">=" ? int.MinValue : 0;
                return x.CompareTo(y);
            }
            return ToLong(a!).CompareTo(ToLong(b!));
        }
        if (a is string sa && b is string sb) return PyStrings.CompareCodePoints(sa, sb);
        if (a is List<object?> la && b is List<object?> lb) return CompareSeq(la, lb, op);
        if (a is PyTuple ta && b is PyTuple tb) return CompareSeq(ta, tb, op);
        throw new TemplateRuntimeException($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    private static int CompareSeq(IReadOnlyList<object?> a, IReadOnlyList<object?> b, string op)
    {
        int n = Math.Min(a.Count, b.Count);
        for (int i = 0; i < n; i++)
            if (!Equal(a[i], b[i])) return Compare(a[i], b[i], op);
        return a.Count.CompareTo(b.Count);
    }

    public static bool CompareOp(string op, object? a, object? b)
    {
        switch (op)
        {
            case "==": return Equal(a, b);
            case "!=": return !Equal(a, b);
            case "in": return Contains(b, a);
            case "notin": return !Contains(b, a);
        }
        int c = Compare(a, b, op);
        if (c == int.MinValue) return false; // NaN
        return op switch
        {
            "<" => c < 0,
            "<=" => c <= 0,
            ">" => c > 0,
            ">=" => c >= 0,
            _ => throw new InvalidOperationException(op),
        };
    }

    // ---------------------------------------------------------------- containers

    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is string sub) return s.Contains(sub, StringComparison.Ordinal);
                if (item is Undefined u) throw u.Fail();
                throw new TemplateRuntimeException($"'in <string>' requires string as left operand, not {TypeName(item)}");
            case PyDict d: return d.ContainsKey(item);
            case PyNamespace:
                throw new TemplateRuntimeException("argument of type 'Namespace' is not iterable");
            case Undefined: return false;
            case null: throw new TemplateRuntimeException("argument of type 'NoneType' is not iterable");
        }
        foreach (var x in Iterate(container))
            if (Equal(x, item)) return true;
        return false;
    }

    public static int Len(object? v) => v switch
    {
        string s => PyStrings.Length(s),
        List<object?> l => l.Count,
        PyTuple t => t.Count,
        PyDict d => d.Count,
        PyDictView view => view.Count,
        PyRange r => r.Count,
        Undefined => 0,
        _ => throw new TemplateRuntimeException($"object of type '{TypeName(v)}' has no len()"),
    };

    /// <summary>Python iteration: lists/tuples by item, dicts by key, strings by code point, Undefined as empty.</summary>
    public static IEnumerable<object?> Iterate(object? v)
    {
        switch (v)
        {
            case List<object?> l: return l;
            case PyTuple t: return t.Items;
            case PyDict d: return d.Entries.Select(kv => kv.Key);
            case PyDictView view: return view.Items;
            case PyRange r: return r;
            case string s: return PyStrings.CodePoints(s);
            case Undefined: return [];
            default: throw new TemplateRuntimeException($"'{TypeName(v)}' object is not iterable");
        }
    }

    public static IReadOnlyList<object?> ToList(object? v) => v switch
    {
        List<object?> l => l,
        PyTuple t => t.Items,
        _ => [.. Iterate(v)],
    };

    // ---------------------------------------------------------------- arithmetic

    public static object? Binary(string op, object? a, object? b)
    {
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
        if (op == "%" && a is string fmt) return PyFormat.Percent(fmt, b);
        if (IsNumber(a) && IsNumber(b)) return Numeric(op, a!, b!);
        switch (op)
        {
            case "+":
                if (a is string sa && b is string sb) return sa + sb;
                if (a is List<object?> la && b is List<object?> lb) return (List<object?>)[.. la, .. lb];
                if (a is PyTuple ta && b is PyTuple tb) return new PyTuple([.. ta.Items, .. tb.Items]);
                if (a is string)
                    throw new TemplateRuntimeException($"can only concatenate str (not \"{TypeName(b)}\") to str");
                if (a is List<object?>)
                    throw new TemplateRuntimeException($"can only concatenate list (not \"{TypeName(b)}\") to list");
                break;
            case "*":
                if (a is string s1 && b is bool or long) return Repeat(s1, ToLong(b!));
                if (b is string s2 && a is bool or long) return Repeat(s2, ToLong(a!));
                if (a is List<object?> l1 && b is bool or long) return RepeatList(l1, ToLong(b!));
                if (b is List<object?> l2 && a is bool or long) return RepeatList(l2, ToLong(a!));
                break;
        }
        throw new TemplateRuntimeException($"unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");
    }

    private static string Repeat(string s, long n) => n <= 0 ? "" : string.Concat(Enumerable.Repeat(s, checked((int)n)));

    private static List<object?> RepeatList(List<object?> l, long n)
    {
        var r = new List<object?>();
        for (long i = 0; i < n; i++) r.AddRange(l);
        return r;
    }

    private static object Numeric(string op, object a, object b)
    {
        if (op == "/")
        {
            double y = ToDouble(b);
            if (y == 0) throw new TemplateRuntimeException(a is double || b is double ? "float division by zero" : "division by zero");
            return ToDouble(a) / y;
        }
        if (a is double || b is double)
        {
            double x = ToDouble(a), y = ToDouble(b);
            switch (op)
            {
                case "+": return x + y;
                case "-": return x - y;
                case "*": return x * y;
                case "**": return Math.Pow(x, y);
                case "//":
                    if (y == 0) throw new TemplateRuntimeException("float floor division by zero");
                    return Math.Floor(x / y);
                case "%":
                    if (y == 0) throw new TemplateRuntimeException("float modulo");
                    double m = x % y;
                    if (m != 0 && (m < 0) != (y < 0)) m += y;
                    return m;
            }
        }
        long p = ToLong(a), q = ToLong(b);
        try
        {
            switch (op)
            {
                case "+": return checked(p + q);
                case "-": return checked(p - q);
                case "*": return checked(p * q);
                case "**":
                    if (q < 0) return Math.Pow(p, q);
                    long r = 1;
                    for (long i = 0; i < q; i++) r = checked(r * p);
                    return r;
                case "//":
                    if (q == 0) throw new TemplateRuntimeException("integer division or modulo by zero");
                    long d = p / q;
                    if ((p % q != 0) && ((p < 0) != (q < 0))) d--;
                    return d;
                case "%":
                    if (q == 0) throw new TemplateRuntimeException("integer division or modulo by zero");
                    long mod = p % q;
                    if (mod != 0 && (mod < 0) != (q < 0)) mod += q;
                    return mod;
            }
        }
        catch (OverflowException)
        {
            throw new TemplateRuntimeException("integer overflow: this interpreter's ints are 64-bit");
        }
        throw new InvalidOperationException(op);
    }

    public static object? Negate(object? v) => v switch
    {
        bool or long => (object)checked(-ToLong(v)),
        double d => -d,
        Undefined u => throw u.Fail(),
        _ => throw new TemplateRuntimeException($"bad operand type for unary -: '{TypeName(v)}'"),
    };

    public static object? Plus(object? v) => v switch
    {
        bool or long => (object)ToLong(v),
        double d => d,
        Undefined u => throw u.Fail(),
        _ => throw new TemplateRuntimeException($"bad operand type for unary +: '{TypeName(v)}'"),
    };
}
