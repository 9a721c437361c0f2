// r1sharp pipeline run configs/pipeline-embedded.yaml --output runs/r1 [--from STAGE] [--until STAGE] [--quick]
//
// DeepSeek-R1's multi-stage recipe (Guo et al. 2025, §2), one stage after the other, each from the model the paper
// starts it from:
//   base                pretrain a base model (the role of DeepSeek-V3-Base)
//   r1-zero             GRPO from the base with rule rewards only (accuracy + format), R1-Zero template, no SFT
//   cold-start          SFT of the base on readable chains of thought (rewritten R1-Zero samples + worked examples)
//   reasoning-rl        GRPO from the cold-start model: accuracy + format + language consistency
//   rejection-sampling  N samples per prompt from the reasoning-RL model; keep the correct, readable ones; add general data
//   sft                 SFT of the *base* model on that mix
//   final-rl            reward models (helpfulness on the summary, harmlessness on the whole response) on preference
//                       pairs, then GRPO from the SFT model: rule rewards on reasoning prompts, reward models on general ones
//   distill             a smaller student: SFT on the stage-4 data (distilled), and R1-Zero RL alone (RL-only) — Table 6
//   eval                every model above on the same held-out prompts: pass@1 and cons@k over k samples at T 0.6,
//                       format rate, language consistency, mean length
// Each stage writes under its own folder of the run (model/, metrics.jsonl, samples); summary.json records what is
// done and the hash of the config each stage ran with, so a rerun skips finished stages, resumes an interrupted one from
// its last checkpoint, and refuses a changed stage config unless --from redoes it. Nothing in the folder is written or
// deleted before every check has passed.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Distill;
using R1Sharp.Recipes.Eval;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Recipes.Sampling;
using R1Sharp.Recipes.Sft;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Training.Runs;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>Which part of the pipeline to run, and how.</summary>
/// <param name="From">Run from this stage on, redoing it and every later stage (earlier ones must be done).</param>
/// <param name="Until">Stop after this stage.</param>
/// <param name="ConfigPath">The config file, recorded in summary.json and config.yaml.</param>
public sealed record PipelineRun(PipelineStage? From = null, PipelineStage? Until = null, bool Quick = false, string? ConfigPath = null);

/// <summary>A pipeline run folder that cannot be used as asked; nothing in it was changed.</summary>
public sealed class PipelineStateException(string message) : Exception(message);

public static class PipelineRecipe
{
    /// <summary>Runs the stages of <paramref name="run"/> under <paramref name="output"/>; returns the final table.</summary>
    /// <param name="settings">How to run: its device and dtype are replaced by the config's (<see cref="PipelineOptions.Device"/>,
    /// <see cref="PipelineOptions.Dtype"/>); every stage resumes.</param>
    public static IReadOnlyList<TableRow> Run(PipelineOptions o, string output, PipelineRun run, RunSettings? settings = null)
    {
        ConfigBinder.Check(o, "pipeline");
        o = o.Reseeded(); // a run records (and hashes) each stage's own seed
        var rs = (settings ?? new RunSettings()) with { Resume = true, Device = RunSettings.ParseDevice(o.Device), Dtype = Precision.Parse(o.Dtype) };
        // Under mpiexec every stage runs data-parallel on all ranks (docs/distributed.md): the training stages and rejection
        // sampling split their batches and prompts; the held-out evaluations run on rank 0 while the others wait. Rank 0
        // alone writes the run folder (config.yaml, summary.json, the stages' files).
        var dp = rs.Collective;
        bool main = dp.Rank == 0;
        if (dp.Size > 1 && o.Fleet.Stages.Count > 0)
            throw new NotSupportedException($"pipeline: fleet.stages names stages to run on inference servers, which runs as one process; " +
                                            $"start it without mpiexec ({dp.Size} MPI ranks here), or leave fleet.stages empty");
        var say = rs.Log ?? Console.WriteLine;
        var from = run.From ?? PipelineStage.Base;
        var until = run.Until ?? PipelineStage.Eval;
        if (from > until) throw new ArgumentException($"--from {from.Name()} comes after --until {until.Name()}");

        // ---- every check first: nothing is written or deleted before they pass ----
        var summary = PipelineSummary.Open(output, run.Quick);
        var hashes = PipelineStages.All.ToDictionary(s => s, s => ConfigHash(s, o));
        var paths = new RunPaths(output, o.BaseModel, o.Distill.StudentModel);
        foreach (var stage in PipelineStages.All.Where(s => s < from))
        {
            if (!summary.IsDone(stage))
                throw new PipelineStateException($"--from {from.Name()}: the earlier stage '{stage.Name()}' is not done in {output}");
            if (paths.ModelOf(stage) is not null && !Directory.Exists(paths.Model(stage.Name())))
                throw new PipelineStateException($"--from {from.Name()}: the earlier stage '{stage.Name()}' is marked done but its model {paths.Model(stage.Name())} is missing");
        }
        foreach (var stage in PipelineStages.All.Where(s => (run.From is null || s < from) && summary.IsDone(s)))
            if (summary.ConfigHash(stage) is { } done && done != hashes[stage])
                throw new PipelineStateException(
                    $"{output}: stage '{stage.Name()}' was done with another config (its section '{Section(stage)}' or the dtype changed). " +
                    $"Nothing was changed. Rerun with --from {stage.Name()} to redo it and every later stage, or use another --output.");

        // ---- the run ----
        dp.Barrier(); // every rank has read the folder before rank 0 writes to it
        summary.ReadOnly = !main;
        if (main)
        {
            Directory.CreateDirectory(output);
            ConfigBinder.WriteYaml(o, Path.Combine(output, "config.yaml"), $"r1sharp pipeline run {run.ConfigPath ?? "(options built in code)"} (effective options)");
        }
        summary.Begin(run.ConfigPath);
        if (run.From is not null) // --from redoes the stage and what follows
            foreach (var later in PipelineStages.All.Where(s => s >= from))
            {
                if (main) paths.Clear(later, say);
                summary.Reset(later);
            }
        dp.Barrier();
        int n = PipelineStages.All.Count;
        foreach (var stage in PipelineStages.All.Where(s => s <= until))
        {
            string label = $"[{(int)stage + 1}/{n}] {stage.Name()}";
            if (summary.IsDone(stage))
            {
                say($"{label}: done earlier, skipped");
                continue;
            }
            say(label);
            summary.Start(stage);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            RunStage(stage, o, paths, rs, summary, say);
            dp.Barrier(); // the stage's files are written before any rank reads them
            summary.Finish(stage, clock.Elapsed.TotalSeconds, paths.ModelOf(stage), hashes[stage]);
            say($"{label}: done in {clock.Elapsed.TotalSeconds:F0} s");
        }
        return summary.Table;
    }

    /// <summary>The config section a stage runs from.</summary>
    static string Section(PipelineStage stage) => stage switch
    {
        PipelineStage.Base => "base / base_model",
        PipelineStage.ColdStart => "cold_start, or reasoning_rl.difficulty: the worked examples' problems",
        _ => stage.Name().Replace('-', '_'),
    };

    /// <summary>A hash of what decides a stage's result: its section of the config (the cold start's with the reasoning RL's
    /// difficulty, which its worked examples follow), and the dtype.</summary>
    public static string ConfigHash(PipelineStage stage, PipelineOptions o)
    {
        string section = stage switch
        {
            PipelineStage.Base => $"base_model: {o.BaseModel}\n" + ConfigBinder.ToYaml(o.Base),
            PipelineStage.R1Zero => PipelineFleetOptions.WithoutDefaultRollouts(ConfigBinder.ToYaml(o.R1Zero)),
            PipelineStage.ColdStart => ConfigBinder.ToYaml(o.ColdStart) + "\nworked examples like reasoning_rl:\n" + ConfigBinder.ToYaml(o.ReasoningRl.Difficulty),
            PipelineStage.ReasoningRl => PipelineFleetOptions.WithoutDefaultRollouts(ConfigBinder.ToYaml(o.ReasoningRl)),
            PipelineStage.RejectionSampling => ConfigBinder.ToYaml(o.RejectionSampling),
            PipelineStage.Sft => ConfigBinder.ToYaml(o.Sft) + MultiTurnYaml(o),
            PipelineStage.FinalRl => PipelineFleetOptions.WithoutDefaultRollouts(ConfigBinder.ToYaml(o.FinalRl)) + MultiTurnYaml(o),
            PipelineStage.Distill => PipelineFleetOptions.WithoutDefaultRollouts(ConfigBinder.ToYaml(o.Distill)) + MultiTurnYaml(o),
            PipelineStage.Eval => ConfigBinder.ToYaml(o.Eval),
            _ => throw new ArgumentOutOfRangeException(nameof(stage)),
        };
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"dtype: {o.Dtype}\n{WithoutNullAdditions(section)}")))[..16];
    }

    /// <summary>The multi_turn section as it enters the SFT, final-RL and distill hashes (nothing when it is off, as before it existed).</summary>
    static string MultiTurnYaml(PipelineOptions o) => o.MultiTurn.Share > 0 ? "\nmulti_turn:\n" + ConfigBinder.ToYaml(o.MultiTurn) : "";

    /// <summary>
    /// The YAML without the lines of fields added since run folders were first made whose null means "off": a reward's
    /// <c>assembly: null</c> (R1Sharp's own reward), a stage's <c>lora: null</c> (full fine-tuning), the base's
    /// <c>textbook_max_operations: null</c> (the corpus's own chain lengths) and the cold start's <c>max_operations: null</c>
    /// with <c>longer_chains: 0</c> (no cap), so that a stage's config hash does not change with their arrival (a pipeline
    /// run folder made before keeps its finished stages).
    /// </summary>
    public static string WithoutNullAdditions(string yaml) =>
        string.Join('\n', yaml.Split('\n').Where(l => l.Trim() is not ("assembly: null" or "lora: null" or "textbook_max_operations: null" or "max_operations: null" or "longer_chains: 0")));

    static void RunStage(PipelineStage stage, PipelineOptions o, RunPaths p, RunSettings rs, PipelineSummary summary, Action<string> say)
    {
        switch (stage)
        {
            case PipelineStage.Base:
                if (o.BaseModel is not null) say($"base model: {o.BaseModel} (given; nothing to train)");
                else Once(p.Dir("base"), () => PretrainRecipe.Run(o.Base, p.Dir("base"), rs));
                break;

            case PipelineStage.R1Zero:
                Once(p.Dir("r1-zero"), () => GrpoRecipe.Run(Rl(o, PipelineStage.R1Zero, o.R1Zero), p.Model("base"), p.Dir("r1-zero"), rs));
                Curves(p.Dir("r1-zero"), o.R1Zero, rs);
                break;

            case PipelineStage.ColdStart:
            {
                var r1ZeroPrompts = GrpoTasks.Resolve(o.R1Zero).Train;
                // The worked examples cover the problems the reasoning RL trains on next (R1-Zero's samples cover only its own).
                var data = ColdStartData.Build(Path.Combine(p.Dir("r1-zero"), "completions.jsonl"), r1ZeroPrompts, o.ColdStart, o.ColdStart.Sft.Seed,
                    o.R1Zero.Task == EmbeddedTask.Name ? o.ReasoningRl.Difficulty : null);
                if (rs.Collective.Rank == 0) // a record of the data; every rank builds the same records from the R1-Zero samples
                    DataRows.WriteJsonl(Path.Combine(p.Dir("cold-start"), "data.jsonl"), data.Select(e => (JsonNode)new JsonObject
                    {
                        ["prompt"] = e.Prompt, ["completion"] = e.Completion, ["source"] = e.Source, ["prompt_id"] = e.PromptId, ["language"] = e.Language,
                    }));
                say($"cold-start data: {data.Count(e => e.Source == "r1-zero")} rewritten R1-Zero samples + {data.Count(e => e.Source == "generator")} worked examples");
                Once(p.Dir("cold-start"), () => SftRecipe.Run(o.ColdStart.Sft, p.Model("base"), p.Dir("cold-start"), rs,
                    [.. data.Select(e => SftRecord.FromPair(e.Prompt, e.Completion, e.PromptId))]));
                break;
            }

            case PipelineStage.ReasoningRl:
                Once(p.Dir("reasoning-rl"), () => GrpoRecipe.Run(Rl(o, PipelineStage.ReasoningRl, o.ReasoningRl), p.Model("cold-start"), p.Dir("reasoning-rl"), rs));
                Curves(p.Dir("reasoning-rl"), o.ReasoningRl, rs);
                break;

            case PipelineStage.RejectionSampling:
                Once(p.Dir("rejection-sampling"), () =>
                {
                    var sampling = o.RejectionSampling;
                    if (o.Fleet.Uses(PipelineStage.RejectionSampling))
                    {
                        // The fleet loads the reasoning-RL model, then serves the sampling as OpenAI-compatible servers.
                        using var fleet = o.Fleet.Open(say);
                        PipelineFleetOptions.Load(fleet, p.Model("reasoning-rl"), "pipeline/reasoning-rl", say);
                        sampling = sampling with
                        {
                            Endpoint = string.Join(",", fleet.Servers.Select(s => new Uri(s.Root, "v1").ToString())),
                            ServedModel = fleet.ModelNameAsync().GetAwaiter().GetResult(),
                        };
                    }
                    RejectionSampling.Run(sampling, p.Model("reasoning-rl"), p.Dir("rejection-sampling"), rs);
                });
                break;

            case PipelineStage.Sft:
                Once(p.Dir("sft"), () =>
                {
                    if (o.MultiTurn.Share <= 0) return SftRecipe.Run(o.Sft with { Data = p.SampledData() }, p.Model("base"), p.Dir("sft"), rs);
                    // A share of the rejection-sampled examples asked after earlier turns (MultiTurnData); written as data.jsonl for the record.
                    var pairs = DataRows.Read(p.SampledData()).Select(r => (Prompt: r.String("prompt"), Completion: r.String("completion"))).ToList();
                    var data = MultiTurnData.Sft(pairs, o.MultiTurn, o.Sft.Seed);
                    if (rs.Collective.Rank == 0)
                        DataRows.WriteJsonl(Path.Combine(p.Dir("sft"), "data.jsonl"), data.Select(e => (JsonNode)new JsonObject { ["prompt"] = e.Prompt, ["completion"] = e.Completion }));
                    say($"sft data: {data.Count} examples, {data.Count(e => MultiTurnData.Question(e.Prompt) is null)} of them multi-turn");
                    return SftRecipe.Run(o.Sft, p.Model("base"), p.Dir("sft"), rs, [.. data.Select(e => SftRecord.FromPair(e.Prompt, e.Completion))]);
                });
                break;

            case PipelineStage.FinalRl:
                FinalRl(o, p, rs);
                break;

            case PipelineStage.Distill:
            {
                var studentBase = o.Distill.StudentBase with { Tokenizer = o.Distill.StudentBase.Tokenizer ?? p.Model("base") };
                if (o.Distill.StudentModel is null) Once(p.Dir("student-base"), () => PretrainRecipe.Run(studentBase, p.Dir("student-base"), rs));
                var student = o.Distill.Student.KlWeight > 0 && o.Distill.Student.Teacher is null
                    ? o.Distill.Student with { Teacher = p.Model("final-rl") } : o.Distill.Student;
                Once(p.Dir("distill"), () => DistillRecipe.Run(student, p.Model("student-base"), p.SftData(o), p.Dir("distill"), rs));
                Once(p.Dir("student-rl"), () => GrpoRecipe.Run(Rl(o, PipelineStage.Distill, o.Distill.StudentRl), p.Model("student-base"), p.Dir("student-rl"), rs));
                Curves(p.Dir("student-rl"), o.Distill.StudentRl, rs);
                break;
            }

            case PipelineStage.Eval:
            {
                // Rank 0 evaluates (its folders are resumable and its own); the other ranks wait for it at the end of the stage.
                if (rs.Collective.Rank != 0) break;
                // On the fleet when it is named for eval: each model of the base's architecture is loaded onto it in turn.
                using var fleet = o.Fleet.Uses(PipelineStage.Eval) ? o.Fleet.Open(say) : null;
                using var judges = TrainJudges(o, p, rs, say);
                foreach (var row in PipelineEvaluation.Rows)
                {
                    bool remote = fleet is not null && PipelineFleetOptions.SameShape(p.Model(row.Folder), p.Model("base"));
                    if (fleet is not null && !remote) say($"eval {row.Title}: another architecture than the fleet's, evaluated in this process");
                    if (remote) PipelineFleetOptions.Load(fleet!, p.Model(row.Folder), $"pipeline/eval/{row.Row}", say);
                    var result = PipelineEvaluation.Evaluate(row, p.Model(row.Folder), Path.Combine(p.Root, "eval", row.Row), o.Eval, rs,
                        remote ? fleet : null, judges?.Judges);
                    summary.SetRow(result with { Model = Path.GetRelativePath(p.Root, p.Model(row.Folder)) });
                    say($"eval {row.Title}: pass@1 {result.PassAt1:P1}, cons@{result.K} {result.ConsAtK:P1}, format {result.FormatRate:P0}, " +
                        $"language {PipelineTable.Language(result.LanguageConsistency)}, length {result.MeanLength:F1}" +
                        (result.HardPassAt1 is { } hp ? $"; hard pass@1 {hp:P1}" : "") +
                        (result.Helpfulness is { } hf ? $"; helpful {hf:P0}" : "") + (result.Harmlessness is { } hm ? $", harmless {hm:P0}" : ""));
                }
                break;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(stage), stage, null);
        }
    }

    /// <summary>
    /// Final RL (paper §2.3.4): a helpfulness reward model (reads the summary) and a harmlessness one (reads the whole
    /// response) trained from the SFT model on the task family's preference pairs (or the user's file), then GRPO from
    /// the SFT model over reasoning prompts (accuracy, format, language) and general prompts (the two reward models, language).
    /// </summary>
    static void FinalRl(PipelineOptions o, RunPaths p, RunSettings rs)
    {
        var f = o.FinalRl;
        var pairs = new Lazy<IReadOnlyList<PreferencePair>>(() => EmbeddedTask.PreferencePairs(f.PreferencePairs, (int)f.RewardModel.Seed));
        foreach (var (name, category, file) in new[] { ("rm-helpfulness", "helpful", f.HelpfulnessPairs), ("rm-harmlessness", "harmless", f.HarmlessnessPairs) })
            Once(p.Dir(name), () => RewardModelRecipe.Run(f.RewardModel, p.Model("sft"), p.Dir(name), rs,
                file is not null ? PreferenceData.Load(file) : PreferenceRecord.FromPairs(pairs.Value.Where(x => x.Category == category))));

        using var helpfulness = RewardModelReward.Load(p.Model("rm-helpfulness"), "helpfulness", RewardScope.Summary, rs.Device, rs.Dtype);
        using var harmlessness = RewardModelReward.Load(p.Model("rm-harmlessness"), "harmlessness", RewardScope.Full, rs.Device, rs.Dtype);
        var (reasoning, eval) = GrpoTasks.Resolve(f.Grpo with { TrainPrompts = f.ReasoningPrompts });
        var registry = reasoning.Registry();
        var rewards = new WeightedRewards([
            .. f.Grpo.Rewards.Select(s => s.Name == "language"
                ? new WeightedReward(registry.Create(s), s.Weight)
                : new WeightedReward(RoutedReward.ReasoningOnly(registry.Create(s)), s.Weight)),
            new WeightedReward(RoutedReward.GeneralOnly(helpfulness, "helpful"), f.HelpfulnessWeight),
            new WeightedReward(RoutedReward.GeneralOnly(harmlessness, "harmless"), f.HarmlessnessWeight),
        ]);
        var general = f.GeneralPromptsData is null ? EmbeddedTask.GeneralTask(f.GeneralPrompts, (int)f.Grpo.Seed)
            : reasoning with { Examples = [.. DatasetLoader.Load(f.GeneralPromptsData, new DatasetLoadOptions(Style: f.Grpo.PromptStyle)).Examples.Take(f.GeneralPrompts)] };
        var conversations = o.MultiTurn.Share > 0 ? MultiTurnData.Rl(reasoning.Examples, o.MultiTurn, f.Grpo.Seed) : [.. reasoning.Examples];
        var mixed = reasoning with { Name = "final_rl_mix", Examples = Interleave(conversations, general.Examples) };
        Once(p.Dir("final-rl"), () => GrpoRecipe.Run(Rl(o, PipelineStage.FinalRl, f.Grpo), p.Model("sft"), p.Dir("final-rl"), rs, rewards, (mixed, eval)));
        if (rs.Collective.Rank == 0) PipelineCurves.Write(p.Dir("final-rl"), reasoning);
    }

    /// <summary>The loaded held-out judges (disposed with this).</summary>
    sealed class LoadedJudges(RewardModelReward helpfulness, RewardModelReward harmlessness) : IDisposable
    {
        public PipelineEvaluation.Judges Judges { get; } = new(helpfulness, harmlessness);
        public void Dispose()
        {
            helpfulness.Dispose();
            harmlessness.Dispose();
        }
    }

    /// <summary>
    /// The eval stage's held-out judges (embedded task only): a helpfulness and a harmlessness reward model trained from
    /// the base model on preference pairs of the held-out side of the general data — pairs and prompts that neither the
    /// final RL's reward models nor any SFT or RL data contain. Null when the eval has no general prompts.
    /// </summary>
    static LoadedJudges? TrainJudges(PipelineOptions o, RunPaths p, RunSettings rs, Action<string> say)
    {
        if (o.Eval.Task != EmbeddedTask.Name || o.Eval.GeneralPrompts == 0) return null;
        var pairs = EmbeddedTask.HeldOutPreferencePairs(o.Eval.JudgePairs, (int)o.Eval.Judge.Seed);
        foreach (var (name, category) in new[] { ("judge-helpfulness", "helpful"), ("judge-harmlessness", "harmless") })
        {
            string dir = Path.Combine(p.Root, "eval", name);
            Once(dir, () => RewardModelRecipe.Run(o.Eval.Judge, p.Model("base"), dir, rs, PreferenceRecord.FromPairs(pairs.Where(x => x.Category == category))));
        }
        say($"eval: held-out judges trained on {pairs.Count} held-out preference pairs");
        return new LoadedJudges(
            RewardModelReward.Load(Path.Combine(p.Root, "eval", "judge-helpfulness", "model"), "judge_helpfulness", RewardScope.Summary, rs.Device, rs.Dtype),
            RewardModelReward.Load(Path.Combine(p.Root, "eval", "judge-harmlessness", "model"), "judge_harmlessness", RewardScope.Full, rs.Device, rs.Dtype));
    }

    /// <summary>The stage's per-step accuracy by chain length (embedded task only; rank 0 writes it).</summary>
    static void Curves(string dir, GrpoOptions options, RunSettings rs)
    {
        if (rs.Collective.Rank == 0 && options.Task == EmbeddedTask.Name) PipelineCurves.Write(dir, GrpoTasks.Resolve(options).Train);
    }

    /// <summary>An RL stage's options, with its rollouts on the pipeline's fleet when <c>fleet.stages</c> names the stage.</summary>
    static GrpoOptions Rl(PipelineOptions o, PipelineStage stage, GrpoOptions options) => o.Fleet.Uses(stage) ? o.Fleet.Apply(options) : options;

    /// <summary>The general examples spread evenly through the reasoning ones, so every batch holds both kinds.</summary>
    static List<TaskExample> Interleave(IReadOnlyList<TaskExample> a, IReadOnlyList<TaskExample> b)
    {
        var mixed = new List<TaskExample>(a.Count + b.Count);
        for (int i = 0, j = 0; i < a.Count || j < b.Count;)
            if (j >= b.Count || (i < a.Count && (long)i * b.Count <= (long)j * a.Count)) mixed.Add(a[i++]);
            else mixed.Add(b[j++]);
        return mixed;
    }

    /// <summary>Runs a recipe into <paramref name="dir"/> unless an earlier run finished there (its summary.json exists).</summary>
    static void Once(string dir, Action recipe)
    {
        if (File.Exists(Path.Combine(dir, "summary.json")) && Directory.Exists(Path.Combine(dir, "model"))) return;
        recipe();
    }

    static void Once<T>(string dir, Func<T> recipe) => Once(dir, () => { recipe(); });

    /// <summary>Where each stage writes in the run folder.</summary>
    sealed class RunPaths(string root, string? baseModel, string? studentModel)
    {
        public string Root { get; } = root;

        /// <summary>The folders each stage writes (a stage may train several models).</summary>
        static string[] Folders(PipelineStage stage) => stage switch
        {
            PipelineStage.FinalRl => ["rm-helpfulness", "rm-harmlessness", "final-rl"],
            PipelineStage.Distill => ["student-base", "distill", "student-rl"],
            _ => [stage.Name()],
        };

        public string Dir(string name) => Path.Combine(Root, name);

        public string Model(string name) => name switch
        {
            "base" when baseModel is not null => baseModel,
            "student-base" when studentModel is not null => studentModel,
            _ => Path.Combine(Root, name, "model"),
        };

        /// <summary>The stage's main model, relative to the run folder (null for stages that train none).</summary>
        public string? ModelOf(PipelineStage stage) => stage switch
        {
            PipelineStage.RejectionSampling or PipelineStage.Eval => null,
            _ => stage.Name() + "/model",
        };

        /// <summary>The rejection-sampled SFT mix (data.jsonl or data.parquet).</summary>
        public string SampledData() =>
            Directory.EnumerateFiles(Dir("rejection-sampling"), "data.*").FirstOrDefault(f => !f.EndsWith(".tmp", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{Dir("rejection-sampling")}: no data file; run the rejection-sampling stage first");

        /// <summary>
        /// The data the SFT stage trained on, which the distilled student learns from too (the paper distils with the same
        /// 800k samples): with multi-turn data on, the SFT stage's own mix (sft/data.jsonl, a share of it asked after earlier
        /// turns), else the rejection-sampled set.
        /// </summary>
        public string SftData(PipelineOptions o) =>
            o.MultiTurn.Share > 0 && File.Exists(Path.Combine(Dir("sft"), "data.jsonl")) ? Path.Combine(Dir("sft"), "data.jsonl") : SampledData();

        /// <summary>Deletes the folders of <paramref name="stage"/>.</summary>
        public void Clear(PipelineStage stage, Action<string> say)
        {
            foreach (var folder in Folders(stage).Select(Dir).Where(Directory.Exists))
            {
                say($"removing {folder} (redone by --from)");
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
