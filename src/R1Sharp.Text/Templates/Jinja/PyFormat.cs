using System.Globalization;
using System.Numerics;
using System.Text;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>Python's str() and repr() of template values, float repr, and <c>%</c>-formatting.</summary>
internal static class PyFormat
{
    /// <summary>str(v); Undefined prints as "" (what <c>{{ x }}</c> and <c>~</c> output).</summary>
    public static string Str(object? v) => v switch
    {
        string s => s,
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        Undefined => "",
        _ => Repr(v),
    };

    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? v)
    {
        switch (v)
        {
            case string s: AppendStringRepr(sb, s); break;
            case null or bool or long or double: sb.Append(Str(v)); break;
            case List<object?> l: AppendSeq(sb, l, "[", "]", false); break;
            case PyTuple t: AppendSeq(sb, t, "(", ")", t.Count == 1); break;
            case PyDict d:
                sb.Append('{');
                bool first = true;
                foreach (var kv in d)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendRepr(sb, kv.Key);
                    sb.Append(": ");
                    AppendRepr(sb, kv.Value);
                }
                sb.Append('}');
                break;
            case PyDictView view:
                sb.Append("dict_").Append(view.Kind).Append('(');
                AppendSeq(sb, view.Items, "[", "]", false);
                sb.Append(')');
                break;
            case PyRange r:
                sb.Append("range(").Append(r.Start).Append(", ").Append(r.Stop);
                if (r.Step != 1) sb.Append(", ").Append(r.Step);
                sb.Append(')');
                break;
            case PyNamespace ns:
                sb.Append("<Namespace ");
                AppendRepr(sb, ns.Attributes);
                sb.Append('>');
                break;
            case LoopContext loop: sb.Append("<LoopContext ").Append(loop.Index0 + 1).Append('/').Append(loop.Length).Append('>'); break;
            case Undefined: sb.Append("Undefined"); break;
            case Macro m: sb.Append("<Macro '").Append(m.Name).Append("'>"); break;
            case PyCallable c: sb.Append("<built-in function ").Append(c.Name).Append('>'); break;
            default: sb.Append(v); break;
        }
    }

    private static void AppendSeq(StringBuilder sb, IEnumerable<object?> items, string open, string close, bool trailingComma)
    {
        sb.Append(open);
        bool first = true;
        foreach (var x in items)
        {
            if (!first) sb.Append(", ");
            first = false;
            AppendRepr(sb, x);
        }
        if (trailingComma) sb.Append(',');
        sb.Append(close);
    }

    /// <summary>repr(str): single quotes unless the text has ' and no "; non-printable characters escaped.</summary>
    private static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == quote || c == '\\') sb.Append('\\').Append(c);
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                int cp = char.ConvertToUtf32(c, s[i + 1]);
                if (PyStrings.IsPrintable(cp)) sb.Append(c).Append(s[i + 1]);
                else sb.Append("\\U").Append(cp.ToString("x8", CultureInfo.InvariantCulture));
                i++;
            }
            else if (PyStrings.IsPrintable(c)) sb.Append(c);
            else if (c < 0x100) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }
        sb.Append(quote);
    }

    /// <summary>
    /// Python's float repr: the shortest digits that round-trip, in fixed notation when the decimal exponent is
    /// in [-4, 16), else as d.ddde±XX; integral values keep ".0".
    /// </summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        var (negative, digits, decpt) = ShortestDigits(d);
        var sb = new StringBuilder();
        if (negative) sb.Append('-');
        if (decpt > -4 && decpt <= 16)
        {
            if (decpt <= 0) sb.Append("0.").Append('0', -decpt).Append(digits);
            else if (decpt >= digits.Length) sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
            else sb.Append(digits, 0, decpt).Append('.').Append(digits, decpt, digits.Length - decpt);
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            int exp = decpt - 1;
            sb.Append('e').Append(exp < 0 ? '-' : '+').Append(Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Shortest round-trip digits (no leading/trailing zeros) and decimal point position: value = 0.DIGITS × 10^decpt.</summary>
    public static (bool Negative, string Digits, int DecimalPoint) ShortestDigits(double d)
    {
        // .NET's "R" formatting is the shortest round-trip form; parse its mantissa and exponent.
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int e = 0;
        int ePos = r.IndexOfAny(['E', 'e']);
        string mant = r;
        if (ePos >= 0)
        {
            e = int.Parse(r.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mant = r[..ePos];
        }
        int dot = mant.IndexOf('.');
        string intPart = dot >= 0 ? mant[..dot] : mant;
        string frac = dot >= 0 ? mant[(dot + 1)..] : "";
        string all = intPart + frac;
        int decpt = intPart.Length + e;
        int lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') { lead++; decpt--; }
        all = all[lead..].TrimEnd('0');
        if (all.Length == 0) all = "0";
        return (d < 0, all, decpt);
    }

    /// <summary>Python round(x, n) for floats: exact decimal rounding of the binary value, ties to even.</summary>
    public static double Round(double x, long n)
    {
        if (double.IsNaN(x) || double.IsInfinity(x) || x == 0) return x;
        if (n > 330) return x;
        if (n < -330) return 0.0 * Math.Sign(x);
        // x = m * 2^e exactly.
        long bits = BitConverter.DoubleToInt64Bits(x);
        bool neg = bits < 0;
        int exp = (int)((bits >> 52) & 0x7FF);
        long frac = bits & 0xFFFFFFFFFFFFFL;
        BigInteger m = exp == 0 ? frac : frac | (1L << 52);
        int e = exp == 0 ? -1074 : exp - 1075;
        // value * 10^n = m * 2^e * 10^n = num / den
        BigInteger num = m, den = BigInteger.One;
        if (e >= 0) num <<= e; else den <<= -e;
        if (n >= 0) num *= BigInteger.Pow(10, (int)n); else den *= BigInteger.Pow(10, (int)-n);
        BigInteger q = BigInteger.DivRem(num, den, out BigInteger rem);
        int cmp = (rem * 2).CompareTo(den);
        if (cmp > 0 || (cmp == 0 && !q.IsEven)) q += 1;
        string digits = q.ToString(CultureInfo.InvariantCulture);
        string text = n >= 0 ? digits + "e-" + n.ToString(CultureInfo.InvariantCulture) : digits + "e" + (-n).ToString(CultureInfo.InvariantCulture);
        double result = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return neg ? -result : result;
    }

    // ---------------------------------------------------------------- printf-style formatting (str % args)

    public static string Percent(string format, object? args)
    {
        IReadOnlyList<object?> positional = args is PyTuple t ? t.Items : [args];
        PyDict? mapping = args as PyDict;
        int next = 0;
        var sb = new StringBuilder();
        int i = 0;
        while (i < format.Length)
        {
            char c = format[i++];
            if (c != '%') { sb.Append(c); continue; }
            if (i >= format.Length) throw new TemplateRuntimeException("incomplete format");
            object? value;
            string? key = null;
            if (format[i] == '(')
            {
                int close = format.IndexOf(')', i);
                if (close < 0) throw new TemplateRuntimeException("incomplete format key");
                key = format[(i + 1)..close];
                i = close + 1;
            }
            string flags = "";
            while (i < format.Length && "-+ #0".Contains(format[i])) flags += format[i++];
            int? width = ReadInt(format, ref i);
            if (width is null && i < format.Length && format[i] == '*')
            {
                i++;
                width = (int)PyOps.ToLong(positional[next++]!);
            }
            int? precision = null;
            if (i < format.Length && format[i] == '.')
            {
                i++;
                precision = ReadInt(format, ref i) ?? 0;
            }
            if (i >= format.Length) throw new TemplateRuntimeException("incomplete format");
            char conv = format[i++];
            if (conv == '%') { sb.Append('%'); continue; }
            if (key is not null)
            {
                if (mapping is null) throw new TemplateRuntimeException("format requires a mapping");
                if (!mapping.TryGet(key, out value)) throw new TemplateRuntimeException($"KeyError: '{key}'");
            }
            else
            {
                if (next >= positional.Count) throw new TemplateRuntimeException("not enough arguments for format string");
                value = positional[next++];
            }
            sb.Append(FormatOne(conv, value, flags, width, precision));
        }
        if (mapping is null && next < positional.Count && args is PyTuple)
            throw new TemplateRuntimeException("not all arguments converted during string formatting");
        if (mapping is null && next == 0 && args is not PyTuple && args is not PyDict)
            throw new TemplateRuntimeException("not all arguments converted during string formatting");
        return sb.ToString();
    }

    private static int? ReadInt(string s, ref int i)
    {
        int start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        return i > start ? int.Parse(s.AsSpan(start, i - start), CultureInfo.InvariantCulture) : null;
    }

    private static string FormatOne(char conv, object? value, string flags, int? width, int? precision)
    {
        string body;
        bool numeric = false;
        switch (conv)
        {
            case 's': body = Str(value); if (precision is int p1) body = PyStrings.Slice(body, 0, p1); break;
            case 'r' or 'a': body = Repr(value); if (precision is int p2) body = PyStrings.Slice(body, 0, p2); break;
            case 'd' or 'i' or 'u':
                numeric = true;
                body = value switch
                {
                    double dv => ((long)Math.Truncate(dv)).ToString(CultureInfo.InvariantCulture),
                    bool or long => PyOps.ToLong(value!).ToString(CultureInfo.InvariantCulture),
                    _ => throw new TemplateRuntimeException($"%{conv} format: a real number is required, not {PyOps.TypeName(value)}"),
                };
                break;
            case 'f' or 'F' or 'e' or 'E' or 'g' or 'G':
                numeric = true;
                if (!PyOps.IsNumber(value)) throw new TemplateRuntimeException($"must be real number, not {PyOps.TypeName(value)}");
                body = FormatFloat(PyOps.ToDouble(value!), conv, precision ?? 6, flags.Contains('#'));
                break;
            case 'x' or 'X' or 'o':
                numeric = true;
                if (value is not (bool or long)) throw new TemplateRuntimeException($"%{conv} format: an integer is required, not {PyOps.TypeName(value)}");
                long lv = PyOps.ToLong(value!);
                string mag = conv == 'o' ? Convert.ToString(Math.Abs(lv), 8) : Math.Abs(lv).ToString(conv == 'x' ? "x" : "X", CultureInfo.InvariantCulture);
                body = (lv < 0 ? "-" : "") + mag;
                break;
            case 'c':
                body = value is string cs ? cs : char.ConvertFromUtf32((int)PyOps.ToLong(value!));
                break;
            default: throw new TemplateRuntimeException($"unsupported format character '{conv}'");
        }
        if (numeric && !body.StartsWith('-'))
        {
            if (flags.Contains('+')) body = "+" + body;
            else if (flags.Contains(' ')) body = " " + body;
        }
        int w = width ?? 0;
        int len = PyStrings.Length(body);
        if (len >= w) return body;
        if (flags.Contains('-')) return body + new string(' ', w - len);
        if (numeric && flags.Contains('0'))
        {
            int signLen = body.Length > 0 && body[0] is '-' or '+' or ' ' ? 1 : 0;
            return body[..signLen] + new string('0', w - len) + body[signLen..];
        }
        return new string(' ', w - len) + body;
    }

    /// <summary>Fixed/exponent/general formatting of a float the way C printf (and Python) does.</summary>
    public static string FormatFloat(double v, char conv, int precision, bool alternate = false)
    {
        if (double.IsNaN(v)) return char.IsUpper(conv) ? "NAN" : "nan";
        if (double.IsInfinity(v)) return (v < 0 ? "-" : "") + (char.IsUpper(conv) ? "INF" : "inf");
        switch (conv)
        {
            case 'f' or 'F':
                return FixedExact(v, precision);
            case 'e' or 'E':
            {
                string s = ExpExact(v, precision);
                return conv == 'E' ? s.ToUpperInvariant() : s;
            }
            default: // g / G
            {
                int p = precision == 0 ? 1 : precision;
                string e = ExpExact(v, p - 1);
                int exp = int.Parse(e[(e.IndexOf('e') + 1)..], CultureInfo.InvariantCulture);
                string s = exp >= -4 && exp < p ? FixedExact(v, p - 1 - exp) : e;
                if (!alternate)
                {
                    int ePos = s.IndexOf('e');
                    string mant = ePos >= 0 ? s[..ePos] : s;
                    string rest = ePos >= 0 ? s[ePos..] : "";
                    if (mant.Contains('.')) mant = mant.TrimEnd('0').TrimEnd('.');
                    s = mant + rest;
                }
                return conv == 'G' ? s.ToUpperInvariant() : s;
            }
        }
    }

    private static string FixedExact(double v, int precision)
    {
        // Exact decimal expansion rounded half-even on the binary value, like glibc printf.
        double r = Round(v, precision);
        string s = r.ToString("F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (double.IsNegative(v) && !s.StartsWith('-')) s = "-" + s;
        return s;
    }

    private static string ExpExact(double v, int precision)
    {
        if (v == 0)
            return (double.IsNegative(v) ? "-" : "") + "0" + (precision > 0 ? "." + new string('0', precision) : "") + "e+00";
        int exp10 = (int)Math.Floor(Math.Log10(Math.Abs(v)));
        double scaled = Round(v / Math.Pow(10, exp10), precision);
        if (Math.Abs(scaled) >= 10)
        {
            exp10++;
            scaled = Round(v / Math.Pow(10, exp10), precision);
        }
        string mant = scaled.ToString("F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return mant + "e" + (exp10 < 0 ? "-" : "+") + Math.Abs(exp10).ToString("00", CultureInfo.InvariantCulture);
    }
}
