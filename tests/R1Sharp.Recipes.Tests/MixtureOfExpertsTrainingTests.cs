using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Recipes.Common;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Tests;

/// <summary>SFT and GRPO on a tiny DeepSeek-V3 (latent attention + mixture of experts): they train, balance and log routing.</summary>
public class MixtureOfExpertsTrainingTests
{
    static List<JsonNode> Metrics(string output) => File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();

    [Fact]
    public void Sft_on_the_moe_model_lowers_the_loss_moves_the_routing_biases_and_logs_expert_load()
    {
        using var tmp = new TempDir();
        var o = new SftOptions
        {
            MaxLength = 128, BatchSize = 2, MaxSteps = 10, LogEvery = 1, CheckpointEvery = 100, EvalEvery = 0, Seed = 3,
            Optimizer = new() { LearningRate = 1e-2, WarmupRatio = 0.1, ExpertBiasUpdate = 0.01 },
        };
        var result = SftRecipe.Run(o, TinyModels.MoePath, tmp.Path, RunSettings.Quiet(_ => { }),
            examples: SftRecord.FromExamples(EmbeddedTask.ColdStartExamples(24, 1)));
        var metrics = Metrics(tmp.Path).Where(m => m["learning_rate"] is not null).ToList(); // the training steps' lines
        Assert.Equal(10, metrics.Count);
        Assert.All(metrics, m => Assert.True(m["expert_load_max_over_mean"]!.GetValue<double>() >= 1));
        double first = metrics.Take(3).Average(m => m["loss"]!.GetValue<double>()), last = metrics.TakeLast(3).Average(m => m["loss"]!.GetValue<double>());
        Assert.True(last < first, $"loss {first:F3} → {last:F3}");

        using var scope = NewDisposeScope();
        using var trained = Checkpoint.Load(result.ModelDirectory);
        var bias = trained.named_parameters().Single(p => p.name.EndsWith("e_score_correction_bias")).parameter.data<float>().ToArray();
        // 10 updates of ±0.01 each: every entry is a multiple of 0.01, and the overloaded and underloaded ones moved.
        Assert.Contains(bias, b => Math.Abs(b) > 0.005);
        Assert.All(bias, b => Assert.Equal(0, Math.Abs(b / 0.01 - Math.Round(b / 0.01)), 3));
    }

    [Fact]
    public void Pretraining_the_dsv3_preset_resumes_to_the_same_weights_routing_biases_included()
    {
        // Experts that no token reaches in a step still take AdamW's step (zero gradient, moving moments) in a fresh run;
        // a resumed run must do the same (OptimizerStep gives them zero gradients), or the weights part ways.
        using var tmp = new TempDir();
        var o = new PretrainOptions
        {
            Preset = "dsv3-1m", VocabSize = 300, CorpusDocuments = 200, SequenceLength = 32, BatchSize = 2, Steps = 4,
            Optimizer = new PretrainOptions().Optimizer with { WarmupSteps = 1, ExpertBiasUpdate = 0.01 }, LogEvery = 1, CheckpointEvery = 2, Seed = 3,
        };
        PretrainRecipe.Run(o, tmp.Sub("straight"), RunSettings.Quiet());
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => PretrainRecipe.Run(o, tmp.Sub("interrupted"),
            RunSettings.Quiet(line => { if (line.StartsWith("step 3/")) cts.Cancel(); }, cancel: cts.Token)));
        PretrainRecipe.Run(o, tmp.Sub("interrupted"), RunSettings.Quiet(resume: true));
        using var a = Checkpoint.Load(tmp.Sub("straight/model"));
        using var b = Checkpoint.Load(tmp.Sub("interrupted/model"));
        Assert.Equal(Architecture.DeepseekV3, a.Config.Architecture);
        Assert.NotNull(a.Config.Mla);
        var sb = b.state_dict();
        foreach (var (name, t) in a.state_dict()) Assert.True(t.bytes.SequenceEqual(sb[name].bytes), name);
        var bias = a.named_parameters().Where(p => p.name.EndsWith("e_score_correction_bias")).SelectMany(p => p.parameter.data<float>().ToArray()).ToList();
        Assert.Equal(3 * 8, bias.Count);
        Assert.Contains(bias, v => v != 0);
        Assert.All(Metrics(tmp.Sub("straight")).Where(m => m["learning_rate"] is not null), m => Assert.NotNull(m["expert_load_max_over_mean"]));
    }

    [Fact]
    public void Grpo_runs_on_the_moe_model()
    {
        using var tmp = new TempDir();
        var o = new GrpoOptions
        {
            TrainPrompts = 32, PromptsPerStep = 2, Generations = 4, Sampling = new() { MaxNewTokens = 10 }, Steps = 2,
            EvalPrompts = 2, EvalSamples = 1, EvalSampling = new() { MaxNewTokens = 8 }, MicroBatchSize = 4,
            CheckpointEvery = 100, Optimizer = new() { LearningRate = 1e-3, Schedule = ScheduleKind.Constant }, Seed = 5,
        };
        var rewards = new WeightedRewards([new WeightedReward(new GrpoRecipeTests.DigitShare())]);
        var result = GrpoRecipe.Run(o, TinyModels.MoePath, tmp.Path, RunSettings.Quiet(), customRewards: rewards);
        Assert.Equal(2, result.Steps);
        var metrics = Metrics(tmp.Path);
        Assert.All(metrics, m => Assert.True(double.IsFinite(m["loss"]!.GetValue<double>())));
        Assert.All(metrics, m => Assert.True(m["expert_load_max_over_mean"]!.GetValue<double>() >= 1));
        using var model = Checkpoint.Load(result.ModelDirectory);
        Assert.Equal(Architecture.DeepseekV3, model.Config.Architecture);
    }
}
