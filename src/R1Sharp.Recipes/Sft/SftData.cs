using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Templates;

namespace R1Sharp.Recipes.Sft;

/// <summary>
/// One supervised example, in one of TRL's shapes: text (language modelling), prompt/completion, or a conversation (<c>messages</c>).
/// A conversation trains on its assistant turns from message <see cref="TrainFrom"/> on (all of them when 0; a
/// conversational prompt/completion row puts the prompt's messages before it).
/// </summary>
public sealed record SftRecord
{
    /// <summary>Text trained on whole (language-modelling shape).</summary>
    public string? Text { get; init; }
    /// <summary>Prompt text (prompt/completion shape).</summary>
    public string? Prompt { get; init; }
    /// <summary>Completion text (prompt/completion shape).</summary>
    public string? Completion { get; init; }
    /// <summary>The conversation (messages shape).</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    /// <summary>Assistant turns of messages before this index are context, not targets.</summary>
    public int TrainFrom { get; init; }
    /// <summary>Where the example came from, for errors: "file:line" or "examples[i]".</summary>
    public string Source { get; init; } = "";

    public static SftRecord FromText(string text, string source = "") => new() { Text = text, Source = source };

    public static SftRecord FromPair(string prompt, string completion, string source = "") => new() { Prompt = prompt, Completion = completion, Source = source };

    public static SftRecord FromMessages(IReadOnlyList<ChatMessage> messages, string source = "") => new() { Messages = messages, Source = source };

    /// <summary>The embedded task's examples (<see cref="EmbeddedTask.ColdStartExamples"/>, <see cref="EmbeddedTask.GeneralSftExamples"/>), prompt already rendered.</summary>
    public static IReadOnlyList<SftRecord> FromExamples(IEnumerable<SftExample> examples)
        => examples.Select(e => FromPair(e.Prompt, e.Completion, e.Id)).ToList();
}

/// <summary>Which columns hold the prompt, the completion, the conversation and the text.</summary>
public sealed record SftFields(string Prompt = "prompt", string Completion = "completion", string Messages = "messages", string Text = "text");

/// <summary>
/// Loads SFT rows from anything <see cref="DataRows"/> reads (JSONL, JSON, Parquet, gzip, a Hub dataset folder), in TRL's
/// shapes: <c>{"messages": [{"role", "content"}, …]}</c>, <c>{"prompt": …, "completion": …}</c> (strings, or message lists:
/// the conversational prompt-completion shape), or <c>{"text": …}</c> (language modelling), tried in that order. Every problem is a
/// <see cref="DatasetFormatException"/> naming file, line and field, raised before any training starts.
/// </summary>
public static class SftData
{
    public static IReadOnlyList<SftRecord> Load(string path, SftFields? fields = null, CancellationToken ct = default)
    {
        fields ??= new SftFields();
        var records = new List<SftRecord>();
        foreach (var dataRow in DataRows.Read(path, ct))
        {
            var (row, line, source) = (dataRow.Fields, dataRow.Line, dataRow.Where);
            if (row[fields.Messages] is { } messagesNode)
            {
                var messages = Messages(messagesNode, path, line, fields.Messages);
                if (!messages.Any(m => m.Role == "assistant"))
                    throw new DatasetFormatException(path, line, fields.Messages, "no assistant message to train on");
                records.Add(SftRecord.FromMessages(messages, source));
                continue;
            }
            if (row[fields.Prompt] is null && row[fields.Completion] is null)
            {
                if (row[fields.Text] is { } textNode)
                {
                    string text = textNode.GetValueKind() == JsonValueKind.String ? textNode.GetValue<string>()
                        : throw new DatasetFormatException(path, line, fields.Text, $"expected a string, got {DataRow.Kind(textNode)}");
                    if (text.Length == 0) throw new DatasetFormatException(path, line, fields.Text, "empty text");
                    records.Add(SftRecord.FromText(text, source));
                    continue;
                }
                throw new DatasetFormatException(path, line, null,
                    $"none of '{fields.Messages}', '{fields.Prompt}'/'{fields.Completion}' or '{fields.Text}' (fields present: {string.Join(", ", row.Select(kv => kv.Key))})");
            }
            var prompt = row[fields.Prompt] ?? throw new DatasetFormatException(path, line, fields.Prompt, "missing");
            var completion = row[fields.Completion] ?? throw new DatasetFormatException(path, line, fields.Completion, "missing");
            if (prompt.GetValueKind() == JsonValueKind.String && completion.GetValueKind() == JsonValueKind.String)
            {
                string c = completion.GetValue<string>();
                if (c.Length == 0) throw new DatasetFormatException(path, line, fields.Completion, "empty completion");
                records.Add(SftRecord.FromPair(prompt.GetValue<string>(), c, source));
                continue;
            }
            var context = prompt.GetValueKind() == JsonValueKind.String
                ? [ChatMessage.User(prompt.GetValue<string>())]
                : Messages(prompt, path, line, fields.Prompt);
            var reply = completion.GetValueKind() == JsonValueKind.String
                ? [ChatMessage.Assistant(completion.GetValue<string>())]
                : Messages(completion, path, line, fields.Completion);
            if (!reply.Any(m => m.Role == "assistant"))
                throw new DatasetFormatException(path, line, fields.Completion, "no assistant message to train on");
            records.Add(new SftRecord { Messages = [.. context, .. reply], TrainFrom = context.Count, Source = source });
        }
        if (records.Count == 0) throw new DatasetFormatException(path, 0, null, "no examples");
        return records;
    }

    /// <summary>A list of {role, content} objects (content a string; reasoning_content kept when present).</summary>
    internal static List<ChatMessage> Messages(JsonNode node, string path, long line, string field)
    {
        if (node is not JsonArray array) throw new DatasetFormatException(path, line, field, $"expected a list of messages, got {node.GetValueKind()}");
        if (array.Count == 0) throw new DatasetFormatException(path, line, field, "empty message list");
        var messages = new List<ChatMessage>(array.Count);
        for (int i = 0; i < array.Count; i++)
        {
            string at = $"{field}[{i}]";
            if (array[i] is not JsonObject m) throw new DatasetFormatException(path, line, at, "expected an object with 'role' and 'content'");
            string role = m["role"] is { } r && r.GetValueKind() == JsonValueKind.String
                ? r.GetValue<string>()
                : throw new DatasetFormatException(path, line, at + ".role", "missing or not a string");
            string content = m["content"] is { } c && c.GetValueKind() == JsonValueKind.String
                ? c.GetValue<string>()
                : throw new DatasetFormatException(path, line, at + ".content", "missing or not a string");
            string? reasoning = m["reasoning_content"] is { } rc && rc.GetValueKind() == JsonValueKind.String ? rc.GetValue<string>() : null;
            messages.Add(new ChatMessage(role, content) { ReasoningContent = reasoning });
        }
        return messages;
    }
}
