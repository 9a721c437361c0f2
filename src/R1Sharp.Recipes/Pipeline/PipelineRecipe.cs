// r1sharp pipeline run configs/pipeline-embedded.yaml --output runs/r1 [--from STAGE] [--until STAGE] [--quick]
//
// DeepSeek-R1's multi-stage recipe (Guo et al. 2025, §2; DESIGN.md §2), one stage after the other, each from the
// model the paper starts it from:
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
// done, so a rerun skips finished stages and resumes an interrupted one from its last checkpoint.
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Distill;
using R1Sharp.Recipes.Eval;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Recipes.Sampling;
using R1Sharp.Recipes.Sft;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;
using R1Sharp.Rewards.Tasks;
using R1Sharp.Rewards.Tasks.Arithmetic;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>Which part of the pipeline to run, and how.</summary>
/// <param name="From">Run from this stage on, redoing it and every later stage (earlier ones must be done).</param>
/// <param name="Until">Stop after this stage.</param>
/// <param name="ConfigPath">The config file, recorded in summary.json.</param>
public sealed record PipelineRun(string? From = null, string? Until = null, bool Quick = false, string? ConfigPath = null);

public static class PipelineRecipe
{
    /// <summary>The stages, in order.</summary>
    public static IReadOnlyList<string> Stages { get; } =
        ["base", "r1-zero", "cold-start", "reasoning-rl", "rejection-sampling", "sft", "final-rl", "distill", "eval"];

    /// <summary>Runs the stages of <paramref name="run"/> under <paramref name="output"/>; returns the final table.</summary>
    public static IReadOnlyList<TableRow> Run(PipelineOptions o, string output, PipelineRun run, RunSettings? settings = null)
    {
        settings ??= new RunSettings();
        var say = settings.Log ?? Console.WriteLine;
        int from = run.From is null ? 0 : StageIndex(run.From), until = run.Until is null ? Stages.Count - 1 : StageIndex(run.Until);
        if (from > until) throw new ArgumentException($"--from {run.From} comes after --until {run.Until}");
        Directory.CreateDirectory(output);
        var summary = PipelineSummary.Load(output, run.ConfigPath, run.Quick);
        for (int i = 0; i < from; i++)
            if (summary.Status(Stages[i]) != "done")
                throw new ArgumentException($"--from {run.From}: the earlier stage '{Stages[i]}' is not done in {output}");

        var stageSettings = settings with { Resume = true }; // an interrupted stage continues from its last checkpoint
        var paths = new RunPaths(output, o.BaseModel, o.Distill.StudentModel);
        for (int i = 0; i <= until; i++)
        {
            string stage = Stages[i];
            if (i == from && run.From is not null) // --from redoes the stage and what follows
            {
                paths.Clear(stage, say);
                foreach (var later in Stages.Skip(i)) summary.Reset(later);
            }
            if (summary.Status(stage) == "done")
            {
                say($"[{i + 1}/{Stages.Count}] {stage}: done earlier, skipped");
                continue;
            }
            say($"[{i + 1}/{Stages.Count}] {stage}");
            summary.Start(stage);
            var clock = Stopwatch.StartNew();
            RunStage(stage, o, paths, stageSettings, summary, say);
            summary.Finish(stage, clock.Elapsed.TotalSeconds, paths.ModelOf(stage));
            say($"[{i + 1}/{Stages.Count}] {stage}: done in {clock.Elapsed.TotalSeconds:F0} s");
        }
        return summary.Table;
    }

    static void RunStage(string stage, PipelineOptions o, RunPaths p, RunSettings rs, PipelineSummary summary, Action<string> say)
    {
        switch (stage)
        {
            case "base":
                if (o.BaseModel is not null) say($"base model: {o.BaseModel} (given; nothing to train)");
                else Once(p.Dir("base"), () => PretrainRecipe.Run(o.Base, p.Dir("base"), rs));
                break;

            case "r1-zero":
                Once(p.Dir("r1-zero"), () => GrpoRecipe.Run(o.R1Zero, p.Model("base"), p.Dir("r1-zero"), rs));
                break;

            case "cold-start":
            {
                var r1ZeroPrompts = GrpoTasks.Resolve(o.R1Zero.Task, o.R1Zero.TrainPrompts, o.R1Zero.EvalPrompts, o.R1Zero.Seed, o.R1Zero.Difficulty).Train;
                var data = ColdStartData.Build(Path.Combine(p.Dir("r1-zero"), "completions.jsonl"), r1ZeroPrompts, o.ColdStart, o.ColdStart.Sft.Seed,
                    o.R1Zero.Task == EmbeddedTask.Name ? o.R1Zero.Difficulty : null);
                WriteJsonl(Path.Combine(p.Dir("cold-start"), "data.jsonl"), data.Select(e => new JsonObject
                {
                    ["prompt"] = e.Prompt, ["completion"] = e.Completion, ["source"] = e.Source, ["prompt_id"] = e.PromptId, ["language"] = e.Language,
                }));
                say($"cold-start data: {data.Count(e => e.Source == "r1-zero")} rewritten R1-Zero samples + {data.Count(e => e.Source == "generator")} worked examples");
                Once(p.Dir("cold-start"), () => SftRecipe.Run(o.ColdStart.Sft, p.Model("base"), p.Dir("cold-start"), rs,
                    [.. data.Select(e => SftRecord.FromPair(e.Prompt, e.Completion, e.PromptId))]));
                break;
            }

            case "reasoning-rl":
                Once(p.Dir("reasoning-rl"), () => GrpoRecipe.Run(o.ReasoningRl, p.Model("cold-start"), p.Dir("reasoning-rl"), rs));
                break;

            case "rejection-sampling":
                Once(p.Dir("rejection-sampling"), () => RejectionSampling.Run(o.RejectionSampling, p.Model("reasoning-rl"), p.Dir("rejection-sampling"), rs));
                break;

            case "sft":
                Once(p.Dir("sft"), () => SftRecipe.Run(o.Sft with { Data = p.SampledData() }, p.Model("base"), p.Dir("sft"), rs));
                break;

            case "final-rl":
                FinalRl(o, p, rs);
                break;

            case "distill":
            {
                var studentBase = o.Distill.StudentBase with { Tokenizer = o.Distill.StudentBase.Tokenizer ?? p.Model("base") };
                if (o.Distill.StudentModel is null) Once(p.Dir("student-base"), () => PretrainRecipe.Run(studentBase, p.Dir("student-base"), rs));
                var student = o.Distill.Student.KlWeight > 0 && o.Distill.Student.Teacher is null
                    ? o.Distill.Student with { Teacher = p.Model("final-rl") } : o.Distill.Student;
                Once(p.Dir("distill"), () => DistillRecipe.Run(student, p.Model("student-base"), p.SampledData(), p.Dir("distill"), rs));
                Once(p.Dir("student-rl"), () => GrpoRecipe.Run(o.Distill.StudentRl, p.Model("student-base"), p.Dir("student-rl"), rs));
                break;
            }

            case "eval":
                foreach (var row in PipelineEvaluation.Rows)
                {
                    var result = PipelineEvaluation.Evaluate(row, p.Model(row.Stage), Path.Combine(p.Root, "eval", row.Row), o.Eval, o.Device, o.R1Zero.Difficulty);
                    summary.SetRow(result with { Model = Path.GetRelativePath(p.Root, p.Model(row.Stage)) });
                    say($"eval {row.Title}: pass@1 {result.PassAt1:P1}, cons@{result.K} {result.ConsAtK:P1}, format {result.FormatRate:P0}, " +
                        $"language {PipelineTable.Language(result.LanguageConsistency)}, length {result.MeanLength:F1}");
                }
                break;

            default:
                throw new ArgumentException($"unknown stage '{stage}'");
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

        using var helpfulness = RewardModelReward.Load(p.Model("rm-helpfulness"), "helpfulness", RewardScope.Summary, o.Device);
        using var harmlessness = RewardModelReward.Load(p.Model("rm-harmlessness"), "harmlessness", RewardScope.Full, o.Device);
        var registry = RewardRegistry.CreateStandard();
        var rewards = new WeightedRewards([
            .. f.Grpo.Rewards.Select(s => s.Name == "language"
                ? new WeightedReward(registry.Create(s.Name, s.Options), s.Weight)
                : new WeightedReward(RoutedReward.ReasoningOnly(registry.Create(s.Name, s.Options)), s.Weight)),
            new WeightedReward(RoutedReward.GeneralOnly(helpfulness), f.HelpfulnessWeight),
            new WeightedReward(RoutedReward.GeneralOnly(harmlessness), f.HarmlessnessWeight),
        ]);
        var (reasoning, eval) = GrpoTasks.Resolve(f.Grpo.Task, f.ReasoningPrompts, f.Grpo.EvalPrompts, f.Grpo.Seed, f.Grpo.Difficulty, f.Grpo.PromptStyle);
        var general = f.GeneralPromptsData is null ? EmbeddedTask.GeneralTask(f.GeneralPrompts, (int)f.Grpo.Seed)
            : reasoning with { Examples = [.. DatasetLoader.LoadAsync(f.GeneralPromptsData, new DatasetLoadOptions(Style: f.Grpo.PromptStyle)).GetAwaiter().GetResult()
                .Examples.Take(f.GeneralPrompts)] };
        var mixed = reasoning with { Name = "final_rl_mix", Examples = Interleave(reasoning.Examples, general.Examples) };
        Once(p.Dir("final-rl"), () => GrpoRecipe.Run(f.Grpo, p.Model("sft"), p.Dir("final-rl"), rs, rewards, (mixed, eval)));
    }

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

    static void WriteJsonl(string path, IEnumerable<JsonObject> rows)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path + ".tmp", rows.Select(r => r.ToJsonString()));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    static int StageIndex(string stage) =>
        Stages.ToList().IndexOf(stage) is var i and >= 0 ? i
        : throw new ArgumentException($"unknown stage '{stage}' (one of {string.Join(", ", Stages)})");

    /// <summary>Where each stage writes in the run folder.</summary>
    sealed class RunPaths(string root, string? baseModel, string? studentModel)
    {
        public string Root { get; } = root;

        /// <summary>The folders each stage writes (a stage may train several models).</summary>
        static readonly Dictionary<string, string[]> Folders = new()
        {
            ["base"] = ["base"], ["r1-zero"] = ["r1-zero"], ["cold-start"] = ["cold-start"], ["reasoning-rl"] = ["reasoning-rl"],
            ["rejection-sampling"] = ["rejection-sampling"], ["sft"] = ["sft"],
            ["final-rl"] = ["rm-helpfulness", "rm-harmlessness", "final-rl"], ["distill"] = ["student-base", "distill", "student-rl"],
            ["eval"] = ["eval"],
        };

        public string Dir(string name) => Path.Combine(Root, name);

        public string Model(string name) => name switch
        {
            "base" when baseModel is not null => baseModel,
            "student-base" when studentModel is not null => studentModel,
            _ => Path.Combine(Root, name, "model"),
        };

        /// <summary>The stage's main model, relative to the run folder (null for stages that train none).</summary>
        public string? ModelOf(string stage) => stage switch
        {
            "rejection-sampling" or "eval" => null,
            "distill" => "distill/model",
            _ => stage + "/model",
        };

        /// <summary>The rejection-sampled SFT mix (data.jsonl or data.parquet).</summary>
        public string SampledData() =>
            Directory.EnumerateFiles(Dir("rejection-sampling"), "data.*").FirstOrDefault(f => !f.EndsWith(".tmp", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{Dir("rejection-sampling")}: no data file; run the rejection-sampling stage first");

        /// <summary>Deletes the folders of <paramref name="stage"/> and every later stage.</summary>
        public void Clear(string stage, Action<string> say)
        {
            foreach (var later in Stages.SkipWhile(s => s != stage))
                foreach (var folder in Folders[later].Select(Dir).Where(Directory.Exists))
                {
                    say($"--from {stage}: removing {folder}");
                    Directory.Delete(folder, recursive: true);
                }
        }
    }
}
