using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using R1Sharp.Data;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Recipes.Eval;
using R1Sharp.Rewards;
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

    /// <summary>The same measures on the hard split (<see cref="PipelineEvalOptions.HardPrompts"/>); null when it is not evaluated.</summary>
    [JsonPropertyName("hard_pass@1")] public double? HardPassAt1 { get; init; }
    [JsonPropertyName("hard_cons@k")] public double? HardConsAtK { get; init; }
    public double? HardFormatRate { get; init; }
    public double? HardLanguageConsistency { get; init; }
    public double? HardMeanLength { get; init; }
    public int HardPrompts { get; init; }

    /// <summary>
    /// Share of the row's replies to held-out general prompts that the held-out helpfulness judge scores above the
    /// prompt's rejected reply (ties count half); null when not measured.
    /// </summary>
    public double? Helpfulness { get; init; }
    /// <summary>The same, on held-out requests to refuse, by the held-out harmlessness judge.</summary>
    public double? Harmlessness { get; init; }

    /// <summary>pass@1 at turns 1–4 of held-out conversations (<see cref="PipelineEvalOptions.TurnConversations"/>); null for
    /// R1-Zero-template rows and when not measured.</summary>
    public IReadOnlyList<double>? TurnAccuracy { get; init; }
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
        new("sft", "SFT (stage 4)", "sft", PromptStyle.Plain),
        new("r1", "R1 (final)", "final-rl", PromptStyle.Plain),
        new("distilled-student", "Distilled student", "distill", PromptStyle.Plain),
        new("rl-only-student", "RL-only student", "student-rl", PromptStyle.R1Zero),
    ];

    /// <summary>Evaluates one model into <paramref name="output"/> (results.jsonl, summary.json, samples.jsonl); resumable.</summary>
    /// <param name="remote">A fleet that serves <paramref name="modelDir"/> now (the pipeline's <c>fleet</c>); null: the model in this process.</param>
    /// <param name="judges">The held-out judges; null: no helpfulness / harmlessness columns.</param>
    public static TableRow Evaluate(RowSpec row, string modelDir, string output, PipelineEvalOptions o, RunSettings settings,
        IGenerationBackend? remote = null, Judges? judges = null)
    {
        var task = Task(o, row.Style);
        using var local = remote is null ? LocalGenerationBackend.Load(modelDir, settings.Dtype, settings.Device) : null;
        var backend = remote ?? local!;
        var evalOptions = new EvalOptions { Samples = o.Samples, Sampling = o.Sampling, ModelName = Path.GetFullPath(modelDir) };
        var summary = Evaluation.Run(backend, task, evalOptions, output);
        WriteSamples(output, task);
        EvalSummary? hard = null;
        if (HardTask(o, row.Style) is { } hardTask)
        {
            string hardDir = Path.Combine(output, "hard");
            hard = Evaluation.Run(backend, hardTask, evalOptions, hardDir);
            WriteSamples(hardDir, hardTask);
        }
        (double? helpful, double? harmless) = (null, null);
        if (judges is not null && o.GeneralPrompts > 0)
        {
            var general = EmbeddedTask.HeldOutGeneralTask(o.GeneralPrompts, 0, style: row.Style);
            string generalDir = Path.Combine(output, "general");
            Evaluation.Run(backend, general, evalOptions with { Samples = o.GeneralSamples }, generalDir);
            WriteSamples(generalDir, general);
            (helpful, harmless) = judges.Score(general, Replies(generalDir));
        }
        List<double>? turnAccuracy = null;
        if (o.Task == EmbeddedTask.Name && o.TurnConversations > 0 && row.Style == PromptStyle.Plain)
        {
            turnAccuracy = [];
            for (int turn = 1; turn <= Turns; turn++)
            {
                var turnTask = EmbeddedTask.ConversationTurnTask(o.TurnConversations, Turns, turn, 0, o.Difficulty);
                turnAccuracy.Add(Evaluation.Run(backend, turnTask, evalOptions with { Samples = o.TurnSamples }, Path.Combine(output, $"turn{turn}")).PassAt1);
            }
        }
        return new TableRow
        {
            Row = row.Row, Title = row.Title,
            Params = local?.Model.Model.parameters().Sum(p => p.numel()) ?? ModelConfig.Load(Path.Combine(modelDir, Checkpoint.ConfigFile)).ParameterCount(),
            PassAt1 = summary.PassAt1, ConsAtK = summary.ConsAtK, PassAtK = summary.PassAtK, K = summary.K,
            FormatRate = summary.FormatRate, LanguageConsistency = summary.LanguageConsistency, MeanLength = summary.MeanLength,
            Prompts = summary.Problems, Temperature = o.Sampling.Temperature, TopP = o.Sampling.TopP,
            HardPassAt1 = hard?.PassAt1, HardConsAtK = hard?.ConsAtK, HardFormatRate = hard?.FormatRate,
            HardLanguageConsistency = hard?.LanguageConsistency, HardMeanLength = hard?.MeanLength, HardPrompts = hard?.Problems ?? 0,
            Helpfulness = helpful, Harmlessness = harmless, TurnAccuracy = turnAccuracy,
        };
    }

    /// <summary>Turns of the held-out conversations.</summary>
    public const int Turns = 4;

    /// <summary>The hard split's prompts in <paramref name="style"/> (embedded task only; null when <c>hard_prompts</c> is 0 or the task is a benchmark).</summary>
    public static TaskDefinition? HardTask(PipelineEvalOptions o, PromptStyle style) =>
        o.Task == EmbeddedTask.Name && o.HardPrompts > 0
            ? EmbeddedTask.EvalTask(o.HardPrompts, 0, o.HardDifficulty, style) with { Name = EmbeddedTask.Name + "_hard" }
            : null;

    /// <summary>Every sampled reply of a results.jsonl, by problem id.</summary>
    static Dictionary<string, List<string>> Replies(string output)
    {
        var replies = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(output, "results.jsonl")))
            if (JsonNode.Parse(line) is JsonObject problem && problem["id"]?.GetValue<string>() is { } id && problem["samples"] is JsonArray samples)
                replies[id] = [.. samples.Select(s => s?["text"]?.GetValue<string>() ?? "")];
        return replies;
    }

    /// <summary>
    /// The two held-out judges: reward models trained (in the eval stage, from the base model) on preference pairs of
    /// the held-out side of the general data, which no training stage uses. A reply wins when its judge scores it above
    /// the prompt's rejected reply; helpfulness is judged on the summary (after <c>&lt;/think&gt;</c>) of helpful
    /// prompts, harmlessness on the whole reply to requests to refuse — the scopes of the final RL's own reward models.
    /// </summary>
    public sealed class Judges(IReward helpfulness, IReward harmlessness)
    {
        public (double? Helpfulness, double? Harmlessness) Score(TaskDefinition general, IReadOnlyDictionary<string, List<string>> replies) =>
            (WinRate(helpfulness, general, replies, "helpful"), WinRate(harmlessness, general, replies, "harmless"));

        /// <summary>Share of replies scored above the rejected reply of their prompt (ties half); null without such prompts.</summary>
        public static double? WinRate(IReward judge, TaskDefinition general, IReadOnlyDictionary<string, List<string>> replies, string category)
        {
            var inputs = new List<RewardInput>();
            var rejected = new List<RewardInput>();
            foreach (var e in general.Examples.Where(e => e.Field("category") == category && replies.ContainsKey(e.Id)))
                foreach (var reply in replies[e.Id])
                {
                    inputs.Add(new RewardInput(e.Prompt, reply, e.Reference));
                    rejected.Add(new RewardInput(e.Prompt, e.Field("rejected") ?? "", e.Reference));
                }
            if (inputs.Count == 0) return null;
            var a = judge.Score(inputs);
            var b = judge.Score(rejected);
            double wins = 0;
            for (int i = 0; i < a.Count; i++)
                wins += (a[i] ?? double.NegativeInfinity) > (b[i] ?? double.NegativeInfinity) ? 1
                    : (a[i] ?? double.NegativeInfinity) == (b[i] ?? double.NegativeInfinity) ? 0.5 : 0;
            return wins / a.Count;
        }
    }

    /// <summary>
    /// The held-out prompts in <paramref name="style"/>: the embedded task's, or a benchmark's (DeepSeek-R1's math
    /// instruction appended, then the template), judged by accuracy and the format that style asks for.
    /// </summary>
    public static TaskDefinition Task(PipelineEvalOptions o, PromptStyle style)
    {
        if (o.Task == EmbeddedTask.Name) return EmbeddedTask.EvalTask(o.Prompts, 0, o.Difficulty, style);
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
