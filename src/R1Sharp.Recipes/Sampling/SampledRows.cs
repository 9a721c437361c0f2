using System.Text.Json.Nodes;
using Parquet.Schema;
using Parquet.Serialization;
using R1Sharp.Data;

namespace R1Sharp.Recipes.Sampling;

/// <summary>
/// One row of rejection-sampled SFT data: what SFT trains on (<c>prompt</c>, rendered, and <c>completion</c>) and where it
/// came from — the stage whose model wrote it, the prompt's id, which of the N samples it was, its reward values, its
/// language, <c>reasoning</c> or <c>general</c>, and the raw question.
/// </summary>
public sealed record SampledRow(string Prompt, string Completion, string SourceStage, string PromptId, int SampleIndex,
    IReadOnlyDictionary<string, double?> Rewards, string? Language, string Kind, string Question)
{
    public const string Reasoning = "reasoning", General = "general";
}

/// <summary>
/// Writes sampled rows as JSONL (one object per line) or Parquet (flat columns; <c>rewards</c> a struct of nullable
/// doubles, one field per reward name, which pandas / 🤗 datasets read as a dict). Both are written whole or not at all:
/// to a temporary file in the same folder, then renamed. Both load with <see cref="Sft.SftData.Load"/>.
/// </summary>
public static class SampledRows
{
    /// <summary>Writes <paramref name="rows"/> to <paramref name="path"/> (<c>.parquet</c>: Parquet, anything else: JSONL).</summary>
    /// <param name="rewardNames">The reward fields every row's <c>rewards</c> has (Parquet needs the schema up front).</param>
    public static void Write(string path, IReadOnlyList<SampledRow> rows, IReadOnlyList<string> rewardNames)
    {
        if (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase)) WriteParquet(path, rows, rewardNames);
        else AtomicFile.Write(path, w => { foreach (var r in rows) w.WriteLine(ToJson(r, rewardNames).ToJsonString()); });
    }

    public static JsonObject ToJson(SampledRow r, IReadOnlyList<string> rewardNames) => new()
    {
        ["prompt"] = r.Prompt,
        ["completion"] = r.Completion,
        ["source_stage"] = r.SourceStage,
        ["prompt_id"] = r.PromptId,
        ["sample_index"] = r.SampleIndex,
        ["rewards"] = new JsonObject(rewardNames.Where(r.Rewards.ContainsKey)
            .Select(n => KeyValuePair.Create(n, r.Rewards[n] is double v && double.IsFinite(v) ? (JsonNode?)v : null))),
        ["language"] = r.Language,
        ["kind"] = r.Kind,
        ["question"] = r.Question,
    };

    static void WriteParquet(string path, IReadOnlyList<SampledRow> rows, IReadOnlyList<string> rewardNames)
    {
        var fields = new List<Field>
        {
            new DataField<string>("prompt", false), new DataField<string>("completion", false), new DataField<string>("source_stage", false),
            new DataField<string>("prompt_id", false), new DataField<int>("sample_index", false),
        };
        if (rewardNames.Count > 0) fields.Add(new StructField("rewards", [.. rewardNames.Select(n => (Field)new DataField<double?>(n, true))]));
        fields.AddRange([new DataField<string>("language", true), new DataField<string>("kind", false), new DataField<string>("question", false)]);
        var data = rows.Select(r =>
        {
            var row = new Dictionary<string, object?>
            {
                ["prompt"] = r.Prompt, ["completion"] = r.Completion, ["source_stage"] = r.SourceStage, ["prompt_id"] = r.PromptId,
                ["sample_index"] = r.SampleIndex, ["language"] = r.Language, ["kind"] = r.Kind, ["question"] = r.Question,
            };
            if (rewardNames.Count > 0)
                row["rewards"] = rewardNames.ToDictionary(n => n, n => (object)(r.Rewards.GetValueOrDefault(n) is double v && double.IsFinite(v) ? v : null)!);
            return (IDictionary<string, object?>)row;
        }).ToList();

        AtomicFile.WriteBytes(path, stream => ParquetSerializer.SerializeUntypedAsync(data, new ParquetSchema(fields), stream).GetAwaiter().GetResult());
    }
}
