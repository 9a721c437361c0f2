// r1sharp sample --model runs/reasoning-rl/model --output runs/rejection-sampling [--config FILE.yaml] [--resume]
//
// Rejection sampling, DeepSeek-R1 stage 4 (paper §2.3.3): from the reasoning-RL checkpoint, draw N
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
using R1Sharp.Data;
using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Eval;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Sampling;

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
    static JsonSerializerOptions Indented => JsonFormat.Indented;

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
        // Under mpiexec rank r samples its contiguous share of the prompts still to do, appending its samples to
        // candidates.rank-R.jsonl (rank 0 to candidates.jsonl); rank 0 alone reads, filters and writes the run folder,
        // in the order of the prompts, so the data is the one-process run's (each prompt's samples are keyed by its place).
        var dp = settings.Collective;
        bool main = dp.Rank == 0;
        ConfigBinder.Check(o, "sample");
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(output);
        string dataPath = Path.Combine(output, "data." + o.Format);
        var fingerprint = Fingerprint(o, modelDir, settings.Dtype);
        if (settings.Resume && Finished(output, dataPath, fingerprint, o) is { } finished)
        {
            settings.Log?.Invoke($"rejection sampling: {dataPath} is complete for these settings; nothing to do");
            return finished with { Seconds = clock.Elapsed.TotalSeconds };
        }

        // ---- prompts, rewards, general data (all errors surface before any generation) ----
        var task = Prompts(o);
        var examples = task.Examples;
        var byId = examples.ToDictionary(e => e.Id, StringComparer.Ordinal);
        var rewards = task.BuildRewards(ScoredRewards(o));
        var general = GeneralRows(o, ct);
        var filter = o.Filter;
        string Language(TaskExample e) => e.Field("language") ?? o.DefaultLanguage;

        // ---- earlier samples of an interrupted run ----
        string candidatesPath = Path.Combine(output, CandidatesFile), settingsPath = Path.Combine(output, SettingsFile);
        var done = new Dictionary<string, IReadOnlyList<SampleCandidate>>(StringComparer.Ordinal);
        if (main && settings.Resume && File.Exists(settingsPath))
        {
            JsonNode? stored;
            try { stored = JsonNode.Parse(File.ReadAllText(settingsPath)); }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{settingsPath}: not valid JSON ({e.Message}); use another output folder, or run without --resume to start over", e);
            }
            var previous = (stored as JsonObject)?["generation"]?.ToJsonString(); // another shape counts as other settings
            if (previous != fingerprint.ToJsonString())
                throw new InvalidDataException($"{output} holds rejection samples drawn with other settings ({settingsPath}); " +
                                                    "use another output folder, or run without --resume to start over");
            done = ReadCandidates(candidatesPath, ct);
            foreach (var file in RankFiles(output)) // the other ranks' samples of an interrupted run on several ranks
                foreach (var (id, samples) in ReadCandidates(file, ct)) done[id] = samples;
            // Rewritten without a line cut short by the interruption, so that new lines are appended after whole ones.
            AtomicFile.Write(candidatesPath, w =>
            {
                foreach (var (id, samples) in done) w.WriteLine(CandidateLine(id, samples, filter.Judge(samples, byId.TryGetValue(id, out var e) ? Language(e) : o.DefaultLanguage)).ToJsonString());
            });
        }
        else if (main)
        {
            File.Delete(candidatesPath);
            File.Delete(Path.Combine(output, SummaryFile));
        }
        if (main)
        {
            RankFiles(output).ForEach(File.Delete); // merged into candidates.jsonl above, or of an earlier run
            AtomicFile.WriteAllText(settingsPath, new JsonObject { ["generation"] = fingerprint.DeepClone() }.ToJsonString(Indented));
        }
        var doneIds = dp.BroadcastObject(main ? done.Keys.ToList() : null)!.ToHashSet(StringComparer.Ordinal); // also: rank 0 is ready

        var todo = examples.Where(e => !doneIds.Contains(e.Id)).ToList();
        int resumed = examples.Count - todo.Count;
        var place = examples.Select((e, i) => (e.Id, i)).ToDictionary(x => x.Id, x => (long)x.i, StringComparer.Ordinal);
        var (from, count) = TrainingRun.Shard(todo.Count, dp.Rank, dp.Size);
        var mine = todo.GetRange(from, count);
        using var runLog = main ? new RunLog(output, "sample", examples.Count, resumed > 0 ? resumed : null, settings, ["kept", "keep_rate", "tokens_per_second"]) : null;
        runLog?.Say($"rejection sampling: {examples.Count} prompts × {o.Samples} samples at T {o.Sampling.Temperature}, top-p {o.Sampling.TopP}, ≤ {o.Sampling.MaxNewTokens} tokens" +
                   (resumed > 0 ? $"; {resumed} prompts already sampled" : "") + (dp.Size > 1 ? $"; {dp.Size} ranks, rank 0 samples {count} of {todo.Count}" : ""));

        // ---- sample and score, one prompt at a time as results arrive ----
        int kept = done.Where(kv => byId.ContainsKey(kv.Key)).Sum(kv => filter.Judge(kv.Value, Language(byId[kv.Key])).Count(v => v is null));
        if (mine.Count > 0)
        {
            using var backend = Backend(o, modelDir, settings);
            runLog?.Say($"generating with {backend.Description}");
            var generation = o.Sampling with { Seed = o.Seed };
            var requests = mine.Select(e => new GenerationRequest(GenerationPrompt.FromText(e.Prompt), generation, o.Samples) { Id = e.Id, SampleKey = place[e.Id] }).ToList();
            using var candidates = new StreamWriter(main ? candidatesPath : RankFile(output, dp.Rank), append: true);
            long tokens = 0;
            int sinceLog = 0;
            bool first = true;
            foreach (var (index, result) in backend.GenerateAsync(requests, ct).ToBlockingEnumerable(ct))
            {
                var example = mine[index];
                var samples = Score(example, result, rewards, first ? task.Name : null, ct);
                first = false;
                var verdicts = filter.Judge(samples, Language(example));
                candidates.WriteLine(CandidateLine(example.Id, samples, verdicts).ToJsonString());
                candidates.Flush();
                done[example.Id] = samples;
                kept += verdicts.Count(v => v is null);
                tokens += result.CompletionTokens;
                if (runLog is not null && (++sinceLog >= o.LogEvery || done.Count == examples.Count))
                {
                    sinceLog = 0;
                    double keepRate = kept / (double)(done.Count * o.Samples);
                    double speed = tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                    runLog.Step(done.Count, new Dictionary<string, double> { ["kept"] = kept, ["keep_rate"] = keepRate, ["tokens_per_second"] = speed },
                        $"prompts {done.Count}/{examples.Count}  kept {kept} ({keepRate:P1} of samples)  {speed:N0} tokens/s");
                }
            }
        }

        // ---- rank 0: every rank's samples; filter everything (again: thresholds may have changed since an interrupted run) and write ----
        dp.Barrier(); // every rank has written its samples
        if (!main)
            return dp.BroadcastObject<RejectionSamplingResult?>(null)!;
        foreach (var file in RankFiles(output))
            foreach (var (id, samples) in ReadCandidates(file, ct)) done[id] = samples;
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
        RankFiles(output).ForEach(File.Delete); // now in candidates.jsonl

        var summary = new RejectionSamplingResult(dataPath, examples.Count, examples.Count * o.Samples, keptCount, general.Count,
            dropped, clock.Elapsed.TotalSeconds)
        {
            PromptsCovered = covered, MeanKeptTokens = keptCount == 0 ? 0 : keptTokens / keptCount,
        };
        var json = new JsonObject { ["recipe"] = "sample" };
        foreach (var (key, value) in JsonSerializer.SerializeToNode(summary, Indented)!.AsObject().ToList()) json[key] = value?.DeepClone();
        json["generation"] = fingerprint.DeepClone();
        json["filter"] = JsonSerializer.SerializeToNode(filter, Indented);
        AtomicFile.WriteAllText(Path.Combine(output, SummaryFile), json.ToJsonString(Indented));
        runLog!.Say($"done: kept {keptCount} of {summary.Generated} responses ({covered}/{examples.Count} prompts covered), " +
                   $"{general.Count} general rows; dropped {string.Join(", ", dropped.Where(kv => kv.Value > 0).Select(kv => $"{kv.Key} {kv.Value}"))}; " +
                   $"wrote {dataPath} ({clock.Elapsed.TotalSeconds:F0} s)");
        return dp.Size > 1 ? dp.BroadcastObject<RejectionSamplingResult?>(summary)! : summary;
    }

    /// <summary>Where rank <paramref name="rank"/> (≥ 1) of a run on several ranks appends its samples.</summary>
    static string RankFile(string output, int rank) => Path.Combine(output, $"candidates.rank-{rank}.jsonl");

    /// <summary>The other ranks' sample files in <paramref name="output"/>, by rank.</summary>
    static List<string> RankFiles(string output) => !Directory.Exists(output) ? []
        : [.. Directory.GetFiles(output, "candidates.rank-*.jsonl").OrderBy(f => f, StringComparer.Ordinal)];

    /// <summary>The task with its first <see cref="RejectionSamplingOptions.Prompts"/> examples, rendered in the prompt style.</summary>
    public static TaskDefinition Prompts(RejectionSamplingOptions o)
    {
        var style = o.PromptStyle;
        TaskDefinition task;
        switch (o.Task)
        {
            case EmbeddedTask.Name:
                task = EmbeddedTask.RlTask(o.Prompts, (int)o.Seed, o.Difficulty, style);
                break;
            case "countdown":
                task = CountdownTask.Generate(o.Prompts, (int)o.Seed, style: style);
                break;
            default:
                if (!DataRows.Exists(o.Task)) throw new ArgumentException($"rejection sampling option task: '{o.Task}' is not arithmetic or countdown, and no such data file or dataset folder");
                task = new TaskDefinition(Path.GetFileName(o.Task), [.. DatasetLoader.Load(o.Task, new DatasetLoadOptions(EvalTasks.Columns(o.PromptField, o.AnswerField), style)).Examples.Take(o.Prompts)],
                    [new RewardSpec(o.CorrectnessReward)], new EvaluationMetric(o.CorrectnessReward));
                break;
        }
        if (task.Examples.GroupBy(e => e.Id).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
            throw new ArgumentException($"task '{o.Task}': prompt id '{duplicate.Key}' appears {duplicate.Count()} times");
        return task;
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

    /// <param name="firstBatch">The task's name for the first result of a run: a reward that cannot judge any of its samples stops the run.</param>
    static List<SampleCandidate> Score(TaskExample example, GenerationResult result, WeightedRewards rewards, string? firstBatch, CancellationToken ct)
    {
        var samples = result.Samples;
        var inputs = samples.Select(s => example.ToRewardInput(s.Text, s.CompletionTokens)).ToList();
        var scores = rewards.Score(inputs, ct);
        if (firstBatch is not null) RewardChecks.RequireJudgements(rewards, scores, inputs, firstBatch);
        return [.. samples.Select((s, i) => new SampleCandidate(i, s.Text, scores[i].Components, s.FinishReason == FinishReason.Length, s.CompletionTokens))];
    }

    static IGenerationBackend Backend(RejectionSamplingOptions o, string modelDir, RunSettings settings)
    {
        if (o.Endpoint is null)
            return new LocalGenerationBackend(LocalModel.Load(modelDir, settings.Dtype, settings.Device), ownsModel: true) { MaxBatchRows = o.MaxBatchRows };
        var endpoints = o.Endpoint.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(e => Uri.TryCreate(e, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
                ? u : throw new ArgumentException($"rejection sampling option endpoint: '{e}' is not an http(s) URL"))
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
                throw new ArgumentException($"rejection sampling option general_data: needed for {o.GeneralExamples} general examples (the embedded ones go with task arithmetic only)");
            return [.. EmbeddedTask.GeneralSftExamples(o.GeneralExamples, (int)o.Seed, style: o.PromptStyle).Select(e => new SampledRow(
                e.Prompt, e.Completion, "general-data", e.Id, 0, new Dictionary<string, double?>(), e.Reference.GetValueOrDefault("language"),
                SampledRow.General, e.Question))];
        }
        var rows = new List<SampledRow>();
        string file = o.GeneralData;
        foreach (var row in DataRows.Read(file, ct))
        {
            if (rows.Count == o.GeneralExamples) break;
            string prompt = row.String("prompt"), completion = row.String("completion");
            if (completion.Length == 0) throw row.Error("completion", "empty completion");
            rows.Add(new SampledRow(prompt, completion, "general-data", row.OptionalString("id") ?? $"{Path.GetFileName(file)}-{row.Line}", 0,
                new Dictionary<string, double?>(), row.OptionalString("language"), SampledRow.General, row.OptionalString("question") ?? prompt));
        }
        if (rows.Count < o.GeneralExamples)
            throw new ArgumentException($"rejection sampling: {file} has {rows.Count} general rows, fewer than GeneralExamples {o.GeneralExamples}");
        return rows;
    }

    /// <summary>What decides the samples: the model and every generation and scoring setting (not the filters, the device or the backend).</summary>
    static JsonObject Fingerprint(RejectionSamplingOptions o, string modelDir, ScalarType dtype) => new()
    {
        ["model"] = o.Endpoint is null ? Path.GetFullPath(modelDir) : o.ServedModel,
        ["task"] = o.Task, ["prompts"] = o.Prompts, ["difficulty"] = JsonSerializer.SerializeToNode(o.Difficulty, Indented),
        ["prompt_style"] = o.PromptStyle.ToString(), ["samples"] = o.Samples, ["temperature"] = o.Sampling.Temperature, ["top_p"] = o.Sampling.TopP,
        ["top_k"] = o.Sampling.TopK, ["min_p"] = o.Sampling.MinP, ["max_new_tokens"] = o.Sampling.MaxNewTokens,
        ["stop"] = JsonSerializer.SerializeToNode(o.Sampling.Stop, Indented), ["seed"] = o.Seed, ["dtype"] = Precision.Name(dtype),
        ["rewards"] = JsonSerializer.SerializeToNode(ScoredRewards(o), Indented),
    };

    /// <summary>The stored result when the data file and summary exist for the same generation settings and filters.</summary>
    static RejectionSamplingResult? Finished(string output, string dataPath, JsonObject fingerprint, RejectionSamplingOptions o)
    {
        string path = Path.Combine(output, SummaryFile);
        if (!File.Exists(path) || !File.Exists(dataPath)) return null;
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(path))?.AsObject();
            if (json is null || json["generation"]?.ToJsonString() != fingerprint.ToJsonString()) return null;
            if (json["filter"]?.ToJsonString() != JsonSerializer.SerializeToNode(o.Filter, Indented)!.ToJsonString()) return null;
            var result = json.Deserialize<RejectionSamplingResult>(Indented);
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
