using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using R1Sharp.Data;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Recipes.Eval;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Training.Runs;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>One row of the final table, in the style of the DeepSeek-R1 paper's tables.</summary>
public sealed record TableRow
{
    public required string Row { get; init; }
    public required string Title { get; init; }
    public string? Model { get; init; }
    public long Params { get; init; }
    [JsonPropertyName("pass@1")] public double PassAt1 { get; init; }
    [JsonPropertyName("cons@k")] public double ConsAtK { get; init; }
    [JsonPropertyName("pass@k")] public double PassAtK { get; init; }
    public int K { get; init; }
    public double FormatRate { get; init; }
    /// <summary>Null when no sample's reasoning has a word to judge (e.g. empty thoughts).</summary>
    public double? LanguageConsistency { get; init; }
    public double MeanLength { get; init; }
    public int Prompts { get; init; }
    public double Temperature { get; init; }
    public double TopP { get; init; }

}

/// <summary>
/// Evaluates each stage's model with the R1 protocol on the same held-out prompts of the embedded task: k samples
/// at T 0.6 / top-p 0.95, pass@1 (mean correctness), cons@k (majority vote), format rate (the format the model was
/// trained to: R1-Zero tags, or the readable cold-start layout), language consistency of the reasoning, mean length.
/// </summary>
public static class PipelineEvaluation
{
    /// <summary>A table row: whose model (the run folder that holds it), and with which prompt template it is asked.</summary>
    public sealed record RowSpec(string Row, string Title, string Folder, PromptStyle Style);

    public static IReadOnlyList<RowSpec> Rows { get; } =
    [
        new("base", "Base", "base", PromptStyle.R1Zero),
        new("r1-zero", "R1-Zero", "r1-zero", PromptStyle.R1Zero),
        new("cold-start", "Cold start (SFT)", "cold-start", PromptStyle.Plain),
        new("reasoning-rl", "Reasoning RL", "reasoning-rl", PromptStyle.Plain),
        new("r1", "R1 (final)", "final-rl", PromptStyle.Plain),
        new("distilled-student", "Distilled student", "distill", PromptStyle.Plain),
        new("rl-only-student", "RL-only student", "student-rl", PromptStyle.R1Zero),
    ];

    /// <summary>Evaluates one model into <paramref name="output"/> (results.jsonl, summary.json, samples.jsonl); resumable.</summary>
    /// <param name="remote">A fleet that serves <paramref name="modelDir"/> now (the pipeline's <c>fleet</c>); null: the model in this process.</param>
    public static TableRow Evaluate(RowSpec row, string modelDir, string output, PipelineEvalOptions o, RunSettings settings, ArithmeticDifficulty difficulty,
        IGenerationBackend? remote = null)
    {
        var task = Task(o, row.Style, difficulty);
        using var local = remote is null ? LocalGenerationBackend.Load(modelDir, settings.Dtype, settings.Device) : null;
        var summary = Evaluation.Run(remote ?? local!, task, new EvalOptions { Samples = o.Samples, Sampling = o.Sampling, ModelName = Path.GetFullPath(modelDir) }, output);
        WriteSamples(output, task);
        return new TableRow
        {
            Row = row.Row, Title = row.Title,
            Params = local?.Model.Model.parameters().Sum(p => p.numel()) ?? ModelConfig.Load(Path.Combine(modelDir, Checkpoint.ConfigFile)).ParameterCount(),
            PassAt1 = summary.PassAt1, ConsAtK = summary.ConsAtK, PassAtK = summary.PassAtK, K = summary.K,
            FormatRate = summary.FormatRate, LanguageConsistency = summary.LanguageConsistency, MeanLength = summary.MeanLength,
            Prompts = summary.Problems, Temperature = o.Sampling.Temperature, TopP = o.Sampling.TopP,
        };
    }

    /// <summary>
    /// The held-out prompts in <paramref name="style"/>: the embedded task's, or a benchmark's (DeepSeek-R1's math
    /// instruction appended, then the template), judged by accuracy and the format that style asks for.
    /// </summary>
    public static TaskDefinition Task(PipelineEvalOptions o, PromptStyle style, ArithmeticDifficulty difficulty)
    {
        if (o.Task == EmbeddedTask.Name) return EmbeddedTask.EvalTask(o.Prompts, 0, difficulty, style);
        var task = EvalTasks.Load(o.Task);
        return task with
        {
            Examples = [.. task.Examples.Take(o.Prompts).Select(e => e with { Prompt = PromptTemplates.Render(e.Prompt, style) })],
            Rewards = [new("accuracy"), new(style == PromptStyle.R1Zero ? "r1_zero_format" : "cold_start_format")],
        };
    }

    /// <summary>samples.jsonl for the report: the first sample of each problem, with its question and scores.</summary>
    static void WriteSamples(string output, TaskDefinition task)
    {
        var byId = task.Examples.ToDictionary(e => e.Id, StringComparer.Ordinal);
        var rows = new List<string>();
        foreach (var line in File.ReadLines(Path.Combine(output, "results.jsonl")))
        {
            if (JsonNode.Parse(line) is not JsonObject problem || problem["samples"] is not JsonArray { Count: > 0 } samples) continue;
            string id = problem["id"]?.GetValue<string>() ?? "";
            var s = samples[0]!;
            rows.Add(new JsonObject
            {
                ["prompt_id"] = id, ["language"] = byId.GetValueOrDefault(id)?.Field("language"), ["question"] = byId.GetValueOrDefault(id)?.Question,
                ["completion"] = s["text"]?.DeepClone(), ["correct"] = s["correct"]?.DeepClone(), ["format"] = s["format"]?.DeepClone(),
                ["language_consistency"] = s["language"]?.DeepClone(), ["tokens"] = s["tokens"]?.DeepClone(),
            }.ToJsonString());
        }
        AtomicFile.Write(Path.Combine(output, "samples.jsonl"), w => rows.ForEach(w.WriteLine));
    }
}
