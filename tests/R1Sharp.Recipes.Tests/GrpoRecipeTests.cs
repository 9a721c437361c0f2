using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
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
    public void Native_tensors_stay_flat_across_steps_with_a_reference_model()
    {
        // β > 0 runs the reference model every step; its activations (the whole forward of every micro-batch) once
        // waited for the GC's finalizer, and the final RL of the main job grew to 8.5 GB of resident memory.
        using var tmp = new TempDir();
        var live = new List<long>();
        var rewards = new WeightedRewards([new WeightedReward(new DigitShare())]);
        GrpoRecipe.Run(Small with { Beta = 0.04, Steps = 6, CheckpointEvery = 3 }, TinyModels.Path, tmp.Path,
            RunSettings.Quiet(line => { if (line.StartsWith("step ", StringComparison.Ordinal)) live.Add(TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount); }),
            customRewards: rewards);
        Assert.Equal(6, live.Count);
        Assert.All(live, count => Assert.Equal(live[0], count)); // no step leaves tensors behind
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

    /// <summary>
    /// Each advantage estimator and policy objective in the recipe (μ = 2, so the second pass is off-policy and the ratio
    /// leaves 1): the run trains, logs the diagnostics of every step, and the advantages it trained on are the estimator's
    /// on the rewards and lengths it logged.
    /// </summary>
    [Theory]
    [InlineData(PolicyLossType.Gspo, AdvantageType.Rloo, LossType.Grpo)]
    [InlineData(PolicyLossType.Cispo, AdvantageType.ReinforcePlusPlus, LossType.Dapo)]
    [InlineData(PolicyLossType.Gmpo, AdvantageType.MaxRl, LossType.Grpo)]
    [InlineData(PolicyLossType.DualClip, AdvantageType.ReinforcePlusPlusBaseline, LossType.Bnpo)]
    public void Every_objective_and_estimator_trains_and_logs_its_diagnostics(PolicyLossType policyLoss, AdvantageType advantage, LossType lossType)
    {
        using var tmp = new TempDir();
        var rewards = new WeightedRewards([new WeightedReward(new DigitShare())]);
        var o = Small with
        {
            // 4 prompts a step: with 2 the 8 samples of a step can all score 0 (no digit) and the step has no gradient.
            Steps = 2, Iterations = 2, PolicyLoss = policyLoss, Advantage = advantage, LossType = lossType, EvalPrompts = 2, EvalSamples = 1, PromptsPerStep = 4,
            EpsilonLow = policyLoss == PolicyLossType.Cispo ? 1 : 0.2, EpsilonHigh = policyLoss == PolicyLossType.Cispo ? 4 : 0.2,
        };
        var result = GrpoRecipe.Run(o, TinyModels.Path, tmp.Path, RunSettings.Quiet(), customRewards: rewards);
        Assert.Equal(2, result.Steps);

        var metrics = File.ReadAllLines(tmp.Sub("metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        foreach (var m in metrics)
        {
            foreach (var key in new[] { "loss", "entropy", "clip_ratio/low", "clip_ratio/high", "ratio/mean", "ratio/min", "ratio/max",
                                        "frac_reward_zero_std", "frac_zero_advantage", "completion_length_p10", "completion_length_p50",
                                        "completion_length_p90", "clipped_ratio" })
                Assert.True(m[key] is not null && double.IsFinite(m[key]!.GetValue<double>()), key);
            double p10 = m["completion_length_p10"]!.GetValue<double>(), p50 = m["completion_length_p50"]!.GetValue<double>(),
                p90 = m["completion_length_p90"]!.GetValue<double>();
            Assert.True(m["completion_length_min"]!.GetValue<double>() <= p10 && p10 <= p50 && p50 <= p90 && p90 <= m["completion_length_max"]!.GetValue<double>());
            // π_old is the sampler's log-probabilities and the second pass follows an update: the ratio is not 1 everywhere.
            Assert.True(m["ratio/max"]!.GetValue<double>() > m["ratio/min"]!.GetValue<double>(), m.ToJsonString());
            Assert.Equal(policyLoss == PolicyLossType.DualClip, m["clip_ratio/dual"] is not null);
        }

        var completions = File.ReadAllLines(tmp.Sub("completions.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        var estimator = AdvantageEstimators.For(advantage);
        foreach (var step in completions.GroupBy(c => c["step"]!.GetValue<int>()))
        {
            var rows = step.ToList();
            var expected = estimator.Compute(rows.Select(r => r["reward"]!.GetValue<double>()).ToList(), o.Generations,
                rows.Select(r => r["tokens"]!.GetValue<int>()).ToList());
            Assert.Equal(expected, rows.Select(r => r["advantage"]!.GetValue<float>()));
        }
    }

    [Fact]
    public void Algorithm_fields_are_snake_case_config_keys_and_are_checked()
    {
        var o = ConfigBinder.LoadYaml(new GrpoOptions(), "advantage: reinforce_plus_plus_baseline\npolicy_loss: dual_clip\ndual_clip_c: 4\n", "grpo.yaml");
        Assert.Equal((AdvantageType.ReinforcePlusPlusBaseline, PolicyLossType.DualClip, 4.0), (o.Advantage, o.PolicyLoss, o.DualClipC));
        var defaults = new GrpoOptions(); // today's GRPO: group-normalised advantages, PPO clip
        Assert.Equal((AdvantageType.Grpo, PolicyLossType.PpoClip, AdvantageScaling.Group), (defaults.Advantage, defaults.PolicyLoss, defaults.ScaleRewards));

        string Error(string yaml) => Assert.Single(Assert.Throws<ConfigException>(() => ConfigBinder.LoadYaml(new GrpoOptions(), yaml, "grpo.yaml")).Errors).ToString();
        Assert.Contains("policy_loss: 'gpso' is not one of ppo_clip, dual_clip, gspo, cispo, gmpo", Error("policy_loss: gpso\n"));
        Assert.Contains("advantage: 'reinforce++' is not one of grpo, rloo, reinforce_plus_plus, reinforce_plus_plus_baseline, max_rl", Error("advantage: reinforce++\n"));
        Assert.Contains("dual_clip_c", Error("dual_clip_c: 1\n"));
        var scale = Error("advantage: rloo\nscale_rewards: none\n");
        Assert.Contains("scale_rewards", scale);
        Assert.Contains("advantage: grpo only", scale);
    }

    [Fact]
    public void Every_grpo_preset_is_valid_and_the_algorithm_presets_set_their_papers_values()
    {
        var presets = RecipePresets.Registry.For<GrpoOptions>();
        foreach (var preset in presets) Assert.Empty(ConfigBinder.Validate((GrpoOptions)preset.Value));
        var gspo = RecipePresets.Registry.Get<GrpoOptions>("gspo");
        Assert.Equal((PolicyLossType.Gspo, 3e-4, 4e-4, LossType.Grpo, 0.0), (gspo.PolicyLoss, gspo.EpsilonLow, gspo.EpsilonHigh, gspo.LossType, gspo.Beta));
        var cispo = RecipePresets.Registry.Get<GrpoOptions>("cispo");
        Assert.Equal((PolicyLossType.Cispo, 5.0, LossType.Dapo), (cispo.PolicyLoss, 1 + cispo.EpsilonHigh, cispo.LossType));
        Assert.True(1 - cispo.EpsilonLow <= 0, "CISPO sets no lower bound on the importance weight");
        var gmpo = RecipePresets.Registry.Get<GrpoOptions>("gmpo");
        Assert.Equal((PolicyLossType.Gmpo, 0.4, 0.4, LossType.Grpo), (gmpo.PolicyLoss, gmpo.EpsilonLow, gmpo.EpsilonHigh, gmpo.LossType));
        Assert.Equal(AdvantageType.Rloo, RecipePresets.Registry.Get<GrpoOptions>("rloo").Advantage);
    }

    /// <summary>Share of the completion's characters that are digits.</summary>
    internal sealed class DigitShare : IReward
    {
        public string Name => "digits";
        public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
            => batch.Select(i => (double?)(i.Completion.Length == 0 ? 0 : i.Completion.Count(char.IsDigit) / (double)i.Completion.Length)).ToList();
    }
}
