using System.Text;
using System.Text.RegularExpressions;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>
/// jinja2's built-in filters (3.1 semantics) that chat templates use, plus transformers' <c>tojson</c>
/// (json.dumps with ensure_ascii=False; arguments ensure_ascii, indent, separators, sort_keys in that order).
/// </summary>
internal static partial class Filters
{
    private static readonly Dictionary<string, FilterFunction> All = new()
    {
        ["abs"] = (_, v, a) => { a.Check("abs", 0); return v switch { double d => (object)Math.Abs(d), bool or long => Math.Abs(PyOps.ToLong(v!)), _ => throw TypeError("bad operand type for abs()", v) }; },
        ["attr"] = (s, v, a) => Access.GetAttr(s, v, a.Get(0, "name", null) as string ?? throw new TemplateRuntimeException("attribute name must be a string")),
        ["batch"] = Batch,
        ["capitalize"] = (_, v, _) => PyStrings.Capitalize(PyFormat.Str(v)),
        ["center"] = (_, v, a) => PyStrings.Pad(PyFormat.Str(v), "center", (int)Int(a.Get(0, "width", 80L)), " "),
        ["count"] = (_, v, _) => (long)PyOps.Len(v),
        ["length"] = (_, v, _) => (long)PyOps.Len(v),
        ["d"] = Default,
        ["default"] = Default,
        ["dictsort"] = DictSort,
        ["e"] = (_, v, _) => Escape(v),
        ["escape"] = (_, v, _) => Escape(v),
        ["first"] = (_, v, _) =>
        {
            foreach (var x in PyOps.Iterate(v)) return x;
            return Undefined.WithHint("No first item, sequence was empty.");
        },
        ["last"] = (_, v, _) =>
        {
            var items = PyOps.ToList(v);
            return items.Count > 0 ? items[^1] : Undefined.WithHint("No last item, sequence was empty.");
        },
        ["float"] = (_, v, a) => ToFloat(v, a.Get(0, "default", 0.0)),
        ["format"] = (_, v, a) =>
        {
            if (a.Positional.Count > 0 && a.Named is { Count: > 0 })
                throw new TemplateRuntimeException("can't handle positional and keyword arguments at the same time");
            object? args = a.Named is { Count: > 0 } ? ToDict(a.Named) : new PyTuple([.. a.Positional]);
            return PyFormat.Percent(PyFormat.Str(v), args);
        },
        ["indent"] = Indent,
        ["int"] = (_, v, a) => ToInt(v, a.Get(0, "default", 0L), a.Get(1, "base", 10L)),
        ["items"] = (_, v, _) => v switch
        {
            Undefined => new List<object?>(),
            PyDict d => d.Entries.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList(),
            _ => throw new TemplateRuntimeException("Can only get item pairs from a mapping."),
        },
        ["join"] = Join,
        ["list"] = (_, v, _) => new List<object?>(PyOps.Iterate(v)),
        ["lower"] = (_, v, _) => PyStrings.Lower(PyFormat.Str(v)),
        ["upper"] = (_, v, _) => PyStrings.Upper(PyFormat.Str(v)),
        ["map"] = Map,
        ["max"] = (s, v, a) => MinMax(s, v, a, max: true),
        ["min"] = (s, v, a) => MinMax(s, v, a, max: false),
        ["reject"] = (s, v, a) => SelectOrReject(s, v, a, keep: false, lookupAttr: false),
        ["rejectattr"] = (s, v, a) => SelectOrReject(s, v, a, keep: false, lookupAttr: true),
        ["select"] = (s, v, a) => SelectOrReject(s, v, a, keep: true, lookupAttr: false),
        ["selectattr"] = (s, v, a) => SelectOrReject(s, v, a, keep: true, lookupAttr: true),
        ["replace"] = (_, v, a) =>
        {
            long count = a.Get(2, "count", null) is { } c ? Int(c) : -1;
            return PyStrings.Replace(PyFormat.Str(v), PyFormat.Str(a.Get(0, "old", null)), PyFormat.Str(a.Get(1, "new", null)), count);
        },
        ["reverse"] = (_, v, _) => v is string s ? PyStrings.Reverse(s) : PyOps.Iterate(v).Reverse().ToList(),
        ["round"] = Round,
        ["safe"] = (_, v, _) => v,
        ["slice"] = Slice,
        ["sort"] = Sort,
        ["string"] = (_, v, _) => PyFormat.Str(v),
        ["sum"] = Sum,
        ["title"] = (_, v, _) => JinjaTitle(PyFormat.Str(v)),
        ["tojson"] = (_, v, a) =>
        {
            a.Check("tojson", 4, "ensure_ascii", "indent", "separators", "sort_keys");
            return PyJson.Dumps(v, PyOps.Truthy(a.Get(0, "ensure_ascii", false)), a.Get(1, "indent", null), a.Get(2, "separators", null),
                PyOps.Truthy(a.Get(3, "sort_keys", false)));
        },
        ["trim"] = (_, v, a) => PyStrings.Strip(PyFormat.Str(v), a.Get(0, "chars", null) as string, true, true),
        ["truncate"] = Truncate,
        ["unique"] = Unique,
        ["wordcount"] = (_, v, _) => (long)WordRegex().Count(PyFormat.Str(v)),
    };

    public static FilterFunction? Get(string name) => All.GetValueOrDefault(name);

    public static IEnumerable<string> Names => All.Keys;

    internal static object? Call(RenderState state, string name, object? value, Args args) =>
        (Get(name) ?? throw new TemplateRuntimeException($"No filter named '{name}'."))(state, value, args);

    private static TemplateRuntimeException TypeError(string what, object? v) => new($"{what}: '{PyOps.TypeName(v)}'");

    private static long Int(object? v) => v switch
    {
        bool or long => PyOps.ToLong(v),
        double d => (long)d,
        Undefined u => throw u.Fail(),
        _ => throw new TemplateRuntimeException($"an integer is required, not '{PyOps.TypeName(v)}'"),
    };

    private static PyDict ToDict(IEnumerable<KeyValuePair<string, object?>> pairs)
    {
        var d = new PyDict();
        foreach (var kv in pairs) d.Set(kv.Key, kv.Value);
        return d;
    }

    private static object? Default(RenderState _, object? v, Args a)
    {
        a.Check("default", 2, "default_value", "boolean");
        var fallback = a.Get(0, "default_value", "");
        bool boolean = PyOps.Truthy(a.Get(1, "boolean", false));
        return v is Undefined || (boolean && !PyOps.Truthy(v)) ? fallback : v;
    }

    private static string Escape(object? v)
    {
        var sb = new StringBuilder();
        foreach (char c in PyFormat.Str(v))
            sb.Append(c switch { '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", '"' => "&#34;", '\'' => "&#39;", _ => c.ToString() });
        return sb.ToString();
    }

    private static object? ToFloat(object? v, object? fallback) => v switch
    {
        double d => d,
        bool or long => (double)PyOps.ToLong(v),
        string s when TryParsePyFloat(s, out double d) => d,
        _ => fallback,
    };

    private static bool TryParsePyFloat(string s, out double d)
    {
        string t = PyStrings.Strip(s, null, true, true).Replace("_", "", StringComparison.Ordinal);
        switch (t.ToLowerInvariant())
        {
            case "inf" or "+inf" or "infinity" or "+infinity": d = double.PositiveInfinity; return true;
            case "-inf" or "-infinity": d = double.NegativeInfinity; return true;
            case "nan" or "+nan" or "-nan": d = double.NaN; return true;
        }
        return double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out d);
    }

    private static object? ToInt(object? v, object? fallback, object? numberBase)
    {
        switch (v)
        {
            case bool or long: return PyOps.ToLong(v);
            case double d when !double.IsNaN(d) && !double.IsInfinity(d): return (long)Math.Truncate(d);
            case string s:
                string t = PyStrings.Strip(s, null, true, true).Replace("_", "", StringComparison.Ordinal);
                int b = (int)Int(numberBase);
                try
                {
                    if (b == 10 && long.TryParse(t, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long l)) return l;
                    if (b != 10 && t.Length > 0)
                    {
                        bool neg = t.StartsWith('-');
                        string digits = t.TrimStart('-', '+');
                        if (b == 16 && digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) digits = digits[2..];
                        if (b == 8 && digits.StartsWith("0o", StringComparison.OrdinalIgnoreCase)) digits = digits[2..];
                        if (b == 2 && digits.StartsWith("0b", StringComparison.OrdinalIgnoreCase)) digits = digits[2..];
                        long r = Convert.ToInt64(digits, b);
                        return neg ? -r : r;
                    }
                }
                catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
                {
                    // fall through to the float quirk below
                }
                // jinja2: "42.23"|int gives 42
                if (TryParsePyFloat(s, out double f) && !double.IsNaN(f) && !double.IsInfinity(f)) return (long)Math.Truncate(f);
                return fallback;
            default: return fallback;
        }
    }

    private static object? Indent(RenderState _, object? v, Args a)
    {
        a.Check("indent", 3, "width", "first", "blank");
        var width = a.Get(0, "width", 4L);
        string indention = width is string ws ? ws : new string(' ', (int)Int(width));
        bool first = PyOps.Truthy(a.Get(1, "first", false));
        bool blank = PyOps.Truthy(a.Get(2, "blank", false));
        string s = PyFormat.Str(v) + "\n";
        var lines = PyStrings.SplitLines(s, false).Cast<string>().ToList();
        string rv;
        if (blank) rv = string.Join("\n" + indention, lines);
        else
        {
            rv = lines[0];
            if (lines.Count > 1)
                rv += "\n" + string.Join("\n", lines.Skip(1).Select(l => l.Length > 0 ? indention + l : l));
        }
        return first ? indention + rv : rv;
    }

    private static object? Join(RenderState state, object? v, Args a)
    {
        a.Check("join", 2, "d", "attribute");
        string sep = PyFormat.Str(a.Get(0, "d", ""));
        var attribute = a.Get(1, "attribute", null);
        var getter = attribute is null ? null : AttrGetter(state, attribute, null);
        return string.Join(sep, PyOps.Iterate(v).Select(x => PyFormat.Str(getter is null ? x : getter(x))));
    }

    /// <summary>jinja2's make_attrgetter: "a.b.0" walks items/attributes, digits as integer indices.</summary>
    private static Func<object?, object?> AttrGetter(RenderState state, object? attribute, object? defaultValue, bool ignoreCase = false)
    {
        object?[] parts = attribute switch
        {
            null => [],
            string s => [.. s.Split('.').Select(p => p.Length > 0 && p.All(char.IsAsciiDigit) ? (object?)long.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : p)],
            _ => [attribute],
        };
        return item =>
        {
            foreach (var p in parts)
            {
                item = Access.GetItem(state, item, p);
                if (defaultValue is not null && item is Undefined) item = defaultValue;
            }
            return ignoreCase && item is string str ? PyStrings.Lower(str) : item;
        };
    }

    private static object? Map(RenderState state, object? v, Args a)
    {
        Func<object?, object?> f;
        if (a.Positional.Count == 0 && a.TryGetNamed("attribute", out var attribute))
        {
            a.TryGetNamed("default", out var dflt);
            f = AttrGetter(state, attribute, dflt);
        }
        else
        {
            if (a.Positional.Count == 0) throw new TemplateRuntimeException("map requires a filter argument");
            string name = a.Positional[0] as string ?? throw new TemplateRuntimeException("map: filter name must be a string");
            var rest = new Args([.. a.Positional.Skip(1)], a.Named);
            f = x => Call(state, name, x, rest);
        }
        return PyOps.Iterate(v).Select(f).ToList();
    }

    private static object? SelectOrReject(RenderState state, object? v, Args a, bool keep, bool lookupAttr)
    {
        if (!PyOps.Truthy(v)) return new List<object?>();
        int off = 0;
        Func<object?, object?> transform = x => x;
        if (lookupAttr)
        {
            if (a.Positional.Count == 0) throw new TemplateRuntimeException("Missing parameter for attribute name");
            transform = AttrGetter(state, a.Positional[0], null);
            off = 1;
        }
        Func<object?, bool> test;
        if (a.Positional.Count > off)
        {
            string name = a.Positional[off] as string ?? throw new TemplateRuntimeException("test name must be a string");
            var rest = new Args([.. a.Positional.Skip(off + 1)], a.Named);
            test = x => Tests.Call(state, name, x, rest);
        }
        else test = PyOps.Truthy;
        return PyOps.Iterate(v).Where(x => test(transform(x)) == keep).ToList();
    }

    private static object? MinMax(RenderState state, object? v, Args a, bool max)
    {
        a.Check(max ? "max" : "min", 2, "case_sensitive", "attribute");
        var items = PyOps.ToList(v);
        if (items.Count == 0) return Undefined.WithHint("No aggregated item, sequence was empty.");
        var key = AttrGetter(state, a.Get(1, "attribute", null), null, ignoreCase: !PyOps.Truthy(a.Get(0, "case_sensitive", false)));
        object? best = items[0];
        object? bestKey = key(best);
        foreach (var x in items.Skip(1))
        {
            var k = key(x);
            int c = PyOps.Compare(k, bestKey, max ? ">" : "<");
            if (max ? c > 0 : c < 0) { best = x; bestKey = k; }
        }
        return best;
    }

    private static object? Sort(RenderState state, object? v, Args a)
    {
        a.Check("sort", 3, "reverse", "case_sensitive", "attribute");
        bool reverse = PyOps.Truthy(a.Get(0, "reverse", false));
        bool ignoreCase = !PyOps.Truthy(a.Get(1, "case_sensitive", false));
        var attribute = a.Get(2, "attribute", null);
        var attrs = attribute is string s ? s.Split(',').Cast<object?>().ToArray() : [attribute];
        var getters = attrs.Select(x => AttrGetter(state, x, null, ignoreCase)).ToArray();
        var items = PyOps.Iterate(v).Select(x => (Item: x, Key: (object?)new List<object?>(getters.Select(g => g(x))))).ToList();
        // Python's sort is stable and compares keys with <; reverse=True keeps equal items in order.
        var comparer = Comparer<object?>.Create((x, y) => PyOps.Compare(x, y, "<"));
        var sorted = reverse
            ? items.OrderByDescending(t => t.Key, comparer)
            : items.OrderBy(t => t.Key, comparer);
        return sorted.Select(t => t.Item).ToList();
    }

    private static object? Unique(RenderState state, object? v, Args a)
    {
        a.Check("unique", 2, "case_sensitive", "attribute");
        var key = AttrGetter(state, a.Get(1, "attribute", null), null, ignoreCase: !PyOps.Truthy(a.Get(0, "case_sensitive", false)));
        var seen = new PyDict();
        var result = new List<object?>();
        foreach (var x in PyOps.Iterate(v))
        {
            var k = key(x);
            if (seen.ContainsKey(k)) continue;
            seen.Set(k, null);
            result.Add(x);
        }
        return result;
    }

    private static object? Sum(RenderState state, object? v, Args a)
    {
        a.Check("sum", 2, "attribute", "start");
        var attribute = a.Get(0, "attribute", null);
        var getter = attribute is null ? null : AttrGetter(state, attribute, null);
        object? total = a.Get(1, "start", 0L);
        foreach (var x in PyOps.Iterate(v)) total = PyOps.Binary("+", total, getter is null ? x : getter(x));
        return total;
    }

    private static object? Round(RenderState _, object? v, Args a)
    {
        a.Check("round", 2, "precision", "method");
        long precision = Int(a.Get(0, "precision", 0L));
        string method = a.Get(1, "method", "common") as string ?? "common";
        if (method is not ("common" or "ceil" or "floor")) throw new TemplateRuntimeException("method must be common, ceil or floor");
        if (method == "common")
        {
            if (v is bool or long) return precision >= 0 ? PyOps.ToLong(v) : (long)PyFormat.Round(PyOps.ToLong(v), precision);
            if (v is double d) return PyFormat.Round(d, precision);
            throw TypeError("type doesn't define __round__ method", v);
        }
        double x = PyOps.ToDouble(v ?? throw TypeError("must be real number", v));
        double scale = Math.Pow(10, precision);
        return (method == "ceil" ? Math.Ceiling(x * scale) : Math.Floor(x * scale)) / scale;
    }

    private static object? DictSort(RenderState _, object? v, Args a)
    {
        a.Check("dictsort", 3, "case_sensitive", "by", "reverse");
        if (v is not PyDict d) throw new TemplateRuntimeException("dictsort expects a mapping");
        bool ignoreCase = !PyOps.Truthy(a.Get(0, "case_sensitive", false));
        string by = a.Get(1, "by", "key") as string ?? "key";
        if (by is not ("key" or "value")) throw new TemplateRuntimeException("You can only sort by either \"key\" or \"value\"");
        bool reverse = PyOps.Truthy(a.Get(2, "reverse", false));
        var comparer = Comparer<object?>.Create((x, y) => PyOps.Compare(x, y, "<"));
        object? Key(KeyValuePair<object?, object?> kv)
        {
            var k = by == "key" ? kv.Key : kv.Value;
            return ignoreCase && k is string s ? PyStrings.Lower(s) : k;
        }
        var ordered = reverse ? d.Entries.OrderByDescending(Key, comparer) : d.Entries.OrderBy(Key, comparer);
        return ordered.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList();
    }

    private static object? Batch(RenderState _, object? v, Args a)
    {
        a.Check("batch", 2, "linecount", "fill_with");
        long n = Int(a.Get(0, "linecount", null));
        var fill = a.Get(1, "fill_with", null);
        var result = new List<object?>();
        var tmp = new List<object?>();
        foreach (var x in PyOps.Iterate(v))
        {
            if (tmp.Count == n) { result.Add(tmp); tmp = []; }
            tmp.Add(x);
        }
        if (tmp.Count > 0)
        {
            if (fill is not null) while (tmp.Count < n) tmp.Add(fill);
            result.Add(tmp);
        }
        return result;
    }

    private static object? Slice(RenderState _, object? v, Args a)
    {
        a.Check("slice", 2, "slices", "fill_with");
        var seq = PyOps.ToList(v);
        long slices = Int(a.Get(0, "slices", null));
        var fill = a.Get(1, "fill_with", null);
        int length = seq.Count;
        long perSlice = length / slices, withExtra = length % slices;
        long offset = 0;
        var result = new List<object?>();
        for (long i = 0; i < slices; i++)
        {
            long start = offset + i * perSlice;
            if (i < withExtra) offset++;
            long end = offset + (i + 1) * perSlice;
            var tmp = seq.Skip((int)start).Take((int)(end - start)).ToList();
            if (fill is not null && i >= withExtra) tmp.Add(fill);
            result.Add(tmp);
        }
        return result;
    }

    private static object? Truncate(RenderState _, object? v, Args a)
    {
        a.Check("truncate", 4, "length", "killwords", "end", "leeway");
        string s = PyFormat.Str(v);
        long length = Int(a.Get(0, "length", 255L));
        bool killwords = PyOps.Truthy(a.Get(1, "killwords", false));
        string end = PyFormat.Str(a.Get(2, "end", "..."));
        long leeway = Int(a.Get(3, "leeway", 5L));
        if (PyStrings.Length(s) <= length + leeway) return s;
        string head = PyStrings.Slice(s, 0, length - PyStrings.Length(end));
        if (killwords) return head + end;
        int space = head.LastIndexOf(' ');
        return (space >= 0 ? head[..space] : head) + end;
    }

    /// <summary>jinja2's title filter: capitalise each word, words split at whitespace, '-', and opening brackets.</summary>
    private static string JinjaTitle(string s)
    {
        var sb = new StringBuilder();
        foreach (var part in WordBeginning().Split(s))
        {
            if (part.Length == 0) continue;
            sb.Append(char.ToUpperInvariant(part[0])).Append(part[1..].ToLowerInvariant());
        }
        return sb.ToString();
    }

    [GeneratedRegex(@"([-\s({\[<]+)")]
    private static partial Regex WordBeginning();

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordRegex();
}
