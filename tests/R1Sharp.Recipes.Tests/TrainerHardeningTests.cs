using System.Security.Cryptography;
using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Tests;

/// <summary>
/// Defects found by testing as a user would, turned into tests: bf16 training with float32 master weights in every trainer,
/// a reward that cannot judge stopping the run, options out of range refused before anything runs, finished run folders
/// never overwritten.
/// </summary>
public class TrainerHardeningTests
{
    /// <summary>The float32 weights of a checkpoint folder (the master in a checkpoint), by name.</summary>
    static Dictionary<string, float[]> Weights(string dir)
    {
        using var model = Checkpoint.Load(dir, ScalarType.Float32);
        return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
    }

    /// <summary>Share of the parameters that moved, the norm of the update, and the update itself, against the start.</summary>
    static (double Changed, double Norm, double[] Delta) Update(Dictionary<string, float[]> start, Dictionary<string, float[]> end)
    {
        var delta = start.Keys.Order().SelectMany(k => start[k].Zip(end[k], (a, b) => (double)b - a)).ToArray();
        return (delta.Count(d => d != 0) / (double)delta.Length, Math.Sqrt(delta.Sum(d => d * d)), delta);
    }

    static double Cosine(double[] a, double[] b) =>
        a.Zip(b, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * b.Sum(y => y * y));

    [Fact]
    public void Bfloat16_sft_tracks_the_float32_run_through_its_float32_master_weights()
    {
        using var tmp = new TempDir();
        var data = SftRecord.FromExamples(EmbeddedTask.ColdStartExamples(8));
        // A fine-tuning learning rate: each AdamW update (~1e-5 per weight) is far below bf16's spacing at these weights.
        var o = new SftOptions { MaxLength = 128, BatchSize = 2, MaxSteps = 4, EvalShare = 0, CheckpointEvery = 100, Optimizer = new() { LearningRate = 1e-5 } };
        SftRecipe.Run(o, TinyModels.Path, tmp.Sub("fp32"), RunSettings.Quiet(), examples: data);
        SftRecipe.Run(o, TinyModels.Path, tmp.Sub("bf16"), RunSettings.Quiet() with { Dtype = ScalarType.BFloat16 }, examples: data);
        var start = Weights(TinyModels.Path);
        var fp32 = Update(start, Weights(tmp.Sub("fp32/checkpoint")));
        var bf16 = Update(start, Weights(tmp.Sub("bf16/checkpoint")));
        Assert.True(fp32.Changed > 0.99, $"float32 changed {fp32.Changed:P2}");
        Assert.True(bf16.Changed > 0.99, $"bf16 master changed {bf16.Changed:P2} of the parameters (pure bf16 AdamW loses most updates)");
        Assert.InRange(bf16.Norm / fp32.Norm, 0.9, 1.1);
        Assert.True(Cosine(fp32.Delta, bf16.Delta) > 0.95, $"update cosine {Cosine(fp32.Delta, bf16.Delta):F3}");
        Assert.Contains("\"bfloat16\"", File.ReadAllText(tmp.Sub("bf16/model/config.json")));
    }

    [Fact]
    public void Bfloat16_grpo_keeps_every_small_update_in_its_master_weights()
    {
        using var tmp = new TempDir();
        var o = new GrpoOptions
        {
            TrainPrompts = 16, PromptsPerStep = 2, Generations = 4, Sampling = new() { MaxNewTokens = 10 }, Steps = 3, EvalPrompts = 0,
            MicroBatchSize = 8, CheckpointEvery = 100, Seed = 2,
            Optimizer = new() { LearningRate = 1e-6, Schedule = ScheduleKind.Constant },   // configs/qwen2.5-0.5b-gsm8k.yaml's rate
        };
        // A reward that varies between a random model's samples (their share of digits), so every step has a gradient.
        var rewards = new Rewards.Rules.WeightedRewards([new(new GrpoRecipeTests.DigitShare())]);
        GrpoRecipe.Run(o, TinyModels.Path, tmp.Sub("fp32"), RunSettings.Quiet(), rewards);
        GrpoRecipe.Run(o, TinyModels.Path, tmp.Sub("bf16"), RunSettings.Quiet() with { Dtype = ScalarType.BFloat16 }, rewards);
        var start = Weights(TinyModels.Path);
        var fp32 = Update(start, Weights(tmp.Sub("fp32/checkpoint")));
        var bf16 = Update(start, Weights(tmp.Sub("bf16/checkpoint")));
        Assert.True(fp32.Changed > 0.9, $"float32 changed {fp32.Changed:P2}");
        // Before master weights, the same bf16 run changed under 1% of the parameters.
        Assert.True(bf16.Changed > 0.9, $"bf16 master changed {bf16.Changed:P2}");
        Assert.InRange(bf16.Norm / fp32.Norm, 0.7, 1.4);
        Assert.True(Cosine(fp32.Delta, bf16.Delta) > 0.5, $"update cosine {Cosine(fp32.Delta, bf16.Delta):F3} (the rollouts differ a little in bf16)");
    }

    [Fact]
    public void Grpo_stops_when_the_accuracy_reward_cannot_find_its_gold_field()
    {
        using var tmp = new TempDir();
        // open-r1's {"problem", "solution"} rows: no "answer" field for the accuracy reward.
        string data = tmp.Sub("openr1.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 20).Select(i =>
            new JsonObject { ["problem"] = $"What is {i} + 1?", ["solution"] = $"It is \\boxed{{{i + 1}}}." }.ToJsonString()));
        var o = new GrpoOptions { Task = data, TrainPrompts = 16, PromptsPerStep = 2, Generations = 2, Sampling = new() { MaxNewTokens = 4 }, Steps = 2, EvalPrompts = 0 };
        var e = Assert.Throws<InvalidDataException>(() => GrpoRecipe.Run(o, TinyModels.Path, tmp.Sub("run"), RunSettings.Quiet()));
        Assert.Contains("reward 'accuracy' could not judge any of the 4 completions", e.Message);
        Assert.Contains("no field 'answer'", e.Message);
        Assert.Contains("(they have: solution)", e.Message);   // the prompt column became the prompt
        Assert.Contains("gold_field", e.Message);
        Assert.False(File.Exists(tmp.Sub("run/model/config.json")));

        // Mapped to the column that holds the answer, the same data trains.
        var mapped = o with { Rewards = [new("accuracy", 1, new Dictionary<string, string> { ["gold_field"] = "solution" }), new("r1_zero_format")] };
        Assert.Equal(2, GrpoRecipe.Run(mapped, TinyModels.Path, tmp.Sub("mapped"), RunSettings.Quiet()).Steps);
    }

    [Theory]
    [InlineData("beta: -1", "grpo.beta", "-1.0 is outside [0.0, 100.0]")]
    [InlineData("epsilon_low: 0.3\nepsilon_high: 0.2", "grpo.epsilon_high", "must be at least epsilon_low")]
    [InlineData("learning_rate: .nan", "grpo.learning_rate", "must be a finite number, got .nan")]
    [InlineData("learning_rate: -1e-5", "grpo.learning_rate", "is outside")]
    [InlineData("sampling: {top_p: 0}", "grpo.sampling.top_p", "is outside")]
    [InlineData("generations: 0", "grpo.generations", "is outside")]
    [InlineData("max_grad_norm: .inf", "grpo.max_grad_norm", "must be a finite number, got .inf")]
    [InlineData("schedule: cosin", "grpo.schedule", "'cosin' is not one of")]
    [InlineData("loss_type: ppo", "grpo.loss_type", "'ppo' is not one of")]
    public void Invalid_grpo_options_are_refused_with_file_line_and_field_before_anything_runs(string yaml, string field, string problem)
    {
        using var tmp = new TempDir();
        string file = tmp.Sub("bad.yaml");
        File.WriteAllText(file, "steps: 2\n" + yaml + "\n");
        var e = Assert.Throws<ConfigException>(() => ConfigBinder.Load(new GrpoOptions(), file, root: "grpo"));
        var error = Assert.Single(e.Errors, x => x.Path == field);
        Assert.Equal(file, error.Source);
        Assert.True(error.Line >= 2, $"line {error.Line}");
        Assert.Contains(problem, error.Problem);
    }

    [Fact]
    public void Options_built_in_code_meet_the_same_rules_before_any_output()
    {
        using var tmp = new TempDir();
        var e = Assert.Throws<ConfigException>(() => GrpoRecipe.Run(new GrpoOptions { Beta = -1, Optimizer = new() { LearningRate = double.NaN } },
            TinyModels.Path, tmp.Sub("run"), RunSettings.Quiet()));
        Assert.Contains(e.Errors, x => x.Path == "grpo.beta");
        Assert.Contains(e.Errors, x => x.Path == "grpo.learning_rate" && x.Problem.Contains("finite"));
        Assert.False(Directory.Exists(tmp.Sub("run")));
    }

    [Fact]
    public void A_finished_run_folder_is_refused_without_resume_and_left_as_it_was()
    {
        using var tmp = new TempDir();
        var data = SftRecord.FromExamples(EmbeddedTask.ColdStartExamples(4));
        var o = new SftOptions { MaxLength = 128, BatchSize = 2, MaxSteps = 2, EvalShare = 0, Seed = 1 };
        SftRecipe.Run(o, TinyModels.Path, tmp.Path, RunSettings.Quiet(), examples: data);
        var before = Directory.GetFiles(tmp.Path, "*", SearchOption.AllDirectories).Order()
            .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

        var e = Assert.Throws<RunFolderException>(() => SftRecipe.Run(o with { MaxSteps = 3 }, TinyModels.Path, tmp.Path, RunSettings.Quiet(), examples: data));
        Assert.Contains("finished run", e.Message);
        Assert.Contains("--resume", e.Message);
        var after = Directory.GetFiles(tmp.Path, "*", SearchOption.AllDirectories).Order()
            .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
        Assert.Equal(before, after);

        // With --resume the finished run is continued (here: one more step to the new total).
        Assert.Equal(3, SftRecipe.Run(o with { MaxSteps = 3 }, TinyModels.Path, tmp.Path, RunSettings.Quiet(resume: true), examples: data).Steps);
    }
}
