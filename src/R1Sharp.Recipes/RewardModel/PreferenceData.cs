using R1Sharp.Data;
using R1Sharp.Tasks.Arithmetic;
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
/// Loads preference rows <c>{"prompt", "chosen", "rejected"[, "margin"]}</c> from a data file (JSONL, JSON, Parquet) (TRL's explicit-prompt
/// standard format). Every problem is a <see cref="DatasetFormatException"/> naming file, line and field.
/// </summary>
public static class PreferenceData
{
    public static IReadOnlyList<PreferenceRecord> Load(string path, PreferenceFields? fields = null, CancellationToken ct = default)
    {
        fields ??= new PreferenceFields();
        var records = new List<PreferenceRecord>();
        foreach (var row in DataRows.Read(path, ct))
        {
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
