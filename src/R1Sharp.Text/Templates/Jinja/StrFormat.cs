using System.Globalization;
using System.Text;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>
/// Python's <c>str.format</c> as the jinja2 sandbox exposes it: fields <c>{}</c>, <c>{0}</c>, <c>{name}</c>,
/// <c>{0.attr}</c>, <c>{0[key]}</c>, conversions <c>!s</c>/<c>!r</c>, and the format-spec mini-language
/// <c>[[fill]align][sign][0][width][,][.precision][type]</c> for str, int and float.
/// </summary>
internal static class StrFormat
{
    public static string Format(RenderState state, string format, IReadOnlyList<object?> positional,
        IReadOnlyList<KeyValuePair<string, object?>>? named, object? mapping = null)
    {
        var sb = new StringBuilder();
        int auto = 0;
        int i = 0;
        while (i < format.Length)
        {
            char c = format[i];
            if (c == '{')
            {
                if (i + 1 < format.Length && format[i + 1] == '{') { sb.Append('{'); i += 2; continue; }
                int close = FindClose(format, i);
                string field = format[(i + 1)..close];
                i = close + 1;
                string? spec = null, conv = null;
                int colon = field.IndexOf(':');
                if (colon >= 0) { spec = field[(colon + 1)..]; field = field[..colon]; }
                int bang = field.IndexOf('!');
                if (bang >= 0) { conv = field[(bang + 1)..]; field = field[..bang]; }
                object? value = Resolve(state, field, positional, named, mapping, ref auto);
                value = conv switch
                {
                    null => value,
                    "s" => PyFormat.Str(value),
                    "r" or "a" => PyFormat.Repr(value),
                    _ => throw new TemplateRuntimeException($"Unknown conversion specifier {conv}"),
                };
                if (spec is not null && spec.Contains('{'))
                    spec = Format(state, spec, positional, named, mapping);
                sb.Append(ApplySpec(value, spec ?? ""));
            }
            else if (c == '}')
            {
                if (i + 1 < format.Length && format[i + 1] == '}') { sb.Append('}'); i += 2; continue; }
                throw new TemplateRuntimeException("Single '}' encountered in format string");
            }
            else { sb.Append(c); i++; }
        }
        return sb.ToString();
    }

    private static int FindClose(string s, int open)
    {
        int depth = 0;
        for (int k = open; k < s.Length; k++)
        {
            if (s[k] == '{') depth++;
            else if (s[k] == '}' && --depth == 0) return k;
        }
        throw new TemplateRuntimeException("Single '{' encountered in format string");
    }

    private static object? Resolve(RenderState state, string field, IReadOnlyList<object?> positional,
        IReadOnlyList<KeyValuePair<string, object?>>? named, object? mapping, ref int auto)
    {
        int end = 0;
        while (end < field.Length && field[end] != '.' && field[end] != '[') end++;
        string first = field[..end];
        object? value;
        if (first.Length == 0)
        {
            if (auto < 0) throw new TemplateRuntimeException("cannot switch from manual field specification to automatic field numbering");
            value = auto < positional.Count ? positional[auto++] : throw new TemplateRuntimeException($"Replacement index {auto} out of range for positional args tuple");
        }
        else if (first.All(char.IsAsciiDigit))
        {
            int k = int.Parse(first, CultureInfo.InvariantCulture);
            value = k < positional.Count ? positional[k] : throw new TemplateRuntimeException($"Replacement index {k} out of range for positional args tuple");
        }
        else
        {
            value = null;
            bool found = false;
            if (named is not null)
                foreach (var kv in named)
                    if (kv.Key == first) { value = kv.Value; found = true; }
            if (!found && mapping is not null)
                found = mapping is PyDict d && d.TryGet(first, out value);
            if (!found) throw new TemplateRuntimeException($"KeyError: '{first}'");
        }
        int p = end;
        while (p < field.Length)
        {
            if (field[p] == '.')
            {
                int q = p + 1;
                while (q < field.Length && field[q] != '.' && field[q] != '[') q++;
                value = Access.GetAttr(state, value, field[(p + 1)..q]);
                p = q;
            }
            else
            {
                int q = field.IndexOf(']', p);
                if (q < 0) throw new TemplateRuntimeException("Missing ']' in format string");
                string key = field[(p + 1)..q];
                value = Access.GetItem(state, value, key.All(char.IsAsciiDigit) && key.Length > 0 ? long.Parse(key, CultureInfo.InvariantCulture) : key);
                p = q + 1;
            }
        }
        return value;
    }

    private static string ApplySpec(object? value, string spec)
    {
        if (value is Undefined u) throw u.Fail();
        int i = 0;
        char fill = ' ';
        char? align = null;
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^' or '=') { fill = spec[0]; align = spec[1]; i = 2; }
        else if (spec.Length >= 1 && spec[0] is '<' or '>' or '^' or '=') { align = spec[0]; i = 1; }
        char sign = '-';
        if (i < spec.Length && spec[i] is '+' or '-' or ' ') sign = spec[i++];
        if (i < spec.Length && spec[i] == '#') i++;
        if (i < spec.Length && spec[i] == '0' && align is null) { fill = '0'; align = '='; i++; }
        int width = 0;
        while (i < spec.Length && char.IsAsciiDigit(spec[i])) width = width * 10 + (spec[i++] - '0');
        char? grouping = null;
        if (i < spec.Length && spec[i] is ',' or '_') grouping = spec[i++];
        int? precision = null;
        if (i < spec.Length && spec[i] == '.')
        {
            i++;
            int pr = 0;
            while (i < spec.Length && char.IsAsciiDigit(spec[i])) pr = pr * 10 + (spec[i++] - '0');
            precision = pr;
        }
        char? type = i < spec.Length ? spec[i++] : null;
        if (i != spec.Length) throw new TemplateRuntimeException($"Invalid format specifier '{spec}'");

        string body;
        bool numeric = PyOps.IsNumber(value) && type != 's';
        if (value is string s)
        {
            if (type is not (null or 's')) throw new TemplateRuntimeException($"Unknown format code '{type}' for object of type 'str'");
            body = precision is int p ? PyStrings.Slice(s, 0, p) : s;
            align ??= '<';
        }
        else if (numeric)
        {
            body = FormatNumber(value!, type, precision, grouping);
            align ??= '>';
        }
        else
        {
            if (spec.Length > 0) throw new TemplateRuntimeException($"unsupported format string passed to {PyOps.TypeName(value)}.__format__");
            return PyFormat.Str(value);
        }
        if (numeric && !body.StartsWith('-') && sign != '-') body = sign + body;
        int len = PyStrings.Length(body);
        if (len >= width) return body;
        int pad = width - len;
        string f = fill.ToString();
        return align switch
        {
            '<' => body + string.Concat(Enumerable.Repeat(f, pad)),
            '^' => string.Concat(Enumerable.Repeat(f, pad / 2)) + body + string.Concat(Enumerable.Repeat(f, pad - pad / 2)),
            '=' when body.Length > 0 && body[0] is '-' or '+' or ' ' => body[0] + string.Concat(Enumerable.Repeat(f, pad)) + body[1..],
            _ => string.Concat(Enumerable.Repeat(f, pad)) + body,
        };
    }

    private static string FormatNumber(object value, char? type, int? precision, char? grouping)
    {
        if (type is null && precision is null && grouping is null) return PyFormat.Str(value is bool ? PyOps.ToLong(value) : value);
        if (type is 'd' or 'n' or 'x' or 'X' or 'o' or 'b' or 'c' || (type is null && value is not double))
        {
            if (value is double) throw new TemplateRuntimeException($"Unknown format code '{type}' for object of type 'float'");
            long l = PyOps.ToLong(value);
            string mag = type switch
            {
                'x' => Math.Abs(l).ToString("x", CultureInfo.InvariantCulture),
                'X' => Math.Abs(l).ToString("X", CultureInfo.InvariantCulture),
                'o' => Convert.ToString(Math.Abs(l), 8),
                'b' => Convert.ToString(Math.Abs(l), 2),
                'c' => char.ConvertFromUtf32((int)l),
                _ => Group(Math.Abs(l).ToString(CultureInfo.InvariantCulture), grouping),
            };
            return (l < 0 ? "-" : "") + mag;
        }
        double d = PyOps.ToDouble(value);
        string text = type switch
        {
            'f' or 'F' => PyFormat.FormatFloat(d, 'f', precision ?? 6),
            'e' or 'E' => PyFormat.FormatFloat(d, type.Value, precision ?? 6),
            'g' or 'G' => PyFormat.FormatFloat(d, type.Value, precision ?? 6),
            '%' => PyFormat.FormatFloat(d * 100, 'f', precision ?? 6) + "%",
            null => PyFormat.FormatFloat(d, 'g', precision ?? 12),
            _ => throw new TemplateRuntimeException($"Unknown format code '{type}' for object of type 'float'"),
        };
        if (grouping is not null)
        {
            bool neg = text.StartsWith('-');
            string t = neg ? text[1..] : text;
            int dot = t.IndexOfAny(['.', 'e', '%']);
            string intPart = dot >= 0 ? t[..dot] : t;
            text = (neg ? "-" : "") + Group(intPart, grouping) + (dot >= 0 ? t[dot..] : "");
        }
        return text;
    }

    private static string Group(string digits, char? sep)
    {
        if (sep is null || digits.Length <= 3) return digits;
        var sb = new StringBuilder();
        int first = digits.Length % 3;
        if (first > 0) sb.Append(digits, 0, first);
        for (int k = first; k < digits.Length; k += 3)
        {
            if (sb.Length > 0) sb.Append(sep.Value);
            sb.Append(digits, k, 3);
        }
        return sb.ToString();
    }
}
