using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Training.Logging;

namespace R1Sharp.Cli.Commands;

/// <summary>One row of a JSONL file: its 1-based line number and its object.</summary>
public sealed record JsonlRow(int Line, JsonObject Data);

/// <summary>A row that could not be used: where, which field, and why (reported as "error: …", exit 1).</summary>
public sealed class MalformedRowException(string path, int line, string? field, string problem)
    : FormatException(field is null ? $"{path}:{line}: {problem}" : $"{path}:{line}: field '{field}': {problem}")
{
    public int Line { get; } = line;
}

/// <summary>
/// Reading and writing the JSONL files the row commands (tokenize, grade, reward) take: every row read before any
/// work starts, errors that name file, line and field, and output written to a temporary file renamed into place.
/// </summary>
public static class JsonlRows
{
    /// <summary>Output rows as Python's <c>json.dumps(ensure_ascii=False)</c> would write them: no escaping of &lt;, &gt;, +, quotes or non-ASCII text.</summary>
    public static JsonSerializerOptions Options { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One compact output line.</summary>
    public static string ToLine(JsonNode node) => node.ToJsonString(Options);

    /// <summary>Reads every non-blank line of <paramref name="path"/> as a JSON object.</summary>
    /// <exception cref="UserError">A line is not a JSON object.</exception>
    public static List<JsonlRow> Read(string path)
    {
        if (!File.Exists(path)) throw new UserError($"{path}: no such file");
        var rows = new List<JsonlRow>();
        int line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(raw)) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(raw); }
            catch (JsonException e) { throw new UserError($"{path}:{line}: not valid JSON ({e.Message})"); }
            if (node is not JsonObject o) throw new UserError($"{path}:{line}: expected a JSON object, got {Kind(node)}");
            rows.Add(new JsonlRow(line, o));
        }
        return rows;
    }

    /// <summary>
    /// The first of <paramref name="names"/> that the row has (not null), as text: a string as it is; a number or
    /// boolean as its JSON text; an array or object as compact JSON. Null when none is present.
    /// </summary>
    public static (string Name, string Text)? Field(JsonObject row, params string[] names)
    {
        foreach (var name in names)
            if (row[name] is { } node)
                return (name, AsText(node));
        return null;
    }

    /// <summary>Like <see cref="Field"/>, but the value must be a string.</summary>
    public static (string Name, string Text)? StringField(string path, JsonlRow row, params string[] names)
    {
        foreach (var name in names)
        {
            if (row.Data[name] is not { } node) continue;
            if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return (name, v.GetValue<string>());
            throw new MalformedRowException(path, row.Line, name, $"expected a string, got {Kind(node)}");
        }
        return null;
    }

    /// <summary>A string or number field (a number as its JSON text, e.g. a GSM8K answer 18) that must be present.</summary>
    public static string RequiredScalar(string path, JsonlRow row, params string[] names)
    {
        foreach (var name in names)
        {
            if (row.Data[name] is not { } node) continue;
            if (node is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number) return AsText(node);
            throw new MalformedRowException(path, row.Line, name, $"expected a string or a number, got {Kind(node)}");
        }
        throw Missing(path, row, names);
    }

    private static MalformedRowException Missing(string path, JsonlRow row, string[] names) =>
        new(path, row.Line, names[0], names.Length == 1 ? "missing" : $"missing (also looked for {string.Join(", ", names.Skip(1).Select(n => $"'{n}'"))})");

    /// <summary>A string field that must be present (one of <paramref name="names"/>).</summary>
    public static string RequiredString(string path, JsonlRow row, params string[] names) =>
        StringField(path, row, names)?.Text ?? throw Missing(path, row, names);

    /// <summary>A JSON value as the text a reward reads.</summary>
    public static string AsText(JsonNode node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : node.ToJsonString(Options);

    /// <summary>The JSON kind of a node, for messages.</summary>
    public static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => v.GetValueKind().ToString(),
        },
        _ => node.GetType().Name,
    };

    /// <summary>
    /// Writes the lines to <paramref name="path"/> whole or not at all (<see cref="AtomicFile"/>: a temporary file
    /// renamed into place; devices such as /dev/null are written straight through); null writes to standard output.
    /// </summary>
    public static void Write(string? path, IEnumerable<string> lines)
    {
        if (path is null)
        {
            foreach (var line in lines) Console.WriteLine(line);
            return;
        }
        AtomicFile.Write(path, w =>
        {
            foreach (var line in lines) w.WriteLine(line);
        });
    }
}
