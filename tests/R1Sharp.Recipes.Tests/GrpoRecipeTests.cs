using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;
using R1Sharp.Training.Losses.Grpo;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;

namespace R1Sharp.Recipes.Tests;

/// <summary>The GRPO recipe end to end on a 2-layer model for a few steps.</summary>
public class GrpoRecipeTests
{
    static GrpoOptions Small => new()
    {
        TrainPrompts = 64, PromptsPerStep = 2, Generations = 4, Sampling = new() { MaxNewTokens = 12 }, Steps = 3,
        EvalPrompts = 4, EvalSamples = 2, EvalSampling = new() { MaxNewTokens = 12, Temperature = 0.6, TopP = 0.95 }, MicroBatchSize = 4,
        CheckpointEvery = 1, Optimizer = new() { LearningRate = 1e-3, Schedule = ScheduleKind.Constant }, Seed = 5,
    };

    [Fact]
    public void WritesModelMetricsCompletionsAndBeforeAfterSummary()
    {
        using var tmp = new TempDir();
        // A random model earns no accuracy; a reward for digits varies between its samples, so there is a gradient.
        var rewards = new WeightedRewards([new WeightedReward(new DigitShare()), new WeightedReward(new FormatReward(FormatPattern.R1ZeroLoose))]);
        var result = GrpoRecipe.Run(Small with { Beta = 0.01, Iterations = 2, LossType = LossType.Grpo }, TinyModels.Path, tmp.Path,
            RunSettings.Quiet(), customRewards: rewards);
        Assert.Equal(3, result.Steps);
        var summary = JsonNode.Parse(File.ReadAllText(tmp.Sub("summary.json")))!;
        Assert.Equal(("grpo", 3, "model"), ((string)summary["recipe"]!, (int)summary["steps"]!, (string)summary["model"]!));
        foreach (var part in new[] { "before", "after" })
        {
            foreach (var key in new[] { "pass@1", "mean_length", "format_rate" })
                Assert.NotNull(summary[part]![key]);
            // the evaluation is r1sharp eval's, in its own resumable folder
            Assert.True(File.Exists(tmp.Sub($"eval/{part}/results.jsonl")), part);
        }
        var metrics = File.ReadAllLines(tmp.Sub("metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([1, 2, 3], metrics.Select(m => m["step"]!.GetValue<int>()));
        foreach (var key in new[] { "reward", "reward_std", "rewards/digits", "rewards/r1_zero_format", "frac_reward_zero_std", "kl",
                                    "entropy", "clip_ratio/low", "clip_ratio/high", "clip_ratio/region", "completion_length",
                                    "completion_length_min", "completion_length_max", "clipped_ratio", "time/generation",
                                    "time/rewards", "time/logprobs", "time/update", "tokens_per_second", "grad_norm" })
            Assert.True(metrics[0][key] is not null, key);
        Assert.All(metrics, m => Assert.True(double.IsFinite(m["loss"]!.GetValue<double>())));
        Assert.True(metrics.Skip(1).All(m => m["kl"]!.GetValue<double>() > 0), "with β > 0 and learning, the policy leaves the reference: " + string.Join("\n", File.ReadAllLines(tmp.Sub("metrics.jsonl"))));
        var completions = File.ReadAllLines(tmp.Sub("completions.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(3 * 2 * 4, completions.Count);
        Assert.All(completions, c => Assert.NotNull(c["advantage"]));
        using var model = Checkpoint.Load(result.ModelDirectory);
        Assert.True(File.Exists(Path.Combine(result.ModelDirectory, "tokenizer.json")));
    }

    [Fact]
    public void InterruptedAndResumedRunEndsWithTheSameWeights()
    {
        using var tmp = new TempDir();
        var o = Small with { Steps = 4, EvalPrompts = 2, EvalSamples = 1 };
        GrpoRecipe.Run(o, TinyModels.Path, tmp.Sub("straight"), RunSettings.Quiet());

        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => GrpoRecipe.Run(o, TinyModels.Path, tmp.Sub("interrupted"),
            RunSettings.Quiet(line => { if (line.StartsWith("step 2/")) cts.Cancel(); }, cancel: cts.Token)));
        GrpoRecipe.Run(o, TinyModels.Path, tmp.Sub("interrupted"), RunSettings.Quiet(resume: true));

        using var a = Checkpoint.Load(tmp.Sub("straight/model"));
        using var b = Checkpoint.Load(tmp.Sub("interrupted/model"));
        var sb = b.state_dict();
        foreach (var (name, t) in a.state_dict()) Assert.True(t.bytes.SequenceEqual(sb[name].bytes), name);
    }

    /// <summary>Share of the completion's characters that are digits.</summary>
    internal sealed class DigitShare : IReward
    {
        public string Name => "digits";
        public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
            => batch.Select(i => (double?)(i.Completion.Length == 0 ? 0 : i.Completion.Count(char.IsDigit) / (double)i.Completion.Length)).ToList();
    }
}
