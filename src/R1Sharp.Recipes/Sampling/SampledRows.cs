using System.Text.Json.Nodes;
using Apache.Arrow;
using Apache.Arrow.Types;
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
        var schema = new Schema.Builder()
            .Field(new Field("prompt", StringType.Default, false)).Field(new Field("completion", StringType.Default, false))
            .Field(new Field("source_stage", StringType.Default, false)).Field(new Field("prompt_id", StringType.Default, false))
            .Field(new Field("sample_index", Int32Type.Default, false));
        if (rewardNames.Count > 0)
            schema.Field(new Field("rewards", new StructType([.. rewardNames.Select(n => new Field(n, DoubleType.Default, true))]), false));
        schema.Field(new Field("language", StringType.Default, true)).Field(new Field("kind", StringType.Default, false))
            .Field(new Field("question", StringType.Default, false));
        ParquetFile.Write(path, schema.Build(), [.. rows.Select(r => ToJson(r, rewardNames))]);
    }
}
