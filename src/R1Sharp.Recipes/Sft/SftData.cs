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
/// shapes: <c>{"messages": [{"role", "content"}, …]}</c> (or ShareGPT's <c>{"conversations": [{"from", "value"}, …]}</c>, with an
/// optional <c>"system"</c> column), <c>{"prompt": …, "completion": …}</c> (strings, or message lists: the conversational
/// prompt-completion shape), or <c>{"text": …}</c> (language modelling), tried in that order. Every problem is a
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
            // A conversation: the messages column, else ShareGPT's "conversations"; a "system" column goes first.
            string? conversation = row[fields.Messages] is not null ? fields.Messages : row[ShareGptField] is not null ? ShareGptField : null;
            if (conversation is not null)
            {
                var messages = Messages(row[conversation]!, path, line, conversation);
                if (dataRow.OptionalString(SystemField) is { } system && messages[0].Role != "system") messages.Insert(0, ChatMessage.System(system));
                if (!messages.Any(m => m.Role == "assistant"))
                    throw new DatasetFormatException(path, line, conversation, "no assistant message to train on");
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
                    $"none of '{fields.Messages}', '{ShareGptField}', '{fields.Prompt}'/'{fields.Completion}' or '{fields.Text}' " +
                    $"(fields present: {string.Join(", ", row.Select(kv => kv.Key))}); other columns are read with messages_field, " +
                    "prompt_field, completion_field or text_field");
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
            List<ChatMessage> Side(JsonNode node, string field, Func<string, ChatMessage> single) =>
                node.GetValueKind() == JsonValueKind.String ? [single(node.GetValue<string>())]
                : node is JsonArray ? Messages(node, path, line, field)
                : throw new DatasetFormatException(path, line, field, $"expected a string or a list of messages, got {DataRow.Kind(node)}");
            var context = Side(prompt, fields.Prompt, text => ChatMessage.User(text));
            var reply = Side(completion, fields.Completion, text => ChatMessage.Assistant(text));
            if (!reply.Any(m => m.Role == "assistant"))
                throw new DatasetFormatException(path, line, fields.Completion, "no assistant message to train on");
            records.Add(new SftRecord { Messages = [.. context, .. reply], TrainFrom = context.Count, Source = source });
        }
        if (records.Count == 0) throw new DatasetFormatException(path, 0, null, "no examples");
        return records;
    }

    /// <summary>ShareGPT's conversation column (<c>[{"from": "human", "value": …}, {"from": "gpt", …}]</c>), read when a row has no messages column.</summary>
    public const string ShareGptField = "conversations";

    /// <summary>A system prompt column of conversational rows (as OpenThoughts and Bespoke-Stratos have), put first unless the conversation has one.</summary>
    public const string SystemField = "system";

    /// <summary>
    /// A list of messages: <c>{role, content}</c> objects (content a string or a list of text parts, <c>[{"type": "text", "text"}]</c>,
    /// joined; reasoning_content kept when present), or ShareGPT's <c>{from, value}</c> (human, gpt, system, tool).
    /// </summary>
    internal static List<ChatMessage> Messages(JsonNode node, string path, long line, string field)
    {
        if (node is not JsonArray array) throw new DatasetFormatException(path, line, field, $"expected a list of messages, got {DataRow.Kind(node)}");
        if (array.Count == 0) throw new DatasetFormatException(path, line, field, "empty message list");
        var messages = new List<ChatMessage>(array.Count);
        for (int i = 0; i < array.Count; i++)
        {
            string at = $"{field}[{i}]";
            if (array[i] is not JsonObject m)
                throw new DatasetFormatException(path, line, at, $"expected an object with 'role' and 'content' (or ShareGPT's 'from' and 'value'), got {DataRow.Kind(array[i])}");
            if (m["role"] is null && m["from"] is { } from)
            {
                string name = from.GetValueKind() == JsonValueKind.String ? from.GetValue<string>()
                    : throw new DatasetFormatException(path, line, at + ".from", $"expected a string, got {DataRow.Kind(from)}");
                string role = DataRow.ShareGptRole(name)
                    ?? throw new DatasetFormatException(path, line, at + ".from", $"'{name}' is not a ShareGPT role (human, gpt, system or tool; or user, assistant)");
                string value = m["value"] is { } v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
                    : throw new DatasetFormatException(path, line, at + ".value", $"expected a string, got {DataRow.Kind(m["value"])}");
                messages.Add(new ChatMessage(role, value));
                continue;
            }
            string roleName = m["role"] is { } rn && rn.GetValueKind() == JsonValueKind.String
                ? rn.GetValue<string>()
                : throw new DatasetFormatException(path, line, at + ".role", "missing or not a string");
            string? reasoning = m["reasoning_content"] is { } rc && rc.GetValueKind() == JsonValueKind.String ? rc.GetValue<string>() : null;
            messages.Add(new ChatMessage(roleName, Content(m["content"], path, line, at + ".content")) { ReasoningContent = reasoning });
        }
        return messages;
    }

    /// <summary>A message's content: a string, or OpenAI's list of text parts (joined).</summary>
    static string Content(JsonNode? node, string path, long line, string field)
    {
        if (node is not null && node.GetValueKind() == JsonValueKind.String) return node.GetValue<string>();
        if (node is not JsonArray parts)
            throw new DatasetFormatException(path, line, field, node is null ? "missing or not a string" : $"expected a string or a list of text parts, got {DataRow.Kind(node)}");
        var text = new System.Text.StringBuilder();
        for (int j = 0; j < parts.Count; j++)
        {
            string at = $"{field}[{j}]";
            if (parts[j] is not JsonObject part) throw new DatasetFormatException(path, line, at, $"expected a part {{\"type\": \"text\", \"text\": …}}, got {DataRow.Kind(parts[j])}");
            string? type = part["type"] is { } t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : null;
            if (type != "text") throw new DatasetFormatException(path, line, at, $"only text parts can be trained on (got a '{type ?? DataRow.Kind(part["type"])}' part)");
            text.Append(part["text"] is { } x && x.GetValueKind() == JsonValueKind.String ? x.GetValue<string>()
                : throw new DatasetFormatException(path, line, at + ".text", $"expected a string, got {DataRow.Kind(part["text"])}"));
        }
        return text.ToString();
    }
}
