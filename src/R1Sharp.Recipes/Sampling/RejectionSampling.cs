// r1sharp sample --model runs/reasoning-rl/model --output runs/rejection-sampling [--config configs/sample.yaml] [--resume]
//
// Rejection sampling, DeepSeek-R1 stage 4 (paper §2.3.3; DESIGN.md §2.4): from the reasoning-RL checkpoint, draw N
// responses per training prompt (temperature T, top-p), score each with rule rewards, and keep a response only when
//   it is complete (not cut by the token limit), verified correct, in the required format, in one language
//   (language consistency ≥ 0.99), free of code blocks, over-long paragraphs and n-gram loops,
// then dedupe identical responses per prompt and keep at most MaxPerPrompt of them. Non-reasoning ("general") examples
// with reference replies are mixed in. The result is SFT data — prompt (rendered as the model saw it) + completion —
// with provenance (source stage, prompt id, sample index, rewards, language, kind), as JSONL or Parquet.
// Deliberate choices:
//  - R1 also used a generative judge (DeepSeek-V3) for answers rules cannot check, and rewrote readable traces; here
//    correctness is the rule reward only, and a response the reward cannot judge is dropped ("unverifiable").
//  - Every generated sample is appended to candidates.jsonl as its prompt finishes (text, rewards, finish), so an
//    interrupted run resumes without regenerating, and the filters are re-applied at the end: changing a threshold and
//    rerunning with --resume re-filters without sampling again (the generation settings must match).
//  - Generation goes through IGenerationBackend: the local checkpoint by default, or OpenAI-compatible servers (Endpoint).
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Data;
using R1Sharp.Rewards.Rules;
using R1Sharp.Rewards.Tasks;
using R1Sharp.Rewards.Tasks.Arithmetic;
using R1Sharp.Training.Logging;
using static TorchSharp.torch;
using TaskPromptStyle = R1Sharp.Rewards.Tasks.PromptStyle;

namespace R1Sharp.Recipes.Sampling;

public sealed record RejectionSamplingOptions
{
    // ---- prompts ----
    /// <summary><c>arithmetic</c> (the embedded task's training prompts), <c>countdown</c>, or a JSONL/Parquet file of prompts with
    /// reference fields (<c>prompt</c>/<c>question</c>/<c>problem</c>, <c>answer</c>, optional <c>id</c>, <c>language</c>; as GRPO's task).</summary>
    public string Task { get; init; } = EmbeddedTask.Name;
    /// <summary>Prompts to sample from (the first N of the task).</summary>
    public int Prompts { get; init; } = 512;
    /// <summary>Problems of the embedded arithmetic task (ignored for other tasks).</summary>
    public ArithmeticDifficulty Difficulty { get; init; } = EmbeddedTask.DemoDifficulty;
    /// <summary>How questions become prompts: <c>plain</c> ("User: …\nAssistant:", the cold-start layout), <c>r1-zero</c>, <c>math-instruction</c> or <c>raw</c>.</summary>
    public string PromptStyle { get; init; } = "plain";

    // ---- sampling ----
    /// <summary>N, responses drawn per prompt.</summary>
    public int Samples { get; init; } = 4;
    /// <summary>R1's final RL stage samples at 0.7; evaluation uses 0.6.</summary>
    public double Temperature { get; init; } = 0.7;
    public double TopP { get; init; } = 0.95;
    public int MaxNewTokens { get; init; } = 128;
    /// <summary>Strings that end a response (e.g. <c>"\nUser:"</c> for a base model on the plain layout).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    // ---- scoring and filters ----
    /// <summary>Rewards scored and stored with every sample (RewardRegistry.CreateStandard() names): the reasoning-RL stage's.</summary>
    public IReadOnlyList<RewardSpec> Rewards { get; init; } = EmbeddedTask.ReasoningRewards;
    /// <summary>Keep only verified-correct responses (by <see cref="CorrectnessReward"/> ≥ <see cref="CorrectThreshold"/>).</summary>
    public bool RequireCorrect { get; init; } = true;
    /// <summary>The reward that verifies the answer (added to the scored rewards when missing); <c>countdown</c> for that task.</summary>
    public string CorrectnessReward { get; init; } = "accuracy";
    public double CorrectThreshold { get; init; } = 1.0;
    /// <summary>Keep only responses in the format (<see cref="FormatReward"/> = 1).</summary>
    public bool RequireFormat { get; init; } = true;
    /// <summary>The format reward: <c>cold_start_format</c> (<c>&lt;think&gt;\n…\n&lt;/think&gt;\n{summary}</c>) or <c>r1_zero_format</c>.</summary>
    public string FormatReward { get; init; } = "cold_start_format";
    /// <summary>Drop chains of thought whose share of target-language words is below this (0: off). R1 keeps single-language chains only.</summary>
    public double MinLanguageConsistency { get; init; } = 0.99;
    /// <summary>The language of prompts without a <c>language</c> reference field.</summary>
    public string DefaultLanguage { get; init; } = "en";
    /// <summary>Drop responses with a paragraph (text between blank lines) longer than this many characters (0: off).</summary>
    public int MaxParagraphChars { get; init; } = 2000;
    /// <summary>Drop responses containing a fenced code block (```).</summary>
    public bool DropCodeBlocks { get; init; } = true;
    /// <summary>Drop responses whose n-gram repetition penalty (open-r1's, in [−1, 0]: −share of repeated n-grams) is below this (0: off).</summary>
    public double MinRepetitionPenalty { get; init; } = -0.3;
    public int RepetitionNgram { get; init; } = 3;
    /// <summary>Drop responses cut off by <see cref="MaxNewTokens"/>.</summary>
    public bool DropTruncated { get; init; } = true;
    /// <summary>Drop responses identical (surrounding whitespace aside) to one already kept for the same prompt.</summary>
    public bool Dedupe { get; init; } = true;
    /// <summary>Keep at most this many responses per prompt (0: all that pass).</summary>
    public int MaxPerPrompt { get; init; } = 1;

    // ---- general data ----
    /// <summary>General (non-reasoning) examples to mix in (R1: 200k next to 600k reasoning samples).</summary>
    public int GeneralExamples { get; init; }
    /// <summary>A JSONL/Parquet file of general {prompt, completion[, id, question, language]} rows; null: the embedded task's general examples.</summary>
    public string? GeneralData { get; init; }

    // ---- output, model ----
    /// <summary><c>jsonl</c> or <c>parquet</c>: output/data.jsonl or output/data.parquet.</summary>
    public string Format { get; init; } = "jsonl";
    /// <summary>Recorded as <c>source_stage</c> in every reasoning row.</summary>
    public string SourceStage { get; init; } = "reasoning-rl";
    /// <summary>Log progress every N finished prompts.</summary>
    public int LogEvery { get; init; } = 32;
    public long Seed { get; init; }
    public string Device { get; init; } = "cpu";
    public string Dtype { get; init; } = "float32";
    /// <summary>Local model: rows (prompts × samples) decoded together.</summary>
    public int MaxBatchRows { get; init; } = 64;
    /// <summary>OpenAI-compatible servers (comma-separated, e.g. <c>http://gpu1:8000/v1,http://gpu2:8000/v1</c>) to sample on instead of the local model.</summary>
    public string? Endpoint { get; init; }
    /// <summary>The model name the servers serve (required with <see cref="Endpoint"/>); the API key is read from OPENAI_API_KEY.</summary>
    public string? ServedModel { get; init; }
    /// <summary>Requests in flight at once over all endpoints.</summary>
    public int Concurrency { get; init; } = 32;

    /// <summary>The prompt style named by <see cref="PromptStyle"/>.</summary>
    public TaskPromptStyle Style => PromptStyle.Trim().ToLowerInvariant().Replace('_', '-') switch
    {
        "plain" => TaskPromptStyle.Plain,
        "r1-zero" or "r1zero" => TaskPromptStyle.R1Zero,
        "math-instruction" => TaskPromptStyle.MathInstruction,
        "raw" => TaskPromptStyle.Raw,
        _ => throw new ArgumentException($"rejection sampling option PromptStyle: '{PromptStyle}' is not plain, r1-zero, math-instruction or raw"),
    };

    /// <summary>The filters these options describe.</summary>
    public RejectionFilter Filter => new(DropTruncated, RequireCorrect ? CorrectnessReward : null, CorrectThreshold,
        RequireFormat ? FormatReward : null, MinLanguageConsistency, MaxParagraphChars, DropCodeBlocks, MinRepetitionPenalty,
        RepetitionNgram, Dedupe, MaxPerPrompt);

    /// <summary>Checks every option; the message names the option.</summary>
    public void Validate()
    {
        static void Check(bool ok, string option, string rule, object? value)
        {
            if (!ok) throw new ArgumentException($"rejection sampling option {option}: {rule} (got {value})");
        }
        Check(Prompts >= 1, nameof(Prompts), "must be at least 1", Prompts);
        Check(Samples >= 1, nameof(Samples), "must be at least 1", Samples);
        Check(Temperature >= 0 && double.IsFinite(Temperature), nameof(Temperature), "must be ≥ 0", Temperature);
        Check(TopP is > 0 and <= 1, nameof(TopP), "must be in (0, 1]", TopP);
        Check(MaxNewTokens >= 1, nameof(MaxNewTokens), "must be at least 1", MaxNewTokens);
        Check(MinLanguageConsistency is >= 0 and <= 1, nameof(MinLanguageConsistency), "must be in [0, 1]", MinLanguageConsistency);
        Check(LanguageConsistencyReward.Normalize(DefaultLanguage) is not null, nameof(DefaultLanguage), "unknown language", DefaultLanguage);
        Check(MaxParagraphChars >= 0, nameof(MaxParagraphChars), "must not be negative", MaxParagraphChars);
        Check(MinRepetitionPenalty is >= -1 and <= 0, nameof(MinRepetitionPenalty), "must be in [-1, 0]", MinRepetitionPenalty);
        Check(RepetitionNgram >= 1, nameof(RepetitionNgram), "must be at least 1", RepetitionNgram);
        Check(MaxPerPrompt >= 0, nameof(MaxPerPrompt), "must not be negative", MaxPerPrompt);
        Check(GeneralExamples >= 0, nameof(GeneralExamples), "must not be negative", GeneralExamples);
        Check(Format is "jsonl" or "parquet", nameof(Format), "must be jsonl or parquet", Format);
        Check(LogEvery >= 1, nameof(LogEvery), "must be at least 1", LogEvery);
        Check(MaxBatchRows >= 1, nameof(MaxBatchRows), "must be at least 1", MaxBatchRows);
        Check(Concurrency >= 1, nameof(Concurrency), "must be at least 1", Concurrency);
        Check(Endpoint is null || ServedModel is not null, nameof(ServedModel), "is required with Endpoint", ServedModel);
        Check(!string.IsNullOrWhiteSpace(SourceStage), nameof(SourceStage), "must not be empty", SourceStage);
        _ = Style;
        Precision.Parse(Dtype);
    }
}

/// <summary>What a rejection-sampling run produced.</summary>
/// <param name="DataPath">The SFT data file (data.jsonl or data.parquet).</param>
/// <param name="Prompts">Prompts sampled.</param>
/// <param name="Generated">Responses generated (Prompts × Samples).</param>
/// <param name="Kept">Reasoning rows written.</param>
/// <param name="General">General rows written (the file holds Kept + General rows).</param>
/// <param name="DroppedBy">Rejected responses per filter (<see cref="DropReasons"/>); Kept + Σ DroppedBy = Generated.</param>
/// <param name="Seconds">Wall time of this call.</param>
public sealed record RejectionSamplingResult(string DataPath, int Prompts, int Generated, int Kept, int General,
    IReadOnlyDictionary<string, int> DroppedBy, double Seconds)
{
    /// <summary>Prompts with at least one response kept.</summary>
    public int PromptsCovered { get; init; }
    /// <summary>Mean generated tokens of the kept responses.</summary>
    public double MeanKeptTokens { get; init; }
}

public static class RejectionSampling
{
    const string CandidatesFile = "candidates.jsonl", SettingsFile = "sampling.json", SummaryFile = "summary.json";
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>
    /// Samples, scores and filters; writes <c>output/data.{jsonl,parquet}</c>, <c>candidates.jsonl</c> (every sample with its
    /// verdict), <c>summary.json</c> and metrics. With <see cref="RunSettings.Resume"/>, a finished run with the same settings
    /// is returned as it is, and an interrupted one continues with the prompts not yet sampled.
    /// </summary>
    /// <param name="modelDir">The checkpoint to sample from (recorded only, when <see cref="RejectionSamplingOptions.Endpoint"/> is set).</param>
    public static RejectionSamplingResult Run(RejectionSamplingOptions o, string modelDir, string output, RunSettings? settings = null)
    {
        settings ??= new RunSettings();
        var ct = settings.Cancel;
        o.Validate();
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(output);
        string dataPath = Path.Combine(output, "data." + o.Format);
        var fingerprint = Fingerprint(o, modelDir);
        if (settings.Resume && Finished(output, dataPath, fingerprint, o) is { } finished)
        {
            settings.Log?.Invoke($"rejection sampling: {dataPath} is complete for these settings; nothing to do");
            return finished with { Seconds = clock.Elapsed.TotalSeconds };
        }

        // ---- prompts, rewards, general data (all errors surface before any generation) ----
        var examples = Prompts(o);
        var byId = examples.ToDictionary(e => e.Id, StringComparer.Ordinal);
        var rewards = RewardRegistry.CreateStandard().Build(ScoredRewards(o));
        var general = GeneralRows(o, ct);
        var filter = o.Filter;
        string Language(TaskExample e) => e.Field("language") ?? o.DefaultLanguage;

        // ---- earlier samples of an interrupted run ----
        string candidatesPath = Path.Combine(output, CandidatesFile), settingsPath = Path.Combine(output, SettingsFile);
        var done = new Dictionary<string, IReadOnlyList<SampleCandidate>>(StringComparer.Ordinal);
        if (settings.Resume && File.Exists(settingsPath))
        {
            var previous = JsonNode.Parse(File.ReadAllText(settingsPath))?["generation"]?.ToJsonString();
            if (previous != fingerprint.ToJsonString())
                throw new InvalidDataException($"{output} holds rejection samples drawn with other settings ({settingsPath}); " +
                                                    "use another output folder, or run without --resume to start over");
            done = ReadCandidates(candidatesPath, ct);
            // Rewritten without a line cut short by the interruption, so that new lines are appended after whole ones.
            AtomicFile.Write(candidatesPath, w =>
            {
                foreach (var (id, samples) in done) w.WriteLine(CandidateLine(id, samples, filter.Judge(samples, byId.TryGetValue(id, out var e) ? Language(e) : o.DefaultLanguage)).ToJsonString());
            });
        }
        else
        {
            File.Delete(candidatesPath);
            File.Delete(Path.Combine(output, SummaryFile));
        }
        AtomicFile.WriteAllText(settingsPath, new JsonObject { ["generation"] = fingerprint.DeepClone() }.ToJsonString(Indented));

        var todo = examples.Where(e => !done.ContainsKey(e.Id)).ToList();
        int resumed = examples.Count - todo.Count;
        using var runLog = new RunLog(output, "sample", examples.Count, resumed > 0 ? resumed : null, settings, ["kept", "keep_rate", "tokens_per_second"]);
        runLog.Say($"rejection sampling: {examples.Count} prompts × {o.Samples} samples at T {o.Temperature}, top-p {o.TopP}, ≤ {o.MaxNewTokens} tokens" +
                   (resumed > 0 ? $"; {resumed} prompts already sampled" : ""));

        // ---- sample and score, one prompt at a time as results arrive ----
        int kept = done.Where(kv => byId.ContainsKey(kv.Key)).Sum(kv => filter.Judge(kv.Value, Language(byId[kv.Key])).Count(v => v is null));
        if (todo.Count > 0)
        {
            using var backend = Backend(o, modelDir);
            runLog.Say($"generating with {backend.Description}");
            var generation = new GenerationOptions
            {
                MaxNewTokens = o.MaxNewTokens, Temperature = o.Temperature, TopP = o.TopP, Stop = o.Stop, Seed = o.Seed,
            };
            var requests = todo.Select(e => new GenerationRequest(GenerationPrompt.FromText(e.Prompt), generation, o.Samples) { Id = e.Id }).ToList();
            using var candidates = new StreamWriter(candidatesPath, append: true);
            long tokens = 0;
            int sinceLog = 0;
            foreach (var (index, result) in backend.GenerateAsync(requests, ct).ToBlockingEnumerable(ct))
            {
                var example = todo[index];
                var samples = Score(example, result, rewards, ct);
                var verdicts = filter.Judge(samples, Language(example));
                candidates.WriteLine(CandidateLine(example.Id, samples, verdicts).ToJsonString());
                candidates.Flush();
                done[example.Id] = samples;
                kept += verdicts.Count(v => v is null);
                tokens += result.CompletionTokens;
                if (++sinceLog >= o.LogEvery || done.Count == examples.Count)
                {
                    sinceLog = 0;
                    double keepRate = kept / (double)(done.Count * o.Samples);
                    double speed = tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                    runLog.Step(done.Count, new Dictionary<string, double> { ["kept"] = kept, ["keep_rate"] = keepRate, ["tokens_per_second"] = speed },
                        $"prompts {done.Count}/{examples.Count}  kept {kept} ({keepRate:P1} of samples)  {speed:N0} tokens/s");
                }
            }
        }

        // ---- filter everything (again: thresholds may have changed since an interrupted run) and write ----
        var rows = new List<SampledRow>();
        var dropped = DropReasons.All.ToDictionary(r => r, _ => 0);
        int covered = 0;
        double keptTokens = 0;
        var candidateLines = new List<string>();
        foreach (var e in examples)
        {
            var samples = done[e.Id];
            var verdicts = filter.Judge(samples, Language(e));
            candidateLines.Add(CandidateLine(e.Id, samples, verdicts).ToJsonString());
            bool any = false;
            for (int i = 0; i < samples.Count; i++)
            {
                if (verdicts[i] is { } reason) { dropped[reason]++; continue; }
                any = true;
                keptTokens += samples[i].Tokens;
                rows.Add(new SampledRow(e.Prompt, samples[i].Completion, o.SourceStage, e.Id, samples[i].Index, samples[i].Rewards,
                    e.Field("language"), SampledRow.Reasoning, e.Question));
            }
            if (any) covered++;
        }
        int keptCount = rows.Count;
        rows.AddRange(general);
        if (rows.Count == 0)
            throw new InvalidDataException($"rejection sampling kept no response out of {examples.Count * o.Samples} " +
                $"(dropped: {string.Join(", ", dropped.Where(kv => kv.Value > 0).Select(kv => $"{kv.Key} {kv.Value}"))}) and has no general data to write");
        SampledRows.Write(dataPath, rows, rewards.Names);
        AtomicFile.Write(candidatesPath, w => candidateLines.ForEach(w.WriteLine)); // verdicts of the final filters

        var summary = new RejectionSamplingResult(dataPath, examples.Count, examples.Count * o.Samples, keptCount, general.Count,
            dropped, clock.Elapsed.TotalSeconds)
        {
            PromptsCovered = covered, MeanKeptTokens = keptCount == 0 ? 0 : keptTokens / keptCount,
        };
        var json = JsonSerializer.SerializeToNode(summary)!.AsObject();
        json["Generation"] = fingerprint.DeepClone();
        json["Filter"] = JsonSerializer.SerializeToNode(filter);
        AtomicFile.WriteAllText(Path.Combine(output, SummaryFile), json.ToJsonString(Indented));
        runLog.Say($"done: kept {keptCount} of {summary.Generated} responses ({covered}/{examples.Count} prompts covered), " +
                   $"{general.Count} general rows; dropped {string.Join(", ", dropped.Where(kv => kv.Value > 0).Select(kv => $"{kv.Key} {kv.Value}"))}; " +
                   $"wrote {dataPath} ({clock.Elapsed.TotalSeconds:F0} s)");
        return summary;
    }

    /// <summary>The task's first <see cref="RejectionSamplingOptions.Prompts"/> examples, rendered in the prompt style.</summary>
    public static IReadOnlyList<TaskExample> Prompts(RejectionSamplingOptions o)
    {
        var style = o.Style;
        IReadOnlyList<TaskExample> examples;
        switch (o.Task)
        {
            case EmbeddedTask.Name:
                examples = EmbeddedTask.RlTask(o.Prompts, (int)o.Seed, o.Difficulty, style).Examples;
                break;
            case "countdown":
                examples = CountdownTask.Generate(o.Prompts, (int)o.Seed, style: style).Examples;
                break;
            default:
                if (!File.Exists(o.Task)) throw new ArgumentException($"rejection sampling option Task: '{o.Task}' is not arithmetic or countdown, and no such data file");
                examples = [.. DatasetLoader.LoadAsync(o.Task, new DatasetLoadOptions(Style: style)).GetAwaiter().GetResult().Examples.Take(o.Prompts)];
                break;
        }
        if (examples.GroupBy(e => e.Id).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
            throw new ArgumentException($"task '{o.Task}': prompt id '{duplicate.Key}' appears {duplicate.Count()} times");
        return examples;
    }

    /// <summary>The configured rewards, plus the correctness and format rewards the filters read when they are missing.</summary>
    static List<RewardSpec> ScoredRewards(RejectionSamplingOptions o)
    {
        var specs = o.Rewards.ToList();
        bool Has(string name) => specs.Any(s => (s.Options?.GetValueOrDefault("name") ?? s.Name) == name);
        if (o.RequireCorrect && !Has(o.CorrectnessReward)) specs.Add(new RewardSpec(o.CorrectnessReward));
        if (o.RequireFormat && !Has(o.FormatReward)) specs.Add(new RewardSpec(o.FormatReward));
        return specs;
    }

    static List<SampleCandidate> Score(TaskExample example, GenerationResult result, WeightedRewards rewards, CancellationToken ct)
    {
        var samples = result.Samples;
        var scores = rewards.Score([.. samples.Select(s => example.ToRewardInput(s.Text, s.CompletionTokens))], ct);
        return [.. samples.Select((s, i) => new SampleCandidate(i, s.Text, scores[i].Components, s.FinishReason == FinishReason.Length, s.CompletionTokens))];
    }

    static IGenerationBackend Backend(RejectionSamplingOptions o, string modelDir)
    {
        if (o.Endpoint is null)
        {
            var device = o.Device == "cpu" ? CPU : new Device(o.Device);
            return new LocalGenerationBackend(LocalModel.Load(modelDir, Precision.Parse(o.Dtype), device), ownsModel: true) { MaxBatchRows = o.MaxBatchRows };
        }
        var endpoints = o.Endpoint.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(e => Uri.TryCreate(e, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
                ? u : throw new ArgumentException($"rejection sampling option Endpoint: '{e}' is not an http(s) URL"))
            .ToList();
        return new RemoteGenerationBackend(new RemoteBackendOptions
        {
            Endpoints = endpoints, Model = o.ServedModel!, ApiKey = Environment.GetEnvironmentVariable("OPENAI_API_KEY"), MaxConcurrency = o.Concurrency,
        });
    }

    /// <summary>General rows: the embedded task's general examples, or the first N rows of <see cref="RejectionSamplingOptions.GeneralData"/>.</summary>
    static List<SampledRow> GeneralRows(RejectionSamplingOptions o, CancellationToken ct)
    {
        if (o.GeneralExamples == 0) return [];
        if (o.GeneralData is null)
        {
            if (o.Task != EmbeddedTask.Name)
                throw new ArgumentException($"rejection sampling option GeneralData: needed for {o.GeneralExamples} general examples (the embedded ones go with task arithmetic only)");
            return [.. EmbeddedTask.GeneralSftExamples(o.GeneralExamples, (int)o.Seed, style: o.Style).Select(e => new SampledRow(
                e.Prompt, e.Completion, "general-data", e.Id, 0, new Dictionary<string, double?>(), e.Reference.GetValueOrDefault("language"),
                SampledRow.General, e.Question))];
        }
        var rows = new List<SampledRow>();
        string file = o.GeneralData;
        foreach (var (line, row) in DataRows.Read(file, ct))
        {
            if (rows.Count == o.GeneralExamples) break;
            string prompt = DataRows.String(row, "prompt", file, line), completion = DataRows.String(row, "completion", file, line);
            if (completion.Length == 0) throw new DatasetFormatException(file, line, "completion", "empty completion");
            string? Optional(string field) => row[field] is null ? null : DataRows.String(row, field, file, line);
            rows.Add(new SampledRow(prompt, completion, "general-data", Optional("id") ?? $"{Path.GetFileName(file)}-{line}", 0,
                new Dictionary<string, double?>(), Optional("language"), SampledRow.General, Optional("question") ?? prompt));
        }
        if (rows.Count < o.GeneralExamples)
            throw new ArgumentException($"rejection sampling: {file} has {rows.Count} general rows, fewer than GeneralExamples {o.GeneralExamples}");
        return rows;
    }

    /// <summary>What decides the samples: the model and every generation and scoring setting (not the filters, the device or the backend).</summary>
    static JsonObject Fingerprint(RejectionSamplingOptions o, string modelDir) => new()
    {
        ["model"] = o.Endpoint is null ? Path.GetFullPath(modelDir) : o.ServedModel,
        ["task"] = o.Task, ["prompts"] = o.Prompts, ["difficulty"] = JsonSerializer.SerializeToNode(o.Difficulty),
        ["prompt_style"] = o.Style.ToString(), ["samples"] = o.Samples, ["temperature"] = o.Temperature, ["top_p"] = o.TopP,
        ["max_new_tokens"] = o.MaxNewTokens, ["stop"] = JsonSerializer.SerializeToNode(o.Stop), ["seed"] = o.Seed, ["dtype"] = o.Dtype,
        ["rewards"] = JsonSerializer.SerializeToNode(ScoredRewards(o)),
    };

    /// <summary>The stored result when the data file and summary exist for the same generation settings and filters.</summary>
    static RejectionSamplingResult? Finished(string output, string dataPath, JsonObject fingerprint, RejectionSamplingOptions o)
    {
        string path = Path.Combine(output, SummaryFile);
        if (!File.Exists(path) || !File.Exists(dataPath)) return null;
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(path))?.AsObject();
            if (json is null || json["Generation"]?.ToJsonString() != fingerprint.ToJsonString()) return null;
            if (json["Filter"]?.ToJsonString() != JsonSerializer.SerializeToNode(o.Filter)!.ToJsonString()) return null;
            var result = json.Deserialize<RejectionSamplingResult>();
            return result is null || result.DataPath != dataPath ? null : result;
        }
        catch (JsonException) { return null; }
    }

    static JsonObject CandidateLine(string promptId, IReadOnlyList<SampleCandidate> samples, IReadOnlyList<string?> verdicts) => new()
    {
        ["prompt_id"] = promptId,
        ["samples"] = new JsonArray([.. samples.Select((s, i) => (JsonNode)new JsonObject
        {
            ["index"] = s.Index, ["completion"] = s.Completion, ["truncated"] = s.Truncated, ["tokens"] = s.Tokens,
            ["rewards"] = new JsonObject(s.Rewards.Select(kv => KeyValuePair.Create(kv.Key, kv.Value is double v && double.IsFinite(v) ? (JsonNode?)v : null))),
            ["verdict"] = verdicts[i] ?? "kept",
        })]),
    };

    /// <summary>Samples of candidates.jsonl by prompt id; a last line cut short by an interruption is ignored.</summary>
    static Dictionary<string, IReadOnlyList<SampleCandidate>> ReadCandidates(string path, CancellationToken ct)
    {
        var result = new Dictionary<string, IReadOnlyList<SampleCandidate>>(StringComparer.Ordinal);
        if (!File.Exists(path)) return result;
        var lines = File.ReadAllLines(path);
        for (int n = 0; n < lines.Length; n++)
        {
            ct.ThrowIfCancellationRequested();
            if (string.IsNullOrWhiteSpace(lines[n])) continue;
            try
            {
                var row = JsonNode.Parse(lines[n])!.AsObject();
                result[(string)row["prompt_id"]!] = [.. row["samples"]!.AsArray().Select(s => new SampleCandidate(
                    (int)s!["index"]!, (string)s["completion"]!,
                    s["rewards"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value is null ? null : (double?)kv.Value.GetValue<double>()),
                    (bool)s["truncated"]!, (int)s["tokens"]!))];
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
            {
                if (n == lines.Length - 1) break; // written when the run stopped
                throw new DatasetFormatException(path, n + 1, null, $"not a candidates line ({e.Message}); delete the file to sample again", e);
            }
        }
        return result;
    }
}
