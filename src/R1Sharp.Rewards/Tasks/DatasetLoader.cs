using System.Collections;
using System.Globalization;
using System.Text.Json;
using Parquet.Serialization;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Rewards.Tasks;

/// <summary>A malformed dataset row: names the file, the line (JSONL) or row (Parquet), and the field.</summary>
public sealed class DatasetFormatException(string file, long line, string? field, string problem, Exception? inner = null)
    : Exception($"{file}:{line}{(field is null ? "" : $": field '{field}'")}: {problem}", inner)
{
    /// <summary>The file.</summary>
    public string File { get; } = file;
    /// <summary>The 1-based line (JSONL) or row (Parquet).</summary>
    public long Line { get; } = line;
    /// <summary>The field at fault, or null for the whole row.</summary>
    public string? Field { get; } = field;
    /// <summary>What is wrong.</summary>
    public string Problem { get; } = problem;
}

/// <summary>
/// Which columns of a user dataset become the prompt, the id and the reference fields.
/// </summary>
/// <param name="Prompt">The prompt column; null = the first present of <c>prompt</c>, <c>question</c>,
/// <c>problem</c>, <c>input</c> (any letter case). A string, or a chat message list (<c>[{"role": "user", "content": …}]</c>), in
/// which case the question is the last user message and the whole list is kept as reference field
/// <c>messages</c> (JSON).</param>
/// <param name="Id">The id column; null = <c>id</c> when present, else "{file name}-{row number}".</param>
/// <param name="Reference">Reference field name → column name, e.g. <c>{"answer": "final_answer"}</c>.</param>
/// <param name="CopyOtherColumns">Also copy every other column as a reference field of its own name.</param>
/// <param name="Required">Reference fields every row must have, e.g. <c>["answer"]</c>.</param>
public sealed record FieldMapping(
    string? Prompt = null,
    string? Id = null,
    IReadOnlyDictionary<string, string>? Reference = null,
    bool CopyOtherColumns = true,
    IReadOnlyList<string>? Required = null)
{
    /// <summary>Columns tried, in order, when <see cref="Prompt"/> is null.</summary>
    public static IReadOnlyList<string> DefaultPromptColumns { get; } = ["prompt", "question", "problem", "input"];
}

/// <summary>Options for <see cref="DatasetLoader"/>.</summary>
/// <param name="Mapping">Column mapping; null = defaults.</param>
/// <param name="Style">How the question is rendered as the prompt.</param>
/// <param name="SkipMalformed">Skip malformed rows and count them instead of failing on the first.</param>
public sealed record DatasetLoadOptions(FieldMapping? Mapping = null, PromptStyle Style = PromptStyle.Raw, bool SkipMalformed = false);

/// <summary>Loaded examples, plus the rows skipped (with <see cref="DatasetLoadOptions.SkipMalformed"/>) and why.</summary>
public sealed record LoadedDataset(IReadOnlyList<TaskExample> Examples, int Skipped, IReadOnlyList<DatasetFormatException> Problems);

/// <summary>
/// Loads user prompts from JSONL (one JSON object per line) or Parquet (Parquet.Net's untyped reader), by file
/// extension. Column values become text: strings as they are, numbers and booleans in invariant form, lists and
/// objects as compact JSON; null values count as missing.
/// </summary>
public static class DatasetLoader
{
    /// <summary>Loads <paramref name="path"/> (<c>.jsonl</c>, <c>.json</c> lines, or <c>.parquet</c>).</summary>
    public static async Task<LoadedDataset> LoadAsync(string path, DatasetLoadOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DatasetLoadOptions();
        if (!File.Exists(path)) throw new FileNotFoundException($"Dataset file not found: {path}", path);
        if (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
            return await LoadParquetAsync(path, options, cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(path);
        return LoadJsonl(reader, path, options, cancellationToken);
    }

    /// <summary>Loads JSONL text; <paramref name="source"/> names the file in errors.</summary>
    public static LoadedDataset LoadJsonl(TextReader reader, string source, DatasetLoadOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DatasetLoadOptions();
        var builder = new Builder(source, options);
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            builder.Add(lineNumber, () =>
            {
                JsonElement root;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    root = doc.RootElement.Clone();
                }
                catch (JsonException ex)
                {
                    throw new DatasetFormatException(source, lineNumber, null, $"invalid JSON ({ex.Message})", ex);
                }
                if (root.ValueKind != JsonValueKind.Object)
                    throw new DatasetFormatException(source, lineNumber, null, $"expected a JSON object, got {root.ValueKind}");
                var columns = new Dictionary<string, Value>(StringComparer.Ordinal);
                foreach (var property in root.EnumerateObject())
                    if (property.Value.ValueKind != JsonValueKind.Null) columns[property.Name] = FromJson(property.Value);
                return columns;
            });
        }
        return builder.Result();
    }

    /// <summary>Loads a Parquet file with the untyped reader (typed reading lost nested lists, DESIGN §7).</summary>
    public static async Task<LoadedDataset> LoadParquetAsync(string path, DatasetLoadOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DatasetLoadOptions();
        var builder = new Builder(path, options);
        IList<Dictionary<string, object>> rows;
        try
        {
            await using var stream = File.OpenRead(path);
            var result = await ParquetSerializer.DeserializeUntypedAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            rows = result.Data;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new DatasetFormatException(path, 0, null, $"cannot read Parquet ({ex.Message})", ex);
        }
        for (int i = 0; i < rows.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var row = rows[i];
            builder.Add(i + 1, () =>
            {
                var columns = new Dictionary<string, Value>(StringComparer.Ordinal);
                foreach (var (key, value) in row)
                    if (value is not null) columns[key] = FromObject(value);
                return columns;
            });
        }
        return builder.Result();
    }

    /// <summary>A column value: its text, and for a message list the parsed messages.</summary>
    private sealed record Value(string Text, bool IsString, IReadOnlyList<(string Role, string Content)>? Messages = null);

    private sealed class Builder(string source, DatasetLoadOptions options)
    {
        private readonly List<TaskExample> _examples = [];
        private readonly List<DatasetFormatException> _problems = [];
        private readonly FieldMapping _mapping = options.Mapping ?? new FieldMapping();
        private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

        public void Add(long line, Func<Dictionary<string, Value>> readColumns)
        {
            try
            {
                _examples.Add(Build(line, readColumns()));
            }
            catch (DatasetFormatException ex) when (options.SkipMalformed)
            {
                _problems.Add(ex);
            }
        }

        public LoadedDataset Result() => new(_examples, _problems.Count, _problems);

        private TaskExample Build(long line, Dictionary<string, Value> columns)
        {
            string promptColumn = _mapping.Prompt
                ?? FieldMapping.DefaultPromptColumns.Select(d => columns.Keys.FirstOrDefault(k => string.Equals(k, d, StringComparison.OrdinalIgnoreCase))).FirstOrDefault(k => k is not null)
                ?? throw new DatasetFormatException(source, line, "prompt",
                    $"no prompt column (looked for {string.Join(", ", FieldMapping.DefaultPromptColumns)}; columns: {string.Join(", ", columns.Keys)}); set FieldMapping.Prompt");
            if (!columns.TryGetValue(promptColumn, out var promptValue))
                throw new DatasetFormatException(source, line, promptColumn, "missing");

            var reference = new Dictionary<string, string>(StringComparer.Ordinal);
            string question;
            if (promptValue.Messages is { } messages)
            {
                var lastUser = messages.LastOrDefault(m => m.Role == "user");
                if (lastUser.Content is null) throw new DatasetFormatException(source, line, promptColumn, "message list has no user message");
                question = lastUser.Content;
                reference["messages"] = promptValue.Text;
            }
            else if (promptValue.IsString)
            {
                question = promptValue.Text;
            }
            else
            {
                throw new DatasetFormatException(source, line, promptColumn, "expected a string or a list of chat messages");
            }
            if (string.IsNullOrWhiteSpace(question)) throw new DatasetFormatException(source, line, promptColumn, "empty prompt");

            var mapped = new HashSet<string>(StringComparer.Ordinal) { promptColumn };
            foreach (var (field, column) in _mapping.Reference ?? new Dictionary<string, string>())
            {
                mapped.Add(column);
                if (columns.TryGetValue(column, out var value)) reference[field] = value.Text;
            }
            string idColumn = _mapping.Id ?? "id";
            mapped.Add(idColumn);
            if (_mapping.CopyOtherColumns)
                foreach (var (column, value) in columns)
                    if (!mapped.Contains(column) && !reference.ContainsKey(column)) reference[column] = value.Text;
            foreach (string field in _mapping.Required ?? [])
                if (!reference.TryGetValue(field, out var v) || string.IsNullOrWhiteSpace(v))
                    throw new DatasetFormatException(source, line, (_mapping.Reference?.TryGetValue(field, out var col) == true ? col : field), "missing (required)");

            string id = columns.TryGetValue(idColumn, out var idValue) ? idValue.Text : $"{Path.GetFileNameWithoutExtension(source)}-{line}";
            if (!_ids.Add(id)) throw new DatasetFormatException(source, line, idColumn, $"duplicate id '{id}'");
            return new TaskExample(id, question, PromptTemplates.Render(question, options.Style), reference);
        }
    }

    private static Value FromJson(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return new Value(element.GetString()!, true);
            case JsonValueKind.Array:
                return new Value(element.GetRawText(), false, ParseMessages(element));
            case JsonValueKind.True:
            case JsonValueKind.False:
                return new Value(element.ValueKind == JsonValueKind.True ? "true" : "false", false);
            default:
                return new Value(element.GetRawText(), false);
        }
    }

    private static List<(string, string)>? ParseMessages(JsonElement array)
    {
        var messages = new List<(string, string)>();
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object
                || !item.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !item.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                return null;
            messages.Add((role.GetString()!, content.GetString()!));
        }
        return messages.Count > 0 ? messages : null;
    }

    private static Value FromObject(object value)
    {
        if (value is string s) return new Value(s, true);
        if (value is ReadOnlyMemory<char> m) return new Value(m.ToString(), true);
        if (value is bool b) return new Value(b ? "true" : "false", false);
        if (value is IFormattable f && value is not IEnumerable) return new Value(f.ToString(null, CultureInfo.InvariantCulture), false);
        // Lists and nested records: through JSON, so chat message lists are recognised like in JSONL.
        string json = JsonSerializer.Serialize(ToPlain(value));
        using var doc = JsonDocument.Parse(json);
        return FromJson(doc.RootElement.Clone());
    }

    private static object? ToPlain(object? value) => value switch
    {
        null => null,
        string s => s,
        ReadOnlyMemory<char> m => m.ToString(),
        IDictionary dictionary => dictionary.Keys.Cast<object>().ToDictionary(k => Convert.ToString(k, CultureInfo.InvariantCulture)!, k => ToPlain(dictionary[k])),
        IEnumerable items and not string => items.Cast<object?>().Select(ToPlain).ToList(),
        bool or IFormattable => value,
        _ => value.ToString(),
    };
}
