using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace R1Sharp.Model;

/// <summary>
/// Reading the JSON files a user hands us (config.json, safetensors headers, index files, trainer state) strictly:
/// valid UTF-8, one JSON value, no duplicate keys, and every error an <see cref="InvalidDataException"/> that names
/// the file and the line (or the key) and says what was expected.
/// </summary>
public static class JsonInput
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    /// <summary>Reads <paramref name="path"/> and parses it as one JSON object (a leading UTF-8 byte order mark is allowed).</summary>
    /// <param name="what">What the file should be, for messages: "config.json", "trainer state".</param>
    public static JsonObject ReadObject(string path, string what)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: is a folder, expected a {what} file");
        RequireLinkTarget(path);
        return ParseObject(File.ReadAllBytes(path), path, what);
    }

    /// <summary>
    /// Refuses a symbolic link whose target is missing, naming both: the Hugging Face cache keeps a snapshot's files as links
    /// into blobs/, and a download cut short leaves such links (reading one would only say the file is not found).
    /// </summary>
    public static void RequireLinkTarget(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target && info.ResolveLinkTarget(returnFinalTarget: true) is not { Exists: true })
            throw new FileNotFoundException($"{path}: a link to {target}, which does not exist (a download cut short?)", path);
    }

    /// <summary>Parses UTF-8 bytes as one JSON object; <paramref name="source"/> names them in errors.</summary>
    public static JsonObject ParseObject(ReadOnlySpan<byte> utf8, string source, string what)
    {
        if (utf8.StartsWith("\uFEFF"u8)) utf8 = utf8[3..];
        if (utf8.IsEmpty || utf8.Trim(" \t\r\n"u8).IsEmpty) throw new InvalidDataException($"{source}: empty file, expected a {what} (a JSON object)");
        try
        {
            StrictUtf8.GetCharCount(utf8);
        }
        catch (DecoderFallbackException e)
        {
            int at = Math.Max(0, e.Index);
            int line = 1 + utf8[..Math.Min(at, utf8.Length)].Count((byte)'\n');
            throw new InvalidDataException($"{source}: line {line}: byte {at} is not valid UTF-8 (a {what} is UTF-8 JSON text)", e);
        }
        JsonNode? node;
        try
        {
            using (var document = JsonDocument.Parse(utf8.ToArray(), Options))
                if (FirstRepeatedKey(document.RootElement, "") is { } repeated)
                    throw new InvalidDataException(
                        $"{source}: key '{repeated.Key}' appears twice{(repeated.In.Length > 0 ? $" in '{repeated.In}'" : "")} (a {what} must not repeat a key)");
            node = JsonNode.Parse(utf8, documentOptions: Options);
        }
        catch (JsonException e)
        {
            throw Malformed(e, source, what);
        }
        return node as JsonObject
               ?? throw new InvalidDataException($"{source}: expected a {what} (a JSON object {{…}}), got {Kind(node)}");
    }

    /// <summary>
    /// The first key that an object repeats, and the dotted path of that object ("" at the top). JSON parsers disagree
    /// on repeated keys (first wins, last wins, error), so a file that has one is ambiguous and rejected.
    /// </summary>
    static (string Key, string In)? FirstRepeatedKey(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                if (!seen.Add(property.Name)) return (property.Name, path);
                if (FirstRepeatedKey(property.Value, path.Length == 0 ? property.Name : $"{path}.{property.Name}") is { } inner) return inner;
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in element.EnumerateArray())
                if (FirstRepeatedKey(item, $"{path}[{i++}]") is { } inner) return inner;
        }
        return null;
    }

    /// <summary>The error for a JSON text that does not parse: the line (1-based) and the reader's complaint.</summary>
    public static InvalidDataException Malformed(JsonException e, string source, string what)
    {
        string message = e.Message;
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        string where = e.LineNumber is { } line ? $"line {line + 1}: " : "";
        return new InvalidDataException($"{source}: {where}not valid JSON ({message.TrimEnd('.')}); expected a {what}", e);
    }

    /// <summary>The JSON kind of a value and a short excerpt of it, for messages: <c>the number 1.5</c>, <c>null</c>.</summary>
    public static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray a => $"the list {Excerpt(a)}",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => $"the string {Excerpt(v)}",
            JsonValueKind.Number => $"the number {Excerpt(v)}",
            JsonValueKind.True or JsonValueKind.False => $"the boolean {Excerpt(v)}",
            JsonValueKind.Null => "null",
            var k => k.ToString(),
        },
        _ => node.GetType().Name,
    };

    static string Excerpt(JsonNode node)
    {
        var text = node.ToJsonString();
        return text.Length <= 60 ? text : text[..57] + "...";
    }

    public static bool IsNull(JsonNode? node) => node is null || node.GetValueKind() == JsonValueKind.Null;

    /// <summary>A JSON number with an integral value that fits a long (<c>64</c>, <c>64.0</c>, <c>1e3</c>).</summary>
    public static bool TryInteger(JsonNode? node, out long value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        var text = v.ToJsonString();
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)) return true;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d)
            || d != Math.Floor(d) || Math.Abs(d) >= 9.2e18) return false;
        value = (long)d;
        return true;
    }

    /// <summary>A finite JSON number.</summary>
    public static bool TryNumber(JsonNode? node, out double value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        return double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    public static bool TryString(JsonNode? node, out string value)
    {
        value = "";
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String) return false;
        value = v.GetValue<string>();
        return true;
    }

    public static bool TryBool(JsonNode? node, out bool value)
    {
        value = false;
        if (node is not JsonValue v || v.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False)) return false;
        value = v.GetValueKind() == JsonValueKind.True;
        return true;
    }
}
