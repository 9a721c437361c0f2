using System.Globalization;
using System.Text;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>
/// Python's <c>json.dumps(value, ensure_ascii, indent, separators, sort_keys)</c>, which is what transformers
/// installs as the chat-template <c>tojson</c> filter (with ensure_ascii=False by default, so non-ASCII text is
/// written as is, unlike jinja2's own HTML-safe tojson).
/// </summary>
internal static class PyJson
{
    public static string Dumps(object? value, bool ensureAscii, object? indent, object? separators, bool sortKeys)
    {
        string? indentUnit = indent switch
        {
            null => null,
            string s => s,
            bool or long => new string(' ', (int)Math.Max(0, PyOps.ToLong(indent))),
            _ => throw new TemplateRuntimeException($"tojson: indent must be an int or a string, not {PyOps.TypeName(indent)}"),
        };
        string itemSep, keySep;
        if (separators is null)
        {
            itemSep = indentUnit is null ? ", " : ",";
            keySep = ": ";
        }
        else
        {
            var parts = PyOps.ToList(separators);
            if (parts.Count != 2 || parts[0] is not string a || parts[1] is not string b)
                throw new TemplateRuntimeException("tojson: separators must be an (item_separator, key_separator) pair of strings");
            itemSep = a;
            keySep = b;
        }
        var writer = new Writer(ensureAscii, indentUnit, itemSep, keySep, sortKeys);
        writer.Write(value, 0);
        return writer.ToString();
    }

    private sealed class Writer(bool ensureAscii, string? indent, string itemSep, string keySep, bool sortKeys)
    {
        private readonly StringBuilder _sb = new();

        public override string ToString() => _sb.ToString();

        public void Write(object? v, int level)
        {
            switch (v)
            {
                case null: _sb.Append("null"); break;
                case bool b: _sb.Append(b ? "true" : "false"); break;
                case long l: _sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
                case double d: _sb.Append(Float(d)); break;
                case string s: WriteString(s); break;
                case PyDict dict: WriteDict(dict, level); break;
                case List<object?> or PyTuple or PyDictView:
                    WriteList((IReadOnlyList<object?>)v, level);
                    break;
                default:
                    throw new TemplateRuntimeException($"Object of type {PyOps.TypeName(v)} is not JSON serializable");
            }
        }

        private static string Float(double d) =>
            double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyFormat.FloatRepr(d);

        private void NewLine(int level)
        {
            if (indent is null) return;
            _sb.Append('\n');
            for (int i = 0; i < level; i++) _sb.Append(indent);
        }

        private void WriteList(IReadOnlyList<object?> items, int level)
        {
            if (items.Count == 0) { _sb.Append("[]"); return; }
            _sb.Append('[');
            for (int i = 0; i < items.Count; i++)
            {
                if (i > 0) _sb.Append(itemSep);
                NewLine(level + 1);
                Write(items[i], level + 1);
            }
            NewLine(level);
            _sb.Append(']');
        }

        private void WriteDict(PyDict dict, int level)
        {
            if (dict.Count == 0) { _sb.Append("{}"); return; }
            IEnumerable<KeyValuePair<object?, object?>> entries = dict.Entries;
            if (sortKeys)
            {
                if (dict.Entries.Any(kv => kv.Key is not string))
                    throw new TemplateRuntimeException("tojson(sort_keys=True) needs string keys");
                entries = dict.Entries.OrderBy(kv => (string)kv.Key!, Comparer<string>.Create(PyStrings.CompareCodePoints));
            }
            _sb.Append('{');
            bool first = true;
            foreach (var kv in entries)
            {
                if (!first) _sb.Append(itemSep);
                first = false;
                NewLine(level + 1);
                WriteString(KeyString(kv.Key));
                _sb.Append(keySep);
                Write(kv.Value, level + 1);
            }
            NewLine(level);
            _sb.Append('}');
        }

        private static string KeyString(object? key) => key switch
        {
            string s => s,
            null => "null",
            bool b => b ? "true" : "false",
            long l => l.ToString(CultureInfo.InvariantCulture),
            double d => Float(d),
            _ => throw new TemplateRuntimeException($"keys must be str, int, float, bool or None, not {PyOps.TypeName(key)}"),
        };

        private void WriteString(string s)
        {
            _sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': _sb.Append("\\\""); break;
                    case '\\': _sb.Append("\\\\"); break;
                    case '\n': _sb.Append("\\n"); break;
                    case '\r': _sb.Append("\\r"); break;
                    case '\t': _sb.Append("\\t"); break;
                    case '\b': _sb.Append("\\b"); break;
                    case '\f': _sb.Append("\\f"); break;
                    default:
                        if (c < 0x20 || (ensureAscii && c > 0x7e))
                            _sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else
                            _sb.Append(c);
                        break;
                }
            }
            _sb.Append('"');
        }
    }
}
