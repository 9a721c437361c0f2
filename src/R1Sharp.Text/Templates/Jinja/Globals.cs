using System.Globalization;
using System.Text;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>
/// Global names every template sees: jinja2's <c>range</c> (sandboxed), <c>dict</c>, <c>namespace</c>,
/// <c>joiner</c>, and the two transformers adds, <c>raise_exception(msg)</c> and <c>strftime_now(fmt)</c>.
/// </summary>
internal static class Globals
{
    public static readonly IReadOnlyDictionary<string, object?> All = new Dictionary<string, object?>
    {
        ["range"] = new BuiltinFunction("range", Range),
        ["dict"] = new BuiltinFunction("dict", (_, a) => MakeDict(a, "dict")),
        ["namespace"] = new BuiltinFunction("namespace", (_, a) =>
        {
            var ns = new PyNamespace();
            foreach (var kv in MakeDict(a, "namespace")) ns.Attributes.Set(kv.Key, kv.Value);
            return ns;
        }),
        ["joiner"] = new BuiltinFunction("joiner", (_, a) =>
        {
            string sep = PyFormat.Str(a.Get(0, "sep", ", "));
            bool used = false;
            return new BuiltinFunction("joiner", (_, _) =>
            {
                if (used) return sep;
                used = true;
                return "";
            });
        }),
        ["raise_exception"] = new BuiltinFunction("raise_exception", (_, a) =>
            throw new TemplateRaisedException(PyFormat.Str(a.Get(0, "message", "")))),
        ["strftime_now"] = new BuiltinFunction("strftime_now", (s, a) =>
            Strftime(s.Clock.GetLocalNow().DateTime, a.Get(0, "format", null) as string
                ?? throw new TemplateRuntimeException("strftime_now() argument must be str"))),
    };

    private static object? Range(RenderState _, Args a)
    {
        if (a.Named is { Count: > 0 }) throw new TemplateRuntimeException("range() takes no keyword arguments");
        long Arg(int i) => a.Positional[i] switch
        {
            bool or long => PyOps.ToLong(a.Positional[i]!),
            Undefined u => throw u.Fail(),
            var v => throw new TemplateRuntimeException($"'{PyOps.TypeName(v)}' object cannot be interpreted as an integer"),
        };
        return a.Positional.Count switch
        {
            1 => new PyRange(0, Arg(0), 1),
            2 => new PyRange(Arg(0), Arg(1), 1),
            3 => new PyRange(Arg(0), Arg(1), Arg(2)),
            _ => throw new TemplateRuntimeException($"range expected 1 to 3 arguments, got {a.Positional.Count}"),
        };
    }

    /// <summary>Python's dict(mapping_or_pairs, **kwargs).</summary>
    private static PyDict MakeDict(Args a, string function)
    {
        if (a.Positional.Count > 1) throw new TemplateRuntimeException($"{function} expected at most 1 argument, got {a.Positional.Count}");
        var d = new PyDict();
        if (a.Positional.Count == 1)
        {
            switch (a.Positional[0])
            {
                case PyDict src:
                    foreach (var kv in src) d.Set(kv.Key, kv.Value);
                    break;
                case PyNamespace ns:
                    throw new TemplateRuntimeException($"'{PyOps.TypeName(ns)}' object is not iterable");
                case var other:
                    foreach (var pair in PyOps.Iterate(other))
                    {
                        var kv = PyOps.ToList(pair);
                        if (kv.Count != 2) throw new TemplateRuntimeException("dictionary update sequence element has wrong length; 2 is required");
                        d.Set(kv[0], kv[1]);
                    }
                    break;
            }
        }
        if (a.Named is not null)
            foreach (var kv in a.Named) d.Set(kv.Key, kv.Value);
        return d;
    }

    /// <summary>C/Python strftime in the C locale (glibc also accepts "%-d"-style unpadded fields).</summary>
    public static string Strftime(DateTime t, string format)
    {
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%' || i + 1 >= format.Length)
            {
                sb.Append(c);
                continue;
            }
            char f = format[++i];
            bool noPad = false;
            if (f == '-' && i + 1 < format.Length)
            {
                noPad = true;
                f = format[++i];
            }
            string Num(int v, int width) => noPad ? v.ToString(ci) : v.ToString(new string('0', width), ci);
            int hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
            switch (f)
            {
                case 'a': sb.Append(t.ToString("ddd", ci)); break;
                case 'A': sb.Append(t.ToString("dddd", ci)); break;
                case 'w': sb.Append((int)t.DayOfWeek); break;
                case 'd': sb.Append(Num(t.Day, 2)); break;
                case 'e': sb.Append(noPad ? t.Day.ToString(ci) : t.Day.ToString(ci).PadLeft(2)); break;
                case 'b' or 'h': sb.Append(t.ToString("MMM", ci)); break;
                case 'B': sb.Append(t.ToString("MMMM", ci)); break;
                case 'm': sb.Append(Num(t.Month, 2)); break;
                case 'y': sb.Append(Num(t.Year % 100, 2)); break;
                case 'Y': sb.Append(t.Year.ToString(ci)); break;
                case 'H': sb.Append(Num(t.Hour, 2)); break;
                case 'I': sb.Append(Num(hour12, 2)); break;
                case 'p': sb.Append(t.Hour < 12 ? "AM" : "PM"); break;
                case 'M': sb.Append(Num(t.Minute, 2)); break;
                case 'S': sb.Append(Num(t.Second, 2)); break;
                case 'f': sb.Append((t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", ci)); break;
                case 'j': sb.Append(Num(t.DayOfYear, 3)); break;
                case 'U': sb.Append(Num((t.DayOfYear + 6 - (int)t.DayOfWeek) / 7, 2)); break;
                case 'W': sb.Append(Num((t.DayOfYear + 6 - ((int)t.DayOfWeek + 6) % 7) / 7, 2)); break;
                case 'c': sb.Append(Strftime(t, "%a %b %e %H:%M:%S %Y")); break;
                case 'x': sb.Append(Strftime(t, "%m/%d/%y")); break;
                case 'X': sb.Append(Strftime(t, "%H:%M:%S")); break;
                case 'D': sb.Append(Strftime(t, "%m/%d/%y")); break;
                case 'F': sb.Append(Strftime(t, "%Y-%m-%d")); break;
                case 'T': sb.Append(Strftime(t, "%H:%M:%S")); break;
                case 'z' or 'Z': break;
                case '%': sb.Append('%'); break;
                default: sb.Append('%'); if (noPad) sb.Append('-'); sb.Append(f); break;
            }
        }
        return sb.ToString();
    }
}
