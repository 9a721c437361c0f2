using System.Text.Json.Nodes;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Pipeline;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Tests;

namespace R1Sharp.Recipes.Tests;

public class PipelineTests
{
    static TaskExample Example(string language, string answer = "9") =>
        new("p1", "Compute 7 + 8 - 6", "prompt", new Dictionary<string, string> { ["answer"] = answer, ["language"] = language });

    [Fact]
    public void A_correct_worked_r1_zero_sample_is_rewritten_in_the_readable_format()
    {
        string completion = "<think> First, 7 + 8 = 15.\nThen 15 - 6 = 9.\nSo the answer is 9. </think> <answer> 9 </answer>";
        Assert.Equal("<think>\nFirst, 7 + 8 = 15.\nThen 15 - 6 = 9.\n</think>\nThe answer is \\boxed{9}.",
            ColdStartData.Rewrite(completion, Example("en")));
        string french = "<think> D'abord, 7 + 8 = 15.\nEnsuite, 15 - 6 = 9.\nLa réponse est donc 9. </think> <answer> 9 </answer>";
        Assert.Equal("<think>\nD'abord, 7 + 8 = 15.\nEnsuite, 15 - 6 = 9.\n</think>\nLa réponse est \\boxed{9}.",
            ColdStartData.Rewrite(french, Example("fr")));
    }

    [Fact]
    public void Other_tasks_keep_every_line_of_the_reasoning()
    {
        string completion = "<think> She sold 48 / 2 = 24 clips in May.\n\nAltogether she sold 48 + 24 = 72 clips. </think> <answer> 72 clips </answer>";
        Assert.Equal("<think>\nShe sold 48 / 2 = 24 clips in May.\nAltogether she sold 48 + 24 = 72 clips.\n</think>\nThe answer is \\boxed{72 clips}.",
            ColdStartData.Rewrite(completion, new TaskExample("g", "q", "q", new Dictionary<string, string> { ["answer"] = "72" }), equationsOnly: false));
    }

    [Theory]
    [InlineData("<think> </think> <answer> 9 </answer>")]                                            // no working
    [InlineData("<think> easy </think> <answer> 9 </answer>")]                                       // a word, no working
    [InlineData("<think> D'abord, 7 + 8 = 15.\nEnsuite, 15 - 6 = 9. </think> <answer> 9 </answer>")] // French working, English prompt
    [InlineData("<think> First, 7 + 8 = 15.\nThen 15 - 6 = 9. </think>")]                           // no answer tags
    [InlineData("<think> First, 7 + 8 = 15. </think> <answer> nine </answer>")]                      // answer not a number
    public void Samples_without_working_in_the_prompts_language_are_not_kept(string completion) =>
        Assert.Null(ColdStartData.Rewrite(completion, Example("en")));

    [Fact]
    public void Cold_start_data_takes_the_latest_correct_sample_per_prompt_then_worked_examples()
    {
        var task = new TaskDefinition("t", [Example("en") with { Id = "a" }, Example("en") with { Id = "b" }], [], new EvaluationMetric("accuracy"));
        string path = Path.GetTempFileName();
        string Row(int step, string id, double accuracy, string text) => new JsonObject
        {
            ["step"] = step, ["prompt_id"] = id, ["completion"] = text, ["rewards"] = new JsonObject { ["accuracy"] = accuracy },
        }.ToJsonString();
        const string good = "<think> First, 7 + 8 = 15.\nThen 15 - 6 = 9. </think> <answer> 9 </answer>";
        const string later = "<think> 7 + 8 = 15.\n15 - 6 = 9. </think> <answer> 9 </answer>";
        File.WriteAllLines(path, [Row(1, "a", 1, good), Row(2, "a", 1, later), Row(2, "b", 0, good), Row(3, "zz", 1, good)]);
        try
        {
            var data = ColdStartData.Build(path, task, new ColdStartOptions { WorkedExamples = 5 }, 0, EmbeddedTask.DemoDifficulty);
            var fromR1Zero = Assert.Single(data, e => e.Source == "r1-zero"); // b was wrong, zz is not a training prompt
            Assert.Equal("a", fromR1Zero.PromptId);
            Assert.Contains("7 + 8 = 15.\n15 - 6 = 9.", fromR1Zero.Completion);    // the step-2 sample, not step 1's
            Assert.Equal("User: Compute 7 + 8 - 6\nAssistant:", fromR1Zero.Prompt);
            Assert.Equal(5, data.Count(e => e.Source == "generator"));
            Assert.All(data, e => Assert.StartsWith("<think>\n", e.Completion));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_chain_cap_leaves_out_longer_r1_zero_samples_beyond_the_few_kept_and_caps_the_worked_examples()
    {
        TaskExample Chain(string id, string expression) => Example("en") with
        {
            Id = id, Question = "Compute " + expression,
            Reference = new Dictionary<string, string> { ["answer"] = "9", ["language"] = "en", ["expression"] = expression },
        };
        var task = new TaskDefinition("t", [Chain("short", "7 + 8 - 6"), Chain("long1", "(1 + 2) × 3 - 4 + 4"), Chain("long2", "2 + 3 + 4 - 5 + 5")],
            [], new EvaluationMetric("accuracy"));
        string path = Path.GetTempFileName();
        const string good = "<think> First, 7 + 8 = 15.\nThen 15 - 6 = 9. </think> <answer> 9 </answer>";
        string Row(int step, string id) => new JsonObject
        {
            ["step"] = step, ["prompt_id"] = id, ["completion"] = good, ["rewards"] = new JsonObject { ["accuracy"] = 1.0 },
        }.ToJsonString();
        File.WriteAllLines(path, [Row(1, "short"), Row(2, "long1"), Row(3, "long2")]);
        try
        {
            var difficulty = EmbeddedTask.DemoDifficulty with { MinOperations = 2, MaxOperations = 4 };
            IReadOnlyList<ColdStartExample> Build(int? maxOperations, int longer) =>
                ColdStartData.Build(path, task, new ColdStartOptions { WorkedExamples = 200, MaxOperations = maxOperations, LongerChains = longer }, 0, difficulty);

            Assert.Equal(["long2", "long1", "short"], Build(null, 0).Where(e => e.Source == "r1-zero").Select(e => e.PromptId));
            Assert.Equal(["short"], Build(3, 0).Where(e => e.Source == "r1-zero").Select(e => e.PromptId));
            var capped = Build(3, 1);
            Assert.Equal(["long2", "short"], capped.Where(e => e.Source == "r1-zero").Select(e => e.PromptId)); // the latest longer one
            int Steps(ColdStartExample e) => e.Completion.Split('\n').Count(l => l.Contains('=', StringComparison.Ordinal));
            var worked = capped.Where(e => e.Source == "generator").ToList();
            Assert.Equal(200, worked.Count);
            Assert.All(worked, e => Assert.InRange(Steps(e), 2, 3));
            Assert.Contains(Build(null, 0).Where(e => e.Source == "generator"), e => Steps(e) == 4); // uncapped, the RL's mix reaches 4
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void An_uncapped_cold_start_hashes_as_before_the_cap_existed_and_a_capped_one_differs()
    {
        var uncapped = new PipelineOptions();
        string yaml = PipelineRecipe.WithoutNullAdditions(ConfigBinder.ToYaml(uncapped.ColdStart));
        Assert.DoesNotContain("max_operations", yaml);
        Assert.DoesNotContain("longer_chains", yaml);
        var capped = uncapped with { ColdStart = uncapped.ColdStart with { MaxOperations = 3 } };
        Assert.NotEqual(PipelineRecipe.ConfigHash(PipelineStage.ColdStart, uncapped), PipelineRecipe.ConfigHash(PipelineStage.ColdStart, capped));
        var longer = capped with { ColdStart = capped.ColdStart with { LongerChains = 30 } };
        Assert.NotEqual(PipelineRecipe.ConfigHash(PipelineStage.ColdStart, capped), PipelineRecipe.ConfigHash(PipelineStage.ColdStart, longer));
    }

    [Fact]
    public void Evaluation_prompts_follow_the_row_template_for_the_embedded_task_and_for_benchmarks()
    {
        var embedded = PipelineEvaluation.Task(new PipelineEvalOptions { Prompts = 10 }, PromptStyle.Plain);
        Assert.Equal(10, embedded.Examples.Count);
        Assert.All(embedded.Examples, e => Assert.Equal("User: " + e.Question + "\nAssistant:", e.Prompt));
        Assert.Contains(embedded.Rewards, r => r.Name == "cold_start_format");
        Assert.Equal(["en", "fr"], embedded.Examples.Select(e => e.Field("language")).Distinct().Order());

        var gsm8k = PipelineEvaluation.Task(new PipelineEvalOptions { Task = "gsm8k", Prompts = 5 }, PromptStyle.R1Zero);
        Assert.Equal(5, gsm8k.Examples.Count);
        Assert.All(gsm8k.Examples, e =>
        {
            Assert.StartsWith("A conversation between User and Assistant.", e.Prompt);
            Assert.Contains("Please reason step by step, and put your final answer within \\boxed{}.", e.Prompt); // R1's math instruction
            Assert.False(string.IsNullOrEmpty(e.Field("answer")));
        });
        Assert.Equal(["accuracy", "r1_zero_format"], gsm8k.Rewards.Select(r => r.Name));
    }

    [Fact]
    public void Summary_remembers_finished_stages_across_runs()
    {
        string dir = Directory.CreateTempSubdirectory("r1sharp-pipeline-").FullName;
        try
        {
            var summary = PipelineSummary.Open(dir, quick: true);
            Assert.All(PipelineStages.All, s => Assert.Equal("pending", summary.Status(s)));
            Assert.False(File.Exists(Path.Combine(dir, "summary.json")));   // opening writes nothing
            summary.Begin(null);
            summary.Start(PipelineStage.Base);
            summary.Finish(PipelineStage.Base, 12.34, "base/model", "hash-of-base");
            summary.Start(PipelineStage.R1Zero); // interrupted here
            summary.SetRow(new TableRow { Row = "base", Title = "Base", PassAt1 = 0.25, K = 8, LanguageConsistency = null });

            var again = PipelineSummary.Open(dir, quick: true);
            Assert.Equal("done", again.Status(PipelineStage.Base));
            Assert.Equal("hash-of-base", again.ConfigHash(PipelineStage.Base));
            Assert.Equal("running", again.Status(PipelineStage.R1Zero));
            Assert.Equal(0.25, Assert.Single(again.Table).PassAt1);
            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
            Assert.Equal(12.3, json["total_seconds"]!.GetValue<double>());
            Assert.Equal(0.25, json["table"]![0]!["pass@1"]!.GetValue<double>());
            Assert.Throws<ArgumentException>(() => PipelineSummary.Open(dir, quick: false)); // not mixed with a full run
            again.Reset(PipelineStage.Base);
            Assert.Equal("pending", PipelineSummary.Open(dir, quick: true).Status(PipelineStage.Base));

            File.WriteAllText(Path.Combine(dir, "summary.json"), "{\"stages\": [");   // cut short
            var corrupt = Assert.Throws<InvalidDataException>(() => PipelineSummary.Open(dir, quick: true));
            Assert.Contains(Path.Combine(dir, "summary.json"), corrupt.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void The_shipped_config_binds_and_bad_configs_report_every_error_with_its_path()
    {
        var shipped = ConfigBinder.Load(new PipelineOptions(), Path.Combine(RepoPaths.Root, "configs", "pipeline-embedded.yaml"));
        Assert.Equal(1200, shipped.Base.Steps);
        Assert.Equal(PromptStyle.Plain, shipped.ReasoningRl.PromptStyle);
        Assert.Equal("300k", shipped.Distill.StudentBase.Preset);
        var gpu = ConfigBinder.Load(new PipelineOptions(), Path.Combine(RepoPaths.Root, "configs", "pipeline-qwen2.5-gsm8k.yaml"));
        Assert.Equal("/models/Qwen2.5-1.5B", gpu.BaseModel);
        Assert.Equal("gsm8k", gpu.Eval.Task);
        Assert.Equal("bfloat16", gpu.Dtype);

        var e = Assert.Throws<ConfigException>(() => ConfigBinder.LoadYaml(new PipelineOptions(),
            "r1_zero:\n  loss_type: dapo2\nreasoning_rl:\n  prompt_style: r1_zero\ndistill:\n  student_rl:\n    generations: 0\neval:\n  samples: -1\nsft:\n  warmup_ratio: 2\n", "p.yaml"));
        Assert.Contains(e.Errors, x => x.Path == "r1_zero.loss_type" && x.Line == 2);
        Assert.Contains(e.Errors, x => x.Path == "distill.student_rl.generations");
        Assert.Contains(e.Errors, x => x.Path == "eval.samples");
        Assert.Contains(e.Errors, x => x.Path == "reasoning_rl.prompt_style");
        Assert.Contains(e.Errors, x => x.Path == "sft.warmup_ratio" && x.Line == 11);
    }
}
