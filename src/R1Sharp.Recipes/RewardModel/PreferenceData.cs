using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Templates;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Recipes.RewardModel;

/// <summary>A preference pair: the same prompt with a preferred and a dispreferred response, and an optional margin.</summary>
/// <param name="Margin">How much the chosen response should win by (Llama 2's margin; TRL's <c>margin</c> column); null = 0.</param>
/// <param name="Source">Where it came from, for errors: "file:line" or an id.</param>
public sealed record PreferenceRecord(string Prompt, string Chosen, string Rejected, double? Margin = null, string Source = "")
{
    /// <summary>The embedded task's pairs (<see cref="EmbeddedTask.PreferencePairs"/>), prompt already rendered.</summary>
    public static IReadOnlyList<PreferenceRecord> FromPairs(IEnumerable<PreferencePair> pairs)
        => pairs.Select(p => new PreferenceRecord(p.Prompt, p.Chosen, p.Rejected, null, p.Id)).ToList();
}

/// <summary>Which columns hold the prompt, the two responses and the margin.</summary>
public sealed record PreferenceFields(string Prompt = "prompt", string Chosen = "chosen", string Rejected = "rejected", string Margin = "margin");

/// <summary>
/// Loads preference rows from anything <see cref="DataRows"/> reads (JSONL, JSON, Parquet, gzip, a Hub dataset folder), in
/// TRL's shapes: standard <c>{"prompt", "chosen", "rejected"[, "margin"]}</c> strings, or conversational — <c>chosen</c> and
/// <c>rejected</c> message lists with an explicit <c>prompt</c> (a message list or a string, the user's turn) or an implicit
/// one (the messages chosen and rejected share at the start). A conversational pair becomes text through the chat template,
/// as TRL does: the prompt rendered with the generation prompt, each response the rest of render(prompt + response).
/// Every problem is a <see cref="DatasetFormatException"/> naming file, line and field.
/// </summary>
public static class PreferenceData
{
    /// <param name="chatTemplate">The chat template for conversational rows, asked for when the first one comes.</param>
    public static IReadOnlyList<PreferenceRecord> Load(string path, PreferenceFields? fields = null, CancellationToken ct = default,
        Func<ChatTemplate>? chatTemplate = null)
    {
        fields ??= new PreferenceFields();
        var chat = chatTemplate is null ? null : new Lazy<ChatTemplate>(chatTemplate);
        var records = new List<PreferenceRecord>();
        foreach (var row in DataRows.Read(path, ct))
        {
            if (row[fields.Chosen] is JsonArray || row[fields.Rejected] is JsonArray)
            {
                records.Add(Conversational(row, fields, chat));
                continue;
            }
            string prompt = row.String(fields.Prompt);
            string chosen = row.String(fields.Chosen);
            string rejected = row.String(fields.Rejected);
            if (chosen.Length == 0) throw row.Error(fields.Chosen, "empty response");
            if (rejected.Length == 0) throw row.Error(fields.Rejected, "empty response");
            records.Add(new PreferenceRecord(prompt, chosen, rejected, row.Number(fields.Margin), row.Where));
        }
        if (records.Count == 0) throw new DatasetFormatException(path, 0, null, "no preference pairs");
        return records;
    }

    static PreferenceRecord Conversational(DataRow row, PreferenceFields fields, Lazy<ChatTemplate>? chat)
    {
        var chosen = SftData.Messages(row[fields.Chosen] ?? throw row.Missing(fields.Chosen), row.File, row.Line, fields.Chosen);
        var rejected = SftData.Messages(row[fields.Rejected] ?? throw row.Missing(fields.Rejected), row.File, row.Line, fields.Rejected);
        List<ChatMessage> prompt;
        if (row[fields.Prompt] is { } p)
            prompt = p is JsonArray ? SftData.Messages(p, row.File, row.Line, fields.Prompt) : [ChatMessage.User(row.String(fields.Prompt))];
        else
        {
            int shared = 0;
            while (shared < Math.Min(chosen.Count, rejected.Count) - 1 && chosen[shared] == rejected[shared]) shared++;
            if (shared == 0)
                throw row.Error(fields.Chosen, $"no '{fields.Prompt}', and '{fields.Chosen}' and '{fields.Rejected}' share no first message to be the prompt");
            (prompt, chosen, rejected) = (chosen[..shared], chosen[shared..], rejected[shared..]);
        }
        if (chat is null) throw row.Error(fields.Chosen, "a conversation needs a chat template, and none was given");
        ChatTemplate template;
        try { template = chat.Value; }
        catch (Exception e) when (e is FileNotFoundException or FormatException or TemplateException)
        {
            throw row.Error(fields.Chosen, $"the chat template for conversations: {e.Message}");
        }
        try
        {
            string promptText = template.Render(prompt, addGenerationPrompt: true);
            string Response(List<ChatMessage> response, string field)
            {
                string full = template.Render([.. prompt, .. response], addGenerationPrompt: false);
                if (!full.StartsWith(promptText, StringComparison.Ordinal))
                    throw row.Error(field, "the chat template renders the prompt differently once the response follows it, so the response cannot be cut from it");
                string text = full[promptText.Length..];
                return text.Length > 0 ? text : throw row.Error(field, "empty response");
            }
            return new PreferenceRecord(promptText, Response(chosen, fields.Chosen), Response(rejected, fields.Rejected), row.Number(fields.Margin), row.Where);
        }
        catch (TemplateException e) { throw row.Error(fields.Chosen, $"the chat template failed on this conversation: {e.Message}"); }
    }
}

/// <summary>
/// What a reward model reads: ids(prompt) ++ ids(response), no EOS appended, trailing pad ids removed. The reward is
/// taken at the last of these tokens — the token transformers' sequence classifiers use (the rightmost id that is
/// not pad_token_id). Training and scoring (<see cref="RewardModelReward"/>) share this.
/// </summary>
public static class RewardEncoding
{
    public static int[] Encode(HfTokenizer tokenizer, string prompt, string response, int? padTokenId)
    {
        var ids = new List<int>(tokenizer.Encode(prompt));
        ids.AddRange(tokenizer.Encode(response));
        if (padTokenId is { } pad)
            while (ids.Count > 0 && ids[^1] == pad) ids.RemoveAt(ids.Count - 1);
        return [.. ids];
    }
}
