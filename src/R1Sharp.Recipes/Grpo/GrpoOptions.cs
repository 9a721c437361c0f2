using System.ComponentModel.DataAnnotations;
using R1Sharp.Engine.Fleet;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Training.Losses.Grpo;
using R1Sharp.Training.Optim;

namespace R1Sharp.Recipes.Grpo;

/// <summary>GRPO (GrpoRecipe). Device and dtype are the run's (<c>--device</c>, <c>--dtype</c>).</summary>
public sealed record GrpoOptions : IValidatableConfig
{
    // ---- task and rewards ----
    /// <summary><c>arithmetic</c> (the embedded task), <c>countdown</c>, or a data file of prompts with reference fields (JSONL, JSON,
    /// Parquet, gzip, a Hub dataset folder or <c>folder:split</c>).</summary>
    public string Task { get; init; } = EmbeddedTask.Name;
    /// <summary>For a data file: the column holding the prompt (null: the first of prompt, question, problem, input).</summary>
    public string? PromptField { get; init; }
    /// <summary>For a data file: the column holding the gold answer the accuracy reward checks (null: <c>answer</c>); a row without it is an error.</summary>
    public string? AnswerField { get; init; }
    /// <summary>Training prompts drawn from the task (the run cycles through them).</summary>
    [Range(1, int.MaxValue)]
    public int TrainPrompts { get; init; } = 4096;
    /// <summary>Problems of the embedded arithmetic task (ignored for other tasks).</summary>
    public ArithmeticDifficulty Difficulty { get; init; } = EmbeddedTask.DemoDifficulty;
    /// <summary>How embedded-task prompts are written: <c>r1_zero</c> (the R1-Zero template) or <c>plain</c> (<c>User: …\nAssistant:</c>,
    /// for models trained on the cold-start format). Also decides which format the evaluation checks.</summary>
    public PromptStyle PromptStyle { get; init; } = PromptStyle.R1Zero;
    /// <summary>Reward functions by name (RewardRegistry), with weights and options: R1-Zero's accuracy + format.</summary>
    public IReadOnlyList<RewardSpec> Rewards { get; init; } = [new("accuracy"), new("r1_zero_format")];

    // ---- rollouts ----
    /// <summary>Prompts per optimiser step; each gets G completions.</summary>
    [Range(1, int.MaxValue)]
    public int PromptsPerStep { get; init; } = 16;
    /// <summary>G, completions per prompt.</summary>
    [Range(1, 4096)]
    public int Generations { get; init; } = 8;
    /// <summary>How rollouts are sampled: R1 samples at temperature 1.0; max_new_tokens is the completion limit L_max.</summary>
    public GenerationOptions Sampling { get; init; } = new() { MaxNewTokens = 128, Temperature = 1.0, TopP = 1.0 };
    /// <summary>Where rollouts are generated: the trainer's own sampler (the default), or a fleet of inference servers kept in sync
    /// with the policy, synchronously or asynchronously, with the off-policy corrections (docs/distributed.md).</summary>
    public RolloutOptions Rollout { get; init; } = new();

    // ---- objective (docs/algorithms.md: every variant, its formula and its paper) ----
    /// <summary>How advantages are estimated from the rewards: grpo (group-relative, scaled as scale_rewards says), rloo,
    /// reinforce_plus_plus, reinforce_plus_plus_baseline or max_rl.</summary>
    public AdvantageType Advantage { get; init; } = AdvantageType.Grpo;
    /// <summary>GRPO's advantage scaling: group (std of the group), batch (std of the batch) or none (Dr. GRPO). Only for advantage: grpo.</summary>
    public AdvantageScaling ScaleRewards { get; init; } = AdvantageScaling.Group;
    /// <summary>The per-token policy objective: ppo_clip (GRPO's clipped surrogate), dual_clip, gspo (sequence-level ratio),
    /// cispo (clipped importance weight × log π) or gmpo (geometric mean of clipped ratios).</summary>
    public PolicyLossType PolicyLoss { get; init; } = PolicyLossType.PpoClip;
    /// <summary>How per-token losses are aggregated: grpo, bnpo, dapo or dr_grpo (docs/architecture.md). TRL's default is dapo (token-level, no length bias).</summary>
    public LossType LossType { get; init; } = LossType.Dapo;
    /// <summary>KL coefficient β. R1 uses 0.001; TRL defaults to 0 (no reference model at all).</summary>
    [Range(0.0, 100.0)]
    public double Beta { get; init; }
    /// <summary>Clip range below 1 for the ratio: ρ ≥ 1 − ε_low (R1's ε = 10 switches it off).</summary>
    [Range(0.0, 1000.0)]
    public double EpsilonLow { get; init; } = 0.2;
    /// <summary>Clip range above 1 for the ratio: ρ ≤ 1 + ε_high (DAPO's clip-higher: 0.28; R1: 10).</summary>
    [Range(0.0, 1000.0)]
    public double EpsilonHigh { get; init; } = 0.2;
    /// <summary>Dual-clip's bound c (policy_loss: dual_clip): for Â &lt; 0 the loss is at most −c·Â. Ye et al. and verl use 3.</summary>
    [Range(1.0, 1e6, MinimumIsExclusive = true)]
    public double DualClipC { get; init; } = 3.0;
    /// <summary>μ, optimiser passes over each batch of samples.</summary>
    [Range(1, 1000)]
    public int Iterations { get; init; } = 1;
    /// <summary>Copy the policy into the reference model every N steps (0: never).</summary>
    [Range(0, int.MaxValue)]
    public int RefResetEvery { get; init; }
    /// <summary>DAPO dynamic sampling: drop groups whose rewards are all equal and sample more prompts to refill.</summary>
    public bool DynamicSampling { get; init; }
    /// <summary>Dynamic sampling: most rounds of sampling per step before training on what is there.</summary>
    [Range(1, 1000)]
    public int MaxSamplingRounds { get; init; } = 3;
    /// <summary>DAPO: completions cut off by the length limit get no gradient.</summary>
    public bool MaskTruncatedCompletions { get; init; }

    // ---- optimisation ----
    /// <summary>AdamW and its schedule: TRL's GRPO default lr 1e-6 (R1 used 3e-6, DeepSeekMath 1e-6; tiny models trained here take ~1e-4), constant.</summary>
    [Flatten]
    public OptimizerOptions Optimizer { get; init; } = new() { LearningRate = 1e-6, Schedule = ScheduleKind.Constant };
    /// <summary>Train LoRA adapters instead of every weight (r, alpha, dropout, target_modules, use_rslora; docs/lora.md); null: full fine-tuning.</summary>
    public R1Sharp.Model.LoraOptions? Lora { get; init; }
    /// <summary>Completions per forward/backward pass (gradients accumulate over the batch).</summary>
    [Range(1, int.MaxValue)]
    public int MicroBatchSize { get; init; } = 32;
    /// <summary>Optimiser steps (each on a fresh batch of rollouts).</summary>
    [Range(1, int.MaxValue)]
    public int Steps { get; init; } = 100;

    // ---- evaluation, logging, checkpoints ----
    /// <summary>Held-out prompts evaluated before and after training (0: no evaluation).</summary>
    [Range(0, int.MaxValue)]
    public int EvalPrompts { get; init; } = 64;
    /// <summary>k, samples per held-out prompt.</summary>
    [Range(1, 4096)]
    public int EvalSamples { get; init; } = 8;
    /// <summary>DeepSeek-R1's evaluation protocol: temperature 0.6, top-p 0.95.</summary>
    public GenerationOptions EvalSampling { get; init; } = new() { MaxNewTokens = 128, Temperature = 0.6, TopP = 0.95 };
    /// <summary>Log the metrics every N steps.</summary>
    [Range(1, int.MaxValue)]
    public int LogEvery { get; init; } = 1;
    /// <summary>Save a resumable checkpoint every N steps.</summary>
    [Range(1, int.MaxValue)]
    public int CheckpointEvery { get; init; } = 25;
    /// <summary>Seed of the run: weights' randomness, the rollouts' and the evaluation's sampling.</summary>
    public long Seed { get; init; }

    public IEnumerable<(string Field, string Problem)> Validate()
    {
        if (Sampling.Seed is not null) yield return ("sampling.seed", "rollouts are seeded from seed and the step; leave sampling.seed unset");
        if (EvalSampling.Seed is not null) yield return ("eval_sampling.seed", "the evaluation is seeded from seed; leave eval_sampling.seed unset");
        if ((PromptField ?? AnswerField) is not null && Task is EmbeddedTask.Name or "countdown")
            yield return (PromptField is not null ? "prompt_field" : "answer_field", $"maps the columns of a data file; task '{Task}' is built in");
        if (PromptField is { } pf && string.IsNullOrWhiteSpace(pf)) yield return ("prompt_field", "must not be empty (leave it unset for the defaults)");
        if (AnswerField is { } af && string.IsNullOrWhiteSpace(af)) yield return ("answer_field", "must not be empty (leave it unset for 'answer')");
        if (EpsilonHigh < EpsilonLow) yield return ("epsilon_high", $"must be at least epsilon_low ({EpsilonLow}): the clip range is [1 − ε_low, 1 + ε_high]");
        if (Advantage != AdvantageType.Grpo && ScaleRewards != AdvantageScaling.Group)
            yield return ("scale_rewards", $"applies to advantage: grpo only; advantage: {ConfigNames.ToSnakeCase(Advantage.ToString())} has its own normalisation (leave scale_rewards at group)");
        if (Rollout.WeightSync == FleetWeightSync.Adapter && Lora is null)
            yield return ("rollout.weight_sync", "adapter sends the policy's LoRA adapter: it needs a lora: section (use merged for full fine-tuning)");
        if (DynamicSampling && Rollout.MaxOffPolicySteps > 0)
            yield return ("dynamic_sampling", "asynchronous rollouts (rollout.max_off_policy_steps > 0) draw each step's prompts ahead of time: turn one of them off");
        foreach (var problem in CustomRewards.Problems(Rewards)) yield return problem;
    }
}

/// <summary>
/// The <c>rollout</c> section of a GRPO config: which engine generates the rollouts and how its weights follow the policy
/// (docs/distributed.md). Without endpoints the trainer's own sampler generates them, as it always did.
/// </summary>
public sealed record RolloutOptions : IValidatableConfig
{
    /// <summary>Inference servers (<c>http://gpu1:30000</c>) that generate the rollouts; empty: the trainer's own sampler.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [];
    /// <summary>What the servers run: <c>r1sharp</c> (<c>r1sharp serve --enable-weight-updates</c>), <c>sglang</c> or <c>vllm</c>.</summary>
    public FleetEngine Engine { get; init; } = FleetEngine.R1sharp;
    /// <summary>What each update sends: <c>merged</c> (a whole checkpoint; with <c>lora:</c>, the merged weights W + s·B·A; every
    /// engine) or <c>adapter</c> (vLLM only, with <c>lora:</c>: the adapter's PEFT files through <c>/v1/load_lora_adapter</c>;
    /// docs/lora.md).</summary>
    public FleetWeightSync WeightSync { get; init; } = FleetWeightSync.Merged;
    /// <summary>The model name the servers serve (vLLM and r1sharp need it in requests); null: asked of each server.</summary>
    public string? ServedModel { get; init; }
    /// <summary>Where the policy is published for the servers (<c>step-N</c> folders); every server must read it at the same path.
    /// Null: <c>rollout-weights</c> in the run folder.</summary>
    public string? WeightsDir { get; init; }
    /// <summary>Publish the policy and update the servers every N optimiser steps.</summary>
    [Range(1, 1_000_000)]
    public int SyncEvery { get; init; } = 1;
    /// <summary>k: rollouts for the next k steps are generated while the current one trains, and a rollout is used at most
    /// k (+ sync_every − 1) policy versions after the weights that generated it; 0 is synchronous. Needs endpoints.</summary>
    [Range(0, 1000)]
    public int MaxOffPolicySteps { get; init; }
    /// <summary>Published versions kept on disk (older ones are deleted).</summary>
    [Range(1, 1_000_000)]
    public int KeepVersions { get; init; } = 2;
    /// <summary>Generation requests in flight at once, over all servers.</summary>
    [Range(1, 65536)]
    public int MaxConcurrency { get; init; } = 64;
    /// <summary>Longest wait for one generation request.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(30);
    /// <summary>Longest wait for each call of a weight update; a server that exceeds it is taken out of rotation.</summary>
    public TimeSpan UpdateTimeout { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>After each update, every server generates this many greedy tokens of the first training prompt; their
    /// log-probabilities are compared with the trainer's and logged (rollout-sync.jsonl). 0: no probe.</summary>
    [Range(0, 4096)]
    public int ProbeTokens { get; init; } = 8;
    /// <summary>A server whose probe differs from the trainer's by more than this (largest |Δ log-probability|, or other
    /// tokens) is taken out of rotation; 0: only logged (GPU engines differ from the trainer by ~1e-2 in bfloat16).</summary>
    [Range(0.0, 1e9)]
    public double ProbeTolerance { get; init; }

    // ---- off-policy corrections (off by default), applied as per-token weights on the loss ----
    /// <summary>Truncated importance sampling: weight min(π_trainer / π_sampler, C) with C = tis_cap; 0: off.</summary>
    [Range(0.0, 1e9)]
    public double TisCap { get; init; }
    /// <summary>Ratios of tokens (<c>token</c>) or of whole sequences (<c>sequence</c>) for truncated importance sampling.</summary>
    public CorrectionLevel TisLevel { get; init; } = CorrectionLevel.Token;
    /// <summary>Masked importance sampling: sequences whose ratio π_trainer / π_sampler is outside [mis_low, mis_high] get no
    /// gradient; both 0: off.</summary>
    [Range(0.0, 1e9)]
    public double MisLow { get; init; }
    /// <summary>The upper bound of masked importance sampling's sequence ratio (see mis_low).</summary>
    [Range(0.0, 1e9)]
    public double MisHigh { get; init; }
    /// <summary>IcePop: tokens whose ratio is outside [icepop_low, icepop_high] get no gradient, the others weight = ratio
    /// (the Ring-1T paper uses 0.5 and 5); both 0: off.</summary>
    [Range(0.0, 1e9)]
    public double IcepopLow { get; init; }
    /// <summary>IcePop's upper bound on the token ratio (see icepop_low).</summary>
    [Range(0.0, 1e9)]
    public double IcepopHigh { get; init; }

    /// <summary>Rollouts come from servers rather than the trainer's sampler.</summary>
    public bool IsFleet => Endpoints.Count > 0;

    public IEnumerable<(string Field, string Problem)> Validate()
    {
        for (int i = 0; i < Endpoints.Count; i++)
            if (!Uri.TryCreate(Endpoints[i], UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                yield return ($"endpoints[{i}]", $"'{Endpoints[i]}' is not an http(s) URL");
        if (Endpoints.Distinct(StringComparer.OrdinalIgnoreCase).Count() != Endpoints.Count) yield return ("endpoints", "an endpoint is listed twice");
        if (MaxOffPolicySteps > 0 && !IsFleet)
            yield return ("max_off_policy_steps", "asynchronous rollouts need a fleet (rollout.endpoints): the trainer's own sampler shares its model");
        if (WeightSync == FleetWeightSync.Adapter && Engine != FleetEngine.Vllm)
            yield return ("weight_sync", $"adapter sends the LoRA adapter through vLLM's /v1/load_lora_adapter: it needs engine: vllm (got {ConfigNames.ToSnakeCase(Engine.ToString())}; use merged)");
        if (WeightsDir is { } dir && string.IsNullOrWhiteSpace(dir)) yield return ("weights_dir", "must not be empty (leave it unset for the run folder's)");
        if (ServedModel is { } name && string.IsNullOrWhiteSpace(name)) yield return ("served_model", "must not be empty (leave it unset to ask the servers)");
        if (RequestTimeout <= TimeSpan.Zero) yield return ("request_timeout", "must be positive");
        if (UpdateTimeout <= TimeSpan.Zero) yield return ("update_timeout", "must be positive");
        if ((MisLow > 0 || MisHigh > 0) && !(MisLow > 0 && MisHigh >= MisLow))
            yield return ("mis_high", $"masked importance sampling needs 0 < mis_low ≤ mis_high (got [{MisLow}, {MisHigh}])");
        if ((IcepopLow > 0 || IcepopHigh > 0) && !(IcepopLow > 0 && IcepopHigh >= IcepopLow))
            yield return ("icepop_high", $"IcePop needs 0 < icepop_low ≤ icepop_high (got [{IcepopLow}, {IcepopHigh}])");
    }
}
