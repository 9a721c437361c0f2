using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Training.Losses.Grpo;
using R1Sharp.Training.Optim;

namespace R1Sharp.Recipes.Common;

/// <summary>
/// Named starting points for the recipes' options, in one registry (a YAML file or --set then overrides fields).
/// The numbers come from the papers and libraries named in each description.
/// </summary>
public static class RecipePresets
{
    /// <summary>The CPU demo's R1-Zero stage (configs/r1-zero.yaml holds the same values, commented).</summary>
    public static GrpoOptions R1ZeroEmbedded { get; } = new()
    {
        Task = "arithmetic", Rewards = [new("accuracy"), new("r1_zero_format")], Generations = 8, PromptsPerStep = 16,
        Optimizer = new() { LearningRate = 2e-4, Schedule = ScheduleKind.Constant },
        Sampling = new() { MaxNewTokens = 96, Temperature = 1.0, TopP = 1.0 },
        EvalSampling = new() { MaxNewTokens = 96, Temperature = 0.6, TopP = 0.95 },
        Beta = 0, LossType = LossType.Dapo, Steps = 100, EvalPrompts = 64, EvalSamples = 8, CheckpointEvery = 25,
    };

    public static PresetRegistry Registry { get; } = new PresetRegistry()
        .Add("r1-zero-embedded", "R1-Zero on the embedded arithmetic task for a tiny CPU model (configs/r1-zero.yaml): accuracy + " +
                                 "format, no KL, lr 2e-4 (tiny models need far more than R1's 3e-6), G 8, 16 prompts per step, 100 steps",
            R1ZeroEmbedded)
        .Add("deepseek-r1", "DeepSeek-R1 (Nature version): lr 3e-6, β 0.001, G 16, 32 prompts per step, T 1.0, " +
                            "reference reset every 400 steps, ε = 10 (they found 0.2 truncates gradients)",
            new GrpoOptions
            {
                Optimizer = new() { LearningRate = 3e-6, Schedule = ScheduleKind.Constant }, Beta = 0.001, Generations = 16, PromptsPerStep = 32,
                Sampling = new() { MaxNewTokens = 32768, Temperature = 1.0 }, EvalSampling = new() { MaxNewTokens = 32768, Temperature = 0.6, TopP = 0.95 },
                RefResetEvery = 400, EpsilonLow = 10, EpsilonHigh = 10, LossType = LossType.Grpo,
            })
        .Add("deepseekmath", "GRPO as introduced in DeepSeekMath: lr 1e-6, β 0.04, G 64, per-sequence loss",
            new GrpoOptions { Optimizer = new() { LearningRate = 1e-6, Schedule = ScheduleKind.Constant }, Beta = 0.04, Generations = 64, LossType = LossType.Grpo })
        .Add("dapo", "DAPO (Yu et al. 2025): clip-higher ε_high 0.28, dynamic sampling, token-level loss, truncated completions masked, no KL",
            new GrpoOptions
            {
                Optimizer = new() { LearningRate = 1e-6, Schedule = ScheduleKind.Constant }, Beta = 0, EpsilonLow = 0.2, EpsilonHigh = 0.28,
                DynamicSampling = true, LossType = LossType.Dapo, MaskTruncatedCompletions = true, Generations = 16,
            })
        .Add("dr-grpo", "Dr. GRPO (Liu et al. 2025): no std scaling, constant normaliser, no KL",
            new GrpoOptions
            {
                Optimizer = new() { LearningRate = 1e-6, Schedule = ScheduleKind.Constant }, Beta = 0, ScaleRewards = AdvantageScaling.None,
                LossType = LossType.DrGrpo,
            })
        .Add("gspo", "GSPO (Zheng et al. 2025, §5.1): sequence-level ratio clipped at 1 − 3e-4 / 1 + 4e-4, mean over sequences, no KL " +
                     "(the paper splits each rollout batch into 4 optimiser steps; the ratio only moves off 1 when μ > 1)",
            new GrpoOptions
            {
                Optimizer = new() { LearningRate = 1e-6, Schedule = ScheduleKind.Constant }, Beta = 0, PolicyLoss = PolicyLossType.Gspo,
                EpsilonLow = 3e-4, EpsilonHigh = 4e-4, LossType = LossType.Grpo,
            })
        .Add("cispo", "CISPO (MiniMax-M1, 2025) with ScaleRL's settings (as TRL's paper index): clipped importance weight ≤ 5, no lower bound, " +
                      "token-level loss, batch-std advantages, G 16, no KL",
            new GrpoOptions
            {
                Optimizer = new() { LearningRate = 1e-6, Schedule = ScheduleKind.Constant }, Beta = 0, PolicyLoss = PolicyLossType.Cispo,
                EpsilonLow = 1, EpsilonHigh = 4, LossType = LossType.Dapo, ScaleRewards = AdvantageScaling.Batch, Generations = 16,
            })
        .Add("gmpo", "GMPO (Zhao et al. 2025): geometric mean of token ratios clipped to (e^−0.4, e^0.4), mean over sequences, no KL",
            new GrpoOptions
            {
                Optimizer = new() { LearningRate = 1e-6, Schedule = ScheduleKind.Constant }, Beta = 0, PolicyLoss = PolicyLossType.Gmpo,
                EpsilonLow = 0.4, EpsilonHigh = 0.4, LossType = LossType.Grpo,
            })
        .Add("rloo", "RLOO (Ahmadian et al. 2024, appendix C): leave-one-out baseline, k 4 samples per prompt, β 0.03, lr 1e-6",
            new GrpoOptions
            {
                Optimizer = new() { LearningRate = 1e-6, Schedule = ScheduleKind.Constant }, Beta = 0.03, Advantage = AdvantageType.Rloo, Generations = 4,
            });
}
