using System.ComponentModel.DataAnnotations;
using R1Sharp.Recipes.Config;
using R1Sharp.Training.Optim;

namespace R1Sharp.Recipes.Sft;

/// <summary>What to do with an example longer than the row length.</summary>
public enum OverlongExamples { Truncate, Drop }

/// <summary>Supervised fine-tuning (SftRecipe). Device and dtype are the run's (<c>--device</c>, <c>--dtype</c>).</summary>
public sealed record SftOptions
{
    // ---- data ----
    /// <summary>A data file or Hub dataset folder (<c>folder</c> or <c>folder:split</c>) of {messages}, {prompt, completion} or {text} rows (JSONL, JSON, Parquet, .gz), or <c>cold-start</c> / <c>general</c>, the embedded task's sets. Ignored when examples are passed in code.</summary>
    public string? Data { get; init; }
    /// <summary>Examples drawn from an embedded set.</summary>
    [Range(1, 10_000_000)]
    public int DataExamples { get; init; } = 2000;
    /// <summary>The column that holds the prompt.</summary>
    public string PromptField { get; init; } = "prompt";
    /// <summary>The column that holds the completion.</summary>
    public string CompletionField { get; init; } = "completion";
    /// <summary>The column that holds a conversation (a list of {role, content}).</summary>
    public string MessagesField { get; init; } = "messages";
    /// <summary>The column that holds text trained on whole (language modelling).</summary>
    public string TextField { get; init; } = "text";
    /// <summary>How prompt/completion strings are put together: <c>plain</c> (prompt as it is + completion + EOS), <c>chat</c> (the chat template over [user, assistant]) or a text preset such as <c>r1-zero</c>. Conversations always use the chat template.</summary>
    public string Template { get; init; } = SftEncoder.Plain;
    /// <summary>A chat template for conversations (a Jinja file, or a tokenizer_config.json); default: the model's own, or ChatML when it has none.</summary>
    public string? ChatTemplatePath { get; init; }
    /// <summary>Row length in tokens (packed) or the longest example kept (padded).</summary>
    [Range(2, 1 << 20)]
    public int MaxLength { get; init; } = 1024;
    /// <summary>Pack several examples into each row (best-fit decreasing); false: one example per row, right-padded.</summary>
    public bool Packing { get; init; } = true;
    /// <summary>What to do with an example longer than max_length: truncate (keep its first max_length tokens) or drop.</summary>
    public OverlongExamples Overlong { get; init; } = OverlongExamples.Truncate;
    /// <summary>Share of the examples held out for the evaluation loss (when no evaluation examples are passed in code).</summary>
    [Range(0.0, 0.999)]
    public double EvalShare { get; init; } = 0.02;

    // ---- optimisation ----
    /// <summary>Rows per forward/backward pass.</summary>
    [Range(1, 1 << 16)]
    public int BatchSize { get; init; } = 8;
    /// <summary>Micro-batches per optimiser step: the step sees BatchSize × GradientAccumulationSteps rows.</summary>
    [Range(1, 1 << 16)]
    public int GradientAccumulationSteps { get; init; } = 1;
    /// <summary>Passes over the data (R1 fine-tunes for two epochs in stage 4); used when MaxSteps is 0.</summary>
    [Range(1e-6, 1e6)]
    public double Epochs { get; init; } = 2;
    /// <summary>Optimiser steps; 0 = as many as <see cref="Epochs"/> take.</summary>
    [Range(0, int.MaxValue)]
    public int MaxSteps { get; init; }
    /// <summary>AdamW and its schedule (TRL's SFT defaults: lr 2e-5, warm-up 3%, cosine to 0).</summary>
    [Flatten]
    public OptimizerOptions Optimizer { get; init; } = new() { LearningRate = 2e-5, WarmupRatio = 0.03 };
    /// <summary>Train LoRA adapters instead of every weight (r, alpha, dropout, target_modules, use_rslora; docs/lora.md); null: full fine-tuning.</summary>
    public R1Sharp.Model.LoraOptions? Lora { get; init; }

    // ---- evaluation, logging, checkpoints ----
    /// <summary>Evaluation loss every N steps (0: only at the end).</summary>
    [Range(0, int.MaxValue)]
    public int EvalEvery { get; init; } = 100;
    /// <summary>Log the metrics every N steps.</summary>
    [Range(1, int.MaxValue)]
    public int LogEvery { get; init; } = 10;
    /// <summary>Save a resumable checkpoint every N steps.</summary>
    [Range(1, int.MaxValue)]
    public int CheckpointEvery { get; init; } = 200;
    /// <summary>Seed of the run: the held-out split, the data order, the embedded sets.</summary>
    public long Seed { get; init; }
}
