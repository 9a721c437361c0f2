using System.ComponentModel.DataAnnotations;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Distill;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Recipes.RewardModel;
using R1Sharp.Recipes.Sampling;
using R1Sharp.Recipes.Sft;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>
/// The whole DeepSeek-R1 recipe in one config (configs/pipeline-embedded.yaml): one section per stage, each the
/// options record of the recipe that runs it. The defaults are the CPU demo on the embedded arithmetic task.
/// </summary>
public sealed record PipelineOptions : IValidatableConfig
{
    /// <summary>An existing Hugging Face checkpoint to start from (e.g. Qwen2.5-0.5B); the base stage then trains nothing.</summary>
    public string? BaseModel { get; init; }

    /// <summary>Stage 0: the base model, pretrained from scratch (the role of DeepSeek-V3-Base); ignored with <see cref="BaseModel"/>.</summary>
    public PretrainOptions Base { get; init; } = new();

    /// <summary>cpu, cuda or cuda:N for every stage (<c>--device</c> overrides it).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>float32, bfloat16 or float16 for every stage; bfloat16 and float16 train with float32 master weights (<c>--dtype</c> overrides it).</summary>
    [AllowedValues("float32", "bfloat16", "float16")]
    public string Dtype { get; init; } = "float32";

    /// <summary>Stage 1: R1-Zero — GRPO from the base with accuracy + format, R1-Zero template, no SFT.</summary>
    public GrpoOptions R1Zero { get; init; } = Common.RecipePresets.R1ZeroEmbedded with { Steps = 60, CheckpointEvery = 20 };

    /// <summary>Stage 2: cold-start data (rewritten R1-Zero samples + worked examples) and SFT of the base on it.</summary>
    public ColdStartOptions ColdStart { get; init; } = new();

    /// <summary>Stage 3: reasoning RL from the cold-start model: accuracy + readable format + language consistency.</summary>
    public GrpoOptions ReasoningRl { get; init; } = Common.RecipePresets.R1ZeroEmbedded with
    {
        PromptStyle = PromptStyle.Plain, Rewards = [new("accuracy"), new("cold_start_format"), new("language")],
        Steps = 40, Optimizer = Common.RecipePresets.R1ZeroEmbedded.Optimizer with { LearningRate = 1e-4 }, CheckpointEvery = 20, Seed = 1,
    };

    /// <summary>Stage 4a: rejection sampling from the reasoning-RL model, mixed with general data.</summary>
    public RejectionSamplingOptions RejectionSampling { get; init; } = new()
    {
        Prompts = 768, Samples = 4, Sampling = new() { Temperature = 0.7, TopP = 0.95, MaxNewTokens = 96 }, GeneralExamples = 400, Seed = 2,
    };

    /// <summary>Stage 4b: SFT of the base model on the rejection-sampled mix (R1: two epochs on 800k samples).</summary>
    public SftOptions Sft { get; init; } = new()
    {
        Optimizer = new() { LearningRate = 1e-3, WarmupRatio = 0.05 }, Epochs = 6, BatchSize = 16, MaxLength = 256, EvalEvery = 0, LogEvery = 10,
        CheckpointEvery = 100,
    };

    /// <summary>Multi-turn data in the SFT (stage 4) and the final RL (stage 5): a share of their examples asked after earlier turns.</summary>
    public MultiTurnOptions MultiTurn { get; init; } = new();

    /// <summary>Stage 5: reward models on preference pairs, then the final RL over reasoning and general prompts.</summary>
    public FinalRlOptions FinalRl { get; init; } = new();

    /// <summary>Stage 6: distillation into a smaller student, and the same student trained by R1-Zero RL alone.</summary>
    public DistillStageOptions Distill { get; init; } = new();

    /// <summary>The evaluation of every stage's model on the same held-out prompts (DeepSeek-R1's protocol).</summary>
    public PipelineEvalOptions Eval { get; init; } = new();

    /// <summary>
    /// Added to the seed of every training stage (base, r1_zero, cold_start.sft, reasoning_rl, rejection_sampling, sft,
    /// final_rl.reward_model and .grpo, distill.student_base, .student.sft and .student_rl): the same recipe with other
    /// random draws (corpus, initial weights, data order, prompts, samples). The evaluation (eval.*) stays the same, so
    /// two seeds' tables compare on the same held-out prompts. <c>--set seed=1</c>.
    /// </summary>
    public long Seed { get; init; }

    /// <summary>The options with <see cref="Seed"/> added to every training stage's own seed, and itself 0 (what the run records).</summary>
    public PipelineOptions Reseeded()
    {
        long k = Seed;
        if (k == 0) return this;
        return this with
        {
            Seed = 0,
            Base = Base with { Seed = Base.Seed + k },
            R1Zero = R1Zero with { Seed = R1Zero.Seed + k },
            ColdStart = ColdStart with { Sft = ColdStart.Sft with { Seed = ColdStart.Sft.Seed + k } },
            ReasoningRl = ReasoningRl with { Seed = ReasoningRl.Seed + k },
            RejectionSampling = RejectionSampling with { Seed = RejectionSampling.Seed + k },
            Sft = Sft with { Seed = Sft.Seed + k },
            FinalRl = FinalRl with
            {
                RewardModel = FinalRl.RewardModel with { Seed = FinalRl.RewardModel.Seed + k }, Grpo = FinalRl.Grpo with { Seed = FinalRl.Grpo.Seed + k },
            },
            Distill = Distill with
            {
                StudentBase = Distill.StudentBase with { Seed = Distill.StudentBase.Seed + k },
                Student = Distill.Student with { Sft = Distill.Student.Sft with { Seed = Distill.Student.Sft.Seed + k } },
                StudentRl = Distill.StudentRl with { Seed = Distill.StudentRl.Seed + k },
            },
        };
    }

    /// <summary>Inference servers that the RL stages, rejection sampling and evaluation named in <c>fleet.stages</c> generate on
    /// (docs/distributed.md); none by default: every stage generates in this process.</summary>
    public PipelineFleetOptions Fleet { get; init; } = new();

    public IEnumerable<(string Field, string Problem)> Validate()
    {
        if (R1Zero.PromptStyle != PromptStyle.R1Zero)
            yield return ("r1_zero.prompt_style", "R1-Zero prompts with the R1-Zero template (r1_zero)");
        if (ReasoningRl.PromptStyle == PromptStyle.R1Zero)
            yield return ("reasoning_rl.prompt_style", "after cold start the model answers in the readable format: use plain");
        bool embedded = FinalRl.Grpo.Task == Tasks.Arithmetic.EmbeddedTask.Name;
        if (!embedded && (FinalRl.HelpfulnessPairs is null || FinalRl.HarmlessnessPairs is null || (FinalRl.GeneralPrompts > 0 && FinalRl.GeneralPromptsData is null)))
            yield return ("final_rl", "a task other than the embedded one needs helpfulness_pairs, harmlessness_pairs and general_prompts_data files");
        if (Distill.StudentRl.PromptStyle != PromptStyle.R1Zero)
            yield return ("distill.student_rl.prompt_style", "the RL-only student is trained as R1-Zero: use r1_zero");
        // Every section's own ranges and rules are checked with the rest (the binder validates nested records).
    }

    /// <summary>
    /// The same pipeline scaled down to a smoke test of a few minutes: every stage runs, on little data and few
    /// steps, so the numbers mean nothing.
    /// </summary>
    public PipelineOptions Quick() => this with
    {
        Base = Base with { CorpusDocuments = 2000, Steps = 60, CheckpointEvery = 30, LogEvery = 20 },
        R1Zero = QuickRl(R1Zero),
        ColdStart = ColdStart with { WorkedExamples = 64, Sft = ColdStart.Sft with { MaxSteps = 10, LogEvery = 5 } },
        ReasoningRl = QuickRl(ReasoningRl),
        RejectionSampling = RejectionSampling with { Prompts = 32, Samples = 2, GeneralExamples = 16, Sampling = RejectionSampling.Sampling with { MaxNewTokens = 48 } },
        Sft = Sft with { MaxSteps = 10, LogEvery = 5 },
        FinalRl = FinalRl with
        {
            PreferencePairs = 64, ReasoningPrompts = 32, GeneralPrompts = 16,
            RewardModel = FinalRl.RewardModel with { MaxSteps = 6, LogEvery = 3 }, Grpo = QuickRl(FinalRl.Grpo),
        },
        Distill = Distill with
        {
            StudentBase = Distill.StudentBase with { CorpusDocuments = 1000, Steps = 30, CheckpointEvery = 15, LogEvery = 10 },
            Student = Distill.Student with { Sft = Distill.Student.Sft with { MaxSteps = 10, LogEvery = 5 } },
            StudentRl = QuickRl(Distill.StudentRl),
        },
        Eval = Eval with
        {
            Prompts = 16, Samples = 2, Sampling = Eval.Sampling with { MaxNewTokens = 48 }, HardPrompts = 8, GeneralPrompts = 8, GeneralSamples = 1,
            JudgePairs = 48, Judge = Eval.Judge with { MaxSteps = 4, LogEvery = 2 }, TurnConversations = 4, TurnSamples = 1,
        },
    };

    static GrpoOptions QuickRl(GrpoOptions o) => o with
    {
        Steps = 3, PromptsPerStep = 4, Generations = 4, Sampling = o.Sampling with { MaxNewTokens = 48 }, EvalPrompts = 8, EvalSamples = 2,
        EvalSampling = o.EvalSampling with { MaxNewTokens = 48 }, CheckpointEvery = 2,
    };

}

/// <summary>Stage 2: which R1-Zero samples become cold-start data, and the SFT that learns from them.</summary>
public sealed record ColdStartOptions
{
    /// <summary>Most examples taken from R1-Zero's samples (correct, worked, single-language, rewritten readable).</summary>
    [Range(0, int.MaxValue)]
    public int MaxFromR1Zero { get; init; } = 600;
    /// <summary>Worked examples added from the task generator (the "human-written" share of R1's cold-start data).</summary>
    [Range(0, int.MaxValue)]
    public int WorkedExamples { get; init; } = 400;
    /// <summary>Embedded task: the longest chain (operations) of the cold-start data — R1-Zero's samples of longer chains are
    /// left out and the worked examples capped likewise, so that the reasoning RL, on harder prompts, has steps to find
    /// (R1's reasoning RL trained on harder prompts than its cold-start data). Null: no cap.</summary>
    [Range(1, 4)]
    public int? MaxOperations { get; init; }
    /// <summary>R1-Zero's samples of chains longer than <see cref="MaxOperations"/> kept anyway (the latest first): enough for
    /// the cold-start model to find the longer working sometimes, so that the reasoning RL has a reward to reinforce.</summary>
    [Range(0, int.MaxValue)]
    public int LongerChains { get; init; }
    public SftOptions Sft { get; init; } = new()
    {
        Optimizer = new() { LearningRate = 1e-3, WarmupRatio = 0.05 }, Epochs = 3, BatchSize = 16, MaxLength = 256, EvalEvery = 0, LogEvery = 10,
        CheckpointEvery = 100,
    };
}

/// <summary>Stage 5: the reward models (helpfulness judged on the summary, harmlessness on the whole response) and the final RL.</summary>
public sealed record FinalRlOptions
{
    /// <summary>Pairs drawn from the embedded preference data; with <see cref="RewardModelOptions.Data"/> set, that file is used instead (both models).</summary>
    [Range(1, int.MaxValue)]
    public int PreferencePairs { get; init; } = 1200;
    public RewardModelOptions RewardModel { get; init; } = new()
    {
        Optimizer = new() { LearningRate = 5e-4, WarmupRatio = 0.03 }, Epochs = 2, BatchSize = 16, MaxLength = 256, EvalShare = 0.1, EvalEvery = 0,
        LogEvery = 10, CheckpointEvery = 100,
    };
    /// <summary>Reasoning prompts (rule rewards) and general prompts (reward models) in the RL mix.</summary>
    [Range(1, int.MaxValue)]
    public int ReasoningPrompts { get; init; } = 2048;
    [Range(0, int.MaxValue)]
    public int GeneralPrompts { get; init; } = 512;
    /// <summary>Files of {prompt, chosen, rejected} pairs for the two reward models, and of general {prompt} rows for the RL
    /// mix; null: the embedded task's (then the policy's task must be the embedded one).</summary>
    public string? HelpfulnessPairs { get; init; }
    public string? HarmlessnessPairs { get; init; }
    public string? GeneralPromptsData { get; init; }
    [Range(-1000.0, 1000.0)]
    public double HelpfulnessWeight { get; init; } = 1.0;
    [Range(-1000.0, 1000.0)]
    public double HarmlessnessWeight { get; init; } = 1.0;
    public GrpoOptions Grpo { get; init; } = Common.RecipePresets.R1ZeroEmbedded with
    {
        PromptStyle = PromptStyle.Plain, Rewards = [new("accuracy"), new("cold_start_format"), new("language")],
        Steps = 30, Optimizer = Common.RecipePresets.R1ZeroEmbedded.Optimizer with { LearningRate = 5e-5 }, Beta = 0.04, CheckpointEvery = 10, Seed = 3,
    };
}

/// <summary>Stage 6: the student's own short pretraining, its distillation, and its R1-Zero RL alone (the paper's Table 6).</summary>
public sealed record DistillStageOptions
{
    /// <summary>An existing smaller checkpoint as the student's base (e.g. Qwen2.5-0.5B under a 1.5B teacher); replaces <see cref="StudentBase"/>.</summary>
    public string? StudentModel { get; init; }
    /// <summary>The student's base: a smaller model with the teacher's tokenizer, pretrained briefly on the same corpus.</summary>
    public PretrainOptions StudentBase { get; init; } = new()
    {
        Preset = "300k", Steps = 1000, Seed = 4,
    };
    /// <summary>SFT of the student on the stage-4 data (KL to the teacher optional: <c>kl_weight</c>).</summary>
    public DistillOptions Student { get; init; } = new()
    {
        KlWeight = 0.5, // tokenizers match (the student pretrains with the teacher's): half cross-entropy, half KL to the final model
        Sft = new SftOptions
        {
            Optimizer = new() { LearningRate = 2e-3, WarmupRatio = 0.05 }, Epochs = 15, BatchSize = 16, MaxLength = 256, EvalEvery = 0, LogEvery = 10,
            CheckpointEvery = 100,
        },
    };
    /// <summary>The RL-only student: R1-Zero GRPO from the student's base.</summary>
    public GrpoOptions StudentRl { get; init; } = Common.RecipePresets.R1ZeroEmbedded with { Steps = 60, CheckpointEvery = 20, Seed = 5 };
}

/// <summary>How every stage's model is evaluated: held-out prompts, k samples at temperature 0.6 / top-p 0.95.</summary>
public sealed record PipelineEvalOptions
{
    /// <summary><c>arithmetic</c> (the embedded task's held-out prompts, in English and French), a benchmark
    /// (<c>gsm8k</c>, <c>math500</c>, <c>aime24</c>) or a data file with question and answer.</summary>
    public string Task { get; init; } = "arithmetic";
    [Range(1, int.MaxValue)]
    public int Prompts { get; init; } = 64;
    /// <summary>k, samples per prompt.</summary>
    [Range(1, 4096)]
    public int Samples { get; init; } = 8;
    /// <summary>DeepSeek-R1's protocol: temperature 0.6, top-p 0.95; seeded, so every model sees the same sampling stream.</summary>
    public GenerationOptions Sampling { get; init; } = new() { Temperature = 0.6, TopP = 0.95, MaxNewTokens = 96, Seed = 12345 };
    /// <summary>The standard split's problems (embedded task only): the demo's chains of 2–3 operations, whatever the RL stages train on.</summary>
    public ArithmeticDifficulty Difficulty { get; init; } = EmbeddedTask.DemoDifficulty;
    /// <summary>Held-out prompts of the hard split (embedded task only), k samples each like the standard split; 0: none.</summary>
    [Range(0, int.MaxValue)]
    public int HardPrompts { get; init; } = 64;
    /// <summary>The hard split's problems: by default chains of four operations (the standard split has 2–3).</summary>
    public ArithmeticDifficulty HardDifficulty { get; init; } = EmbeddedTask.HardDifficulty;
    /// <summary>Held-out general prompts each model answers for the helpfulness and harmlessness columns (embedded task only); 0: none.</summary>
    [Range(0, int.MaxValue)]
    public int GeneralPrompts { get; init; } = 64;
    /// <summary>Replies per held-out general prompt (same sampling as the rest of the eval).</summary>
    [Range(1, 4096)]
    public int GeneralSamples { get; init; } = 2;
    /// <summary>Held-out preference pairs the two judges train on (drawn from the held-out side of the general data).</summary>
    [Range(1, int.MaxValue)]
    public int JudgePairs { get; init; } = 800;
    /// <summary>Held-out conversations of four problems for the turn 1–4 accuracy columns (plain-template rows, embedded task); 0: none.</summary>
    [Range(0, int.MaxValue)]
    public int TurnConversations { get; init; } = 32;
    /// <summary>Samples per conversation turn.</summary>
    [Range(1, 4096)]
    public int TurnSamples { get; init; } = 2;
    /// <summary>How the judges train (from the base model).</summary>
    public RewardModelOptions Judge { get; init; } = new()
    {
        Optimizer = new() { LearningRate = 5e-4, WarmupRatio = 0.03 }, Epochs = 2, BatchSize = 16, MaxLength = 256, EvalShare = 0.1, EvalEvery = 0,
        LogEvery = 10, CheckpointEvery = 100, Seed = 7,
    };
}
