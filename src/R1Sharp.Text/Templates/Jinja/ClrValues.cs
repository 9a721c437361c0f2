using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>
/// Converts .NET values handed to a template into the Python-like value model: null → None, bool, integers →
/// int, floating point → float, strings, JSON (JsonElement / JsonNode: objects keep their key order, numbers
/// without '.', 'e' or 'E' become ints as in Python's json.loads), dictionaries → dict, other sequences → list.
/// </summary>
internal static class ClrValues
{
    public static object? From(object? value) => value switch
    {
        null => null,
        string or bool or long or double => value,
        int i => (long)i,
        short s => (long)s,
        byte b => (long)b,
        sbyte sb => (long)sb,
        ushort us => (long)us,
        uint ui => (long)ui,
        ulong ul => ul <= long.MaxValue ? (long)ul : (double)ul,
        float f => (double)f,
        decimal m => (double)m,
        char c => c.ToString(),
        JsonElement e => FromJson(e),
        JsonDocument doc => FromJson(doc.RootElement),
        JsonNode node => FromJson(JsonSerializer.SerializeToElement(node)),
        PyDict or PyTuple or PyNamespace or Undefined or PyCallable => value,
        ChatMessage m => m.ToTemplateValue(),
        IDictionary dict => FromDictionary(dict),
        IEnumerable<KeyValuePair<string, object?>> pairs => FromPairs(pairs),
        IEnumerable seq => FromSequence(seq),
        _ => throw new ArgumentException($"A {value.GetType().Name} cannot be passed to a chat template; use strings, numbers, bools, " +
                                         "lists, dictionaries or System.Text.Json values."),
    };

    private static PyDict FromDictionary(IDictionary dict)
    {
        var d = new PyDict();
        foreach (DictionaryEntry e in dict) d.Set(From(e.Key), From(e.Value));
        return d;
    }

    private static PyDict FromPairs(IEnumerable<KeyValuePair<string, object?>> pairs)
    {
        var d = new PyDict();
        foreach (var kv in pairs) d.Set(kv.Key, From(kv.Value));
        return d;
    }

    private static List<object?> FromSequence(IEnumerable seq)
    {
        var list = new List<object?>();
        foreach (var x in seq) list.Add(From(x));
        return list;
    }

    public static object? FromJson(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Null:
            case JsonValueKind.Undefined:
                return null;
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.String: return e.GetString();
            case JsonValueKind.Number:
            {
                string raw = e.GetRawText();
                if (raw.IndexOfAny(['.', 'e', 'E']) < 0 && long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
                    return l;
                return double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
            case JsonValueKind.Array:
            {
                var list = new List<object?>(e.GetArrayLength());
                foreach (var x in e.EnumerateArray()) list.Add(FromJson(x));
                return list;
            }
            default:
            {
                var d = new PyDict();
                foreach (var p in e.EnumerateObject()) d.Set(p.Name, FromJson(p.Value));
                return d;
            }
        }
    }
}
