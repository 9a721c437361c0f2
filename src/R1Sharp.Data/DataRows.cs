using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace R1Sharp.Data;

/// <summary>
/// One row of a data file: the file, its 1-based line (JSONL) or row number (JSON array, Parquet), and its fields.
/// The accessors raise <see cref="DatasetFormatException"/>s that name file, line and field.
/// </summary>
public sealed record DataRow(string File, long Line, JsonObject Fields)
{
    /// <summary>"file:line", for provenance.</summary>
    public string Where => $"{File}:{Line}";

    /// <summary>The field's value (null when absent or JSON null).</summary>
    public JsonNode? this[string field] => Fields[field];

    /// <summary>An error about this row (or one of its fields).</summary>
    public DatasetFormatException Error(string? field, string problem) => new(File, Line, field, problem);

    /// <summary>The first of <paramref name="names"/> the row has (not null), or null.</summary>
    public string? FirstPresent(params string[] names) => names.FirstOrDefault(n => Fields[n] is not null);

    /// <summary>A required string field (the first present of <paramref name="names"/>: alternatives in order).</summary>
    public string String(params string[] names) => OptionalString(names) ?? throw Missing(names);

    /// <summary>A string field, or null when none of <paramref name="names"/> is present.</summary>
    public string? OptionalString(params string[] names)
    {
        if (FirstPresent(names) is not { } name) return null;
        var node = Fields[name]!;
        return node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>()
            : throw Error(name, $"expected a string, got {Kind(node)}");
    }

    /// <summary>A required string or number (a number as its JSON text, e.g. a GSM8K answer 18).</summary>
    public string Scalar(params string[] names)
    {
        if (FirstPresent(names) is not { } name) throw Missing(names);
        var node = Fields[name]!;
        return node.GetValueKind() is JsonValueKind.String or JsonValueKind.Number ? Text(node)
            : throw Error(name, $"expected a string or a number, got {Kind(node)}");
    }

    /// <summary>An optional finite number (null when absent).</summary>
    public double? Number(string field)
    {
        var node = Fields[field];
        if (node is null) return null;
        if (node.GetValueKind() != JsonValueKind.Number) throw Error(field, $"expected a number, got {Kind(node)}");
        double value = node.GetValue<double>();
        return double.IsFinite(value) ? value : throw Error(field, $"not a finite number: {value}");
    }

    /// <summary>A missing-field error that lists the alternatives looked for and the fields the row has.</summary>
    public DatasetFormatException Missing(params string[] names) => Error(names[0],
        (names.Length == 1 ? "missing" : $"missing (also looked for {string.Join(", ", names.Skip(1).Select(n => $"'{n}'"))})") +
        $"; the row has {(Fields.Count == 0 ? "no fields" : string.Join(", ", Fields.Select(kv => kv.Key)))}");

    /// <summary>A value as the text a reward or a prompt reads: a string as it is, anything else as compact JSON.</summary>
    public static string Text(JsonNode node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : node.ToJsonString(JsonFormat.Compact);

    /// <summary>The chat role of a ShareGPT turn's <c>from</c>: human → user, gpt → assistant; user, assistant, system and tool
    /// as they are; null for any other name.</summary>
    public static string? ShareGptRole(string from) => from switch
    {
        "human" or "user" => "user",
        "gpt" or "assistant" => "assistant",
        "system" or "tool" => from,
        _ => null,
    };

    /// <summary>The JSON kind of a value, for messages ("a string", "an array", …).</summary>
    public static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            var k => k.ToString(),
        },
    };
}

/// <summary>
/// The one reader of data files, by extension: JSON lines (<c>.jsonl</c>, <c>.ndjson</c>, and <c>.json</c> files that are
/// not one array, as <c>datasets.Dataset.to_json</c> writes them), a JSON array of objects (any of those extensions, as
/// Hugging Face datasets reads it: a file that starts with <c>[</c>), either of those
/// gzip-compressed (<c>.gz</c>), and Parquet (<see cref="ParquetFile"/>: nested lists and structs become JSON arrays and
/// objects). Blank lines are skipped; a row that is not a JSON object, invalid JSON
/// and duplicate keys are errors naming the file and line. <see cref="ReadAsync"/> streams; <see cref="Read"/> is the same
/// reader, blocking. A folder in the Hub's dataset layout, or <c>folder:split</c>, is read as the files of one split
/// (<see cref="DatasetFolder"/>).
/// </summary>
public static class DataRows
{
    static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = 256 };

    /// <summary>Formats of the Hub that are not read here: named in the error, instead of a JSON error about their first line.</summary>
    static readonly string[] OtherFormats = [".csv", ".tsv", ".arrow", ".feather", ".xlsx"];

    /// <summary>UTF-8 that throws on bytes that are not UTF-8, instead of turning them into U+FFFD (a UTF-16 BOM still switches to UTF-16).</summary>
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The file's rows, in order.</summary>
    /// <param name="malformed">When given, a row that is not a JSON object (invalid JSON, another value, duplicate keys) is passed
    /// here and skipped instead of stopping the read; problems with the file as a whole still throw.</param>
    public static async IAsyncEnumerable<DataRow> ReadAsync(string path, [EnumeratorCancellation] CancellationToken ct = default,
        Action<DatasetFormatException>? malformed = null)
    {
        if (!File.Exists(path) && DatasetFolder.TryParse(path, out var folder, out var split))
        {
            foreach (var shard in DatasetFolder.Files(folder, split))
                await foreach (var row in ReadAsync(shard, ct, malformed).ConfigureAwait(false)) yield return row;
            yield break;
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: data file not found", path);
        string name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        if (name.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var row in ParquetFile.Read(path, ct)) yield return row;
            yield break;
        }
        if (OtherFormats.FirstOrDefault(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase)) is { } other)
            throw new DatasetFormatException(path, 0, null, $"a {other} file; r1sharp reads JSON lines (.jsonl, .ndjson, .json), a JSON array " +
                                                            "(.json) and Parquet (.parquet), optionally gzip-compressed: convert it (datasets' to_json or to_parquet)");
        await using var stream = Open(path);
        using var reader = new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: true);
        // A file that starts with '[' is one array of objects, whatever its extension: no JSON-lines file starts so.
        var (first, line) = SkipWhitespace(reader, path);
        if (first == '[')
        {
            foreach (var row in ReadArray(path, await ReadToEnd(reader, path, ct).ConfigureAwait(false), line, malformed)) yield return row;
            yield break;
        }
        while (await ReadLine(reader, path, line, ct).ConfigureAwait(false) is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonObject fields;
            try { fields = ParseObject(text, path, line); }
            catch (DatasetFormatException e) when (malformed is not null)
            {
                malformed(e);
                continue;
            }
            yield return new DataRow(path, line, fields);
        }
    }

    /// <summary>The file's rows, in order (blocking; the same reader as <see cref="ReadAsync"/>).</summary>
    public static IEnumerable<DataRow> Read(string path, CancellationToken ct = default, Action<DatasetFormatException>? malformed = null) =>
        ReadAsync(path, ct, malformed).ToBlockingEnumerable(ct);

    /// <summary>Whether <paramref name="path"/> is something <see cref="Read"/> reads: a file, a dataset folder, or <c>folder:split</c>.</summary>
    public static bool Exists(string path) => File.Exists(path) || DatasetFolder.TryParse(path, out _, out _);

    /// <summary>Every row, read before returning.</summary>
    public static IReadOnlyList<DataRow> ReadAll(string path, CancellationToken ct = default) => [.. Read(path, ct)];

    /// <summary>Writes JSON lines whole or not at all (<see cref="AtomicFile"/>), in R1Sharp's JSON conventions (<see cref="JsonFormat"/>).</summary>
    public static void WriteJsonl(string path, IEnumerable<JsonNode> rows)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir) Directory.CreateDirectory(dir);
        AtomicFile.Write(path, w =>
        {
            foreach (var row in rows) w.WriteLine(row.ToJsonString(JsonFormat.Compact));
        });
    }

    /// <summary>One line as a JSON object (duplicate keys refused).</summary>
    public static JsonObject ParseObject(string text, string file, long line)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(text, documentOptions: Strict); }
        catch (JsonException e)
        {
            // A lone "{" is the first line of a pretty-printed object: say what the reader takes.
            string hint = text.Trim() == "{" ? "; in JSON lines each object is on one line (or the file holds one array of objects)" : "";
            throw new DatasetFormatException(file, line, null, $"not valid JSON ({Describe(e)}){hint}", e);
        }
        return node as JsonObject ?? throw new DatasetFormatException(file, line, null, $"expected a JSON object, got {DataRow.Kind(node)}");
    }

    /// <param name="linesBefore">Lines of the file before <paramref name="text"/> (blank ones), so that a JSON error names the file's line.</param>
    static IEnumerable<DataRow> ReadArray(string path, string text, long linesBefore, Action<DatasetFormatException>? malformed)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(text, documentOptions: Strict); }
        catch (JsonException e) { throw new DatasetFormatException(path, linesBefore + (e.LineNumber ?? -1) + 1, null, $"not valid JSON ({Describe(e)})", e); }
        if (node is not JsonArray array) throw new DatasetFormatException(path, 0, null, $"expected a JSON array of objects, got {DataRow.Kind(node)}");
        var rows = new List<DataRow>(array.Count);
        for (int i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject item)
            {
                var error = new DatasetFormatException(path, i + 1, null, $"expected a JSON object, got {DataRow.Kind(array[i])}");
                if (malformed is null) throw error;
                malformed(error);
                continue;
            }
            array[i] = null;                                   // detach, so the row owns its object
            rows.Add(new DataRow(path, i + 1, item));
        }
        return rows;
    }

    /// <summary>The file's bytes, decompressed when it ends in .gz.</summary>
    static Stream Open(string path)
    {
        var file = File.OpenRead(path);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    /// <summary>Reads the leading whitespace: the first other character (-1 at the end), and the line breaks read (\n, \r\n, \r), so
    /// that the lines read after it keep their numbers in the file.</summary>
    static (int First, long Lines) SkipWhitespace(StreamReader reader, string path)
    {
        try
        {
            long lines = 0;
            while (reader.Peek() is var c && c >= 0 && char.IsWhiteSpace((char)c))
            {
                reader.Read();
                if (c == '\n' || (c == '\r' && reader.Peek() != '\n')) lines++;
            }
            return (reader.Peek(), lines);
        }
        catch (InvalidDataException e) { throw new DatasetFormatException(path, 1, null, $"cannot decompress ({e.Message})", e); }
        catch (DecoderFallbackException e) { throw NotUtf8(path, e); }
    }

    static async Task<string?> ReadLine(StreamReader reader, string path, long line, CancellationToken ct)
    {
        try { return await reader.ReadLineAsync(ct).ConfigureAwait(false); }
        catch (InvalidDataException e) { throw new DatasetFormatException(path, line + 1, null, $"cannot decompress ({e.Message})", e); }
        catch (DecoderFallbackException e) { throw NotUtf8(path, e); }
    }

    static async Task<string> ReadToEnd(StreamReader reader, string path, CancellationToken ct)
    {
        try { return await reader.ReadToEndAsync(ct).ConfigureAwait(false); }
        catch (InvalidDataException e) { throw new DatasetFormatException(path, 0, null, $"cannot decompress ({e.Message})", e); }
        catch (DecoderFallbackException e) { throw NotUtf8(path, e); }
    }

    /// <summary>
    /// The error for a file that is not UTF-8, naming the line of its first bad byte. The reader decodes ahead of the line it
    /// returns, so the line is found by scanning the file again (only on this error path), counting line breaks as
    /// <see cref="StreamReader.ReadLine"/> does (\n, \r\n, \r).
    /// </summary>
    static DatasetFormatException NotUtf8(string path, DecoderFallbackException cause)
    {
        using var stream = Open(path);
        var buffer = new byte[1 << 16];
        int kept = 0;
        long line = 1, offset = 0;
        bool afterCr = false;
        while (true)
        {
            int read = stream.Read(buffer, kept, buffer.Length - kept);
            int end = kept + read, at = 0;
            while (at < end)
            {
                var status = Rune.DecodeFromUtf8(buffer.AsSpan(at, end - at), out _, out int used);
                if (status == OperationStatus.NeedMoreData && read > 0) break;   // a sequence cut by the buffer's end: read on
                if (status != OperationStatus.Done)
                    return new DatasetFormatException(path, line, null,
                        $"not valid UTF-8 (byte 0x{buffer[at]:X2} at byte {offset + at}); save the file as UTF-8", cause);
                if ((buffer[at] == '\n' && !afterCr) || buffer[at] == '\r') line++;
                afterCr = buffer[at] == '\r';
                at += used;
            }
            if (read == 0) break;
            kept = end - at;
            Array.Copy(buffer, at, buffer, 0, kept);
            offset += at;
        }
        // Not found in a second read (the file changed meanwhile): say so without a line.
        return new DatasetFormatException(path, 0, null, $"not valid UTF-8 ({cause.Message}); save the file as UTF-8", cause);
    }

    /// <summary>System.Text.Json's message without its own "LineNumber | BytePositionInLine" suffix (the caller names the line).</summary>
    static string Describe(JsonException e)
    {
        string m = e.Message;
        int cut = m.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? m[..cut] : m).TrimEnd('.', ' ');
    }
}
