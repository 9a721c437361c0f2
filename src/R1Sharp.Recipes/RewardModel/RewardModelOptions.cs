using System.ComponentModel.DataAnnotations;
using R1Sharp.Recipes.Config;
using R1Sharp.Training.Optim;

namespace R1Sharp.Recipes.RewardModel;

/// <summary>A Bradley-Terry reward model (RewardModelRecipe). Device and dtype are the run's (<c>--device</c>, <c>--dtype</c>).</summary>
public sealed record RewardModelOptions
{
    // ---- data ----
    /// <summary>A data file or Hub dataset folder (<c>folder</c> or <c>folder:split</c>) of {prompt, chosen, rejected[, margin]} rows — strings, or conversations (message lists, the prompt explicit or implicit) — (JSONL, JSON, Parquet, .gz), or <c>arithmetic</c> (the embedded task's pairs). Ignored when pairs are passed in code.</summary>
    public string? Data { get; init; }
    /// <summary>Pairs drawn from the embedded set.</summary>
    [Range(1, 10_000_000)]
    public int DataPairs { get; init; } = 2000;
    /// <summary>The column that holds the prompt.</summary>
    public string PromptField { get; init; } = "prompt";
    /// <summary>The column that holds the preferred response.</summary>
    public string ChosenField { get; init; } = "chosen";
    /// <summary>The column that holds the dispreferred response.</summary>
    public string RejectedField { get; init; } = "rejected";
    /// <summary>The column that holds the optional margin.</summary>
    public string MarginField { get; init; } = "margin";
    /// <summary>A chat template for conversational pairs (a Jinja file, or a tokenizer_config.json); default: the model's own, or ChatML when it has none.</summary>
    public string? ChatTemplatePath { get; init; }
    /// <summary>Longest prompt + response kept, in tokens; longer pairs are dropped.</summary>
    [Range(1, 1 << 20)]
    public int MaxLength { get; init; } = 1024;
    /// <summary>Share of the pairs held out for evaluation (when no evaluation pairs are passed in code).</summary>
    [Range(0.0, 0.999)]
    public double EvalShare { get; init; } = 0.05;

    // ---- objective ----
    /// <summary>Subtract each pair's margin inside the sigmoid when the data has one (TRL does whenever the column exists).</summary>
    public bool UseMargin { get; init; } = true;
    /// <summary>λ of the reward-centering term λ·(r_c + r_r)²; 0 = off (TRL's default), 0.01 recommended by TRL.</summary>
    [Range(0.0, 100.0)]
    public double CenterRewardsCoefficient { get; init; }

    // ---- optimisation ----
    /// <summary>Pairs per forward/backward pass (2 × BatchSize sequences).</summary>
    [Range(1, 1 << 16)]
    public int BatchSize { get; init; } = 8;
    /// <summary>Micro-batches per optimiser step: the step sees batch_size × gradient_accumulation_steps pairs.</summary>
    [Range(1, 1 << 16)]
    public int GradientAccumulationSteps { get; init; } = 1;
    /// <summary>Passes over the pairs; InstructGPT trains its reward model for one epoch (more overfits). Used when MaxSteps is 0.</summary>
    [Range(1e-6, 1e6)]
    public double Epochs { get; init; } = 1;
    /// <summary>Optimiser steps; 0 = as many as <see cref="Epochs"/> take.</summary>
    [Range(0, int.MaxValue)]
    public int MaxSteps { get; init; }
    /// <summary>AdamW and its schedule: lr 1e-5, 3% warm-up, cosine to 0.</summary>
    [Flatten]
    public OptimizerOptions Optimizer { get; init; } = new() { LearningRate = 1e-5, WarmupRatio = 0.03 };

    // ---- evaluation, logging, checkpoints ----
    /// <summary>Evaluation on the held-out pairs every N steps (0: only at the end).</summary>
    [Range(0, int.MaxValue)]
    public int EvalEvery { get; init; } = 100;
    /// <summary>Log the metrics every N steps.</summary>
    [Range(1, int.MaxValue)]
    public int LogEvery { get; init; } = 10;
    /// <summary>Save a resumable checkpoint every N steps.</summary>
    [Range(1, int.MaxValue)]
    public int CheckpointEvery { get; init; } = 200;
    /// <summary>Seed of the run: the new score head, the held-out split, the data order.</summary>
    public long Seed { get; init; }
}
