using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Data;

namespace R1Sharp.Tasks;

/// <summary>
/// Which columns of a user dataset become the prompt, the id and the reference fields.
/// </summary>
/// <param name="Prompt">The prompt column; null = the first present of <c>prompt</c>, <c>question</c>,
/// <c>problem</c>, <c>input</c> (any letter case). A string, or a chat message list (<c>[{"role": "user", "content": …}]</c>,
/// content a string or text parts; or ShareGPT's <c>[{"from": "human", "value": …}]</c>), in
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
/// Loads user prompts from any file <see cref="DataRows"/> reads (JSONL, JSON, Parquet, gzip-compressed). Column values
/// become text: strings as they are, numbers and booleans as their JSON text, lists and objects as compact JSON; null
/// values count as missing.
/// </summary>
public static class DatasetLoader
{
    /// <summary>Loads <paramref name="path"/>.</summary>
    public static async Task<LoadedDataset> LoadAsync(string path, DatasetLoadOptions? options = null, CancellationToken cancellationToken = default)
    {
        var builder = new Builder(path, options ?? new DatasetLoadOptions());
        await foreach (var row in DataRows.ReadAsync(path, cancellationToken, builder.Malformed).ConfigureAwait(false)) builder.Add(row);
        return builder.Result();
    }

    /// <summary>Loads <paramref name="path"/> (blocking).</summary>
    public static LoadedDataset Load(string path, DatasetLoadOptions? options = null, CancellationToken cancellationToken = default)
    {
        var builder = new Builder(path, options ?? new DatasetLoadOptions());
        foreach (var row in DataRows.Read(path, cancellationToken, builder.Malformed)) builder.Add(row);
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

        public void Add(DataRow row)
        {
            try
            {
                var columns = new Dictionary<string, Value>(StringComparer.Ordinal);
                foreach (var (name, node) in row.Fields)
                    if (node is not null) columns[name] = FromJson(node);
                _examples.Add(Build(row.Line, columns));
            }
            catch (DatasetFormatException ex) when (options.SkipMalformed)
            {
                _problems.Add(ex);
            }
        }

        public LoadedDataset Result() => new(_examples, _problems.Count, _problems);

        /// <summary>With <see cref="DatasetLoadOptions.SkipMalformed"/>, where the reader reports rows that are not JSON objects.</summary>
        public Action<DatasetFormatException>? Malformed => options.SkipMalformed ? _problems.Add : null;
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

    private static Value FromJson(JsonNode node) => node switch
    {
        JsonArray array => new Value(DataRow.Text(node), false, ParseMessages(array)),
        _ => new Value(DataRow.Text(node), node.GetValueKind() == JsonValueKind.String),
    };

    /// <summary>
    /// A chat message list — <c>{role, content}</c> with content a string or a list of text parts (joined), or ShareGPT's
    /// <c>{from, value}</c> (human → user, gpt → assistant) — or null when the list is not one.
    /// </summary>
    private static List<(string, string)>? ParseMessages(JsonArray array)
    {
        var messages = new List<(string, string)>();
        foreach (var item in array)
        {
            if (item is not JsonObject m) return null;
            string? role = StringOf(m["role"]) ?? (StringOf(m["from"]) is { } from ? DataRow.ShareGptRole(from) ?? from : null);
            string? content = m["content"] is JsonArray parts ? TextParts(parts) : StringOf(m["content"] ?? m["value"]);
            if (role is null || content is null) return null;
            messages.Add((role, content));
        }
        return messages.Count > 0 ? messages : null;
    }

    private static string? StringOf(JsonNode? node) => node is not null && node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;

    /// <summary>OpenAI's content parts <c>[{"type": "text", "text"}]</c> joined, or null when a part is not text.</summary>
    private static string? TextParts(JsonArray parts)
    {
        var text = new System.Text.StringBuilder();
        foreach (var part in parts)
        {
            if (part is not JsonObject p || StringOf(p["type"]) != "text" || StringOf(p["text"]) is not { } piece) return null;
            text.Append(piece);
        }
        return text.ToString();
    }
}
