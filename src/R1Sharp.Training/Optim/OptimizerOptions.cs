using System.ComponentModel.DataAnnotations;

namespace R1Sharp.Training.Optim;

/// <summary>
/// AdamW and its learning-rate schedule, the same knobs for every trainer. A recipe's options hold one of these with
/// its own defaults, flattened into the recipe's fields (config files say <c>learning_rate: 1e-5</c>, as TRL's do).
/// </summary>
public sealed record OptimizerOptions
{
    /// <summary>Peak learning rate.</summary>
    [Range(1e-12, 10.0)]
    public double LearningRate { get; init; } = 1e-5;
    /// <summary>What the rate does after warm-up: cosine (default), linear or constant.</summary>
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;
    /// <summary>Linear warm-up over this many steps; when 0, over <see cref="WarmupRatio"/> of the steps.</summary>
    [Range(0, int.MaxValue)]
    public int WarmupSteps { get; init; }
    /// <summary>Linear warm-up over this share of the steps (used when <see cref="WarmupSteps"/> is 0).</summary>
    [Range(0.0, 0.999999)]
    public double WarmupRatio { get; init; }
    /// <summary>The decay ends at this share of the peak (0, as transformers' schedules).</summary>
    [Range(0.0, 1.0)]
    public double MinLearningRateRatio { get; init; }
    /// <summary>AdamW weight decay on matrices (none on biases and norms); transformers' default is 0.</summary>
    [Range(0.0, 10.0)]
    public double WeightDecay { get; init; }
    /// <summary>AdamW's β₁, the decay of the gradient's running mean.</summary>
    [Range(0.0, 0.999999)]
    public double AdamBeta1 { get; init; } = 0.9;
    /// <summary>AdamW's β₂, the decay of the squared gradient's running mean.</summary>
    [Range(0.0, 0.999999999)]
    public double AdamBeta2 { get; init; } = 0.999;
    /// <summary>AdamW's ε, added to the root of the second moment.</summary>
    [Range(1e-30, 1.0)]
    public double AdamEpsilon { get; init; } = 1e-8;
    /// <summary>Clip the global gradient L2 norm to this (0: no clipping, the norm is still logged).</summary>
    [Range(0.0, 1e6)]
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>
    /// Mixture-of-experts models with DeepSeek-V3 routing: γ of the auxiliary-loss-free balancing — after every step each
    /// expert's e_score_correction_bias moves by γ against its load (DeepSeek-V3: 0.001); 0 turns it off.
    /// </summary>
    [Range(0.0, 1.0)]
    public double ExpertBiasUpdate { get; init; } = 0.001;
    /// <summary>DeepSeek-V3 routing: the weight α of the sequence-wise balance loss added to each forward's loss (DeepSeek-V3: 0.0001).</summary>
    [Range(0.0, 1.0)]
    public double ExpertSequenceLoss { get; init; } = 0.0001;

    /// <summary>The schedule over <paramref name="totalSteps"/> optimiser steps.</summary>
    public LearningRateSchedule ScheduleFor(int totalSteps) => new(LearningRate,
        WarmupSteps > 0 ? WarmupSteps : (int)Math.Ceiling(WarmupRatio * totalSteps), totalSteps, MinLearningRateRatio, Schedule);
}
