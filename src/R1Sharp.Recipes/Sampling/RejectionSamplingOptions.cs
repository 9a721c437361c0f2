using System.ComponentModel.DataAnnotations;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;
using R1Sharp.Tasks.Arithmetic;

namespace R1Sharp.Recipes.Sampling;

/// <summary>Rejection sampling (RejectionSampling). Device and dtype of a local model are the run's (<c>--device</c>, <c>--dtype</c>).</summary>
public sealed record RejectionSamplingOptions : IValidatableConfig
{
    // ---- prompts ----
    /// <summary><c>arithmetic</c> (the embedded task's training prompts), <c>countdown</c>, or a data file of prompts with
    /// reference fields (<c>prompt</c>/<c>question</c>/<c>problem</c>, <c>answer</c>, optional <c>id</c>, <c>language</c>; as GRPO's task).</summary>
    public string Task { get; init; } = EmbeddedTask.Name;
    /// <summary>For a data file: the column holding the prompt (null: the first of prompt, question, problem, input).</summary>
    public string? PromptField { get; init; }
    /// <summary>For a data file: the column holding the gold answer (null: <c>answer</c>); a row without it is an error.</summary>
    public string? AnswerField { get; init; }
    /// <summary>Prompts to sample from (the first N of the task).</summary>
    [Range(1, int.MaxValue)]
    public int Prompts { get; init; } = 512;
    /// <summary>Problems of the embedded arithmetic task (ignored for other tasks).</summary>
    public ArithmeticDifficulty Difficulty { get; init; } = EmbeddedTask.DemoDifficulty;
    /// <summary>How questions become prompts: <c>plain</c> ("User: …\nAssistant:", the cold-start layout), <c>r1_zero</c>, <c>math_instruction</c> or <c>raw</c>.</summary>
    public PromptStyle PromptStyle { get; init; } = PromptStyle.Plain;

    // ---- sampling ----
    /// <summary>N, responses drawn per prompt.</summary>
    [Range(1, 4096)]
    public int Samples { get; init; } = 4;
    /// <summary>How responses are drawn (R1's final RL stage samples at 0.7; evaluation uses 0.6); stop strings such as
    /// <c>"\nUser:"</c> end a response of a base model on the plain layout. The seed is the run's (<see cref="Seed"/>).</summary>
    public GenerationOptions Sampling { get; init; } = new() { Temperature = 0.7, TopP = 0.95, MaxNewTokens = 128 };

    // ---- scoring and filters ----
    /// <summary>Rewards scored and stored with every sample (the task's reward registry): the reasoning-RL stage's.</summary>
    public IReadOnlyList<RewardSpec> Rewards { get; init; } = EmbeddedTask.ReasoningRewards;
    /// <summary>Keep only verified-correct responses (by <see cref="CorrectnessReward"/> ≥ <see cref="CorrectThreshold"/>).</summary>
    public bool RequireCorrect { get; init; } = true;
    /// <summary>The reward that verifies the answer (added to the scored rewards when missing); <c>countdown</c> for that task.</summary>
    public string CorrectnessReward { get; init; } = "accuracy";
    /// <summary>A response is correct when the correctness reward reaches this.</summary>
    [Range(-1e9, 1e9)]
    public double CorrectThreshold { get; init; } = 1.0;
    /// <summary>Keep only responses in the format (<see cref="FormatReward"/> = 1).</summary>
    public bool RequireFormat { get; init; } = true;
    /// <summary>The format reward: <c>cold_start_format</c> (<c>&lt;think&gt;\n…\n&lt;/think&gt;\n{summary}</c>) or <c>r1_zero_format</c>.</summary>
    public string FormatReward { get; init; } = "cold_start_format";
    /// <summary>Drop chains of thought whose share of target-language words is below this (0: off). R1 keeps single-language chains only.</summary>
    [Range(0.0, 1.0)]
    public double MinLanguageConsistency { get; init; } = 0.99;
    /// <summary>The language of prompts without a <c>language</c> reference field.</summary>
    public string DefaultLanguage { get; init; } = "en";
    /// <summary>Drop responses with a paragraph (text between blank lines) longer than this many characters (0: off).</summary>
    [Range(0, int.MaxValue)]
    public int MaxParagraphChars { get; init; } = 2000;
    /// <summary>Drop responses containing a fenced code block (```).</summary>
    public bool DropCodeBlocks { get; init; } = true;
    /// <summary>Drop responses whose n-gram repetition penalty (open-r1's, in [−1, 0]: −share of repeated n-grams) is below this (0: off).</summary>
    [Range(-1.0, 0.0)]
    public double MinRepetitionPenalty { get; init; } = -0.3;
    /// <summary>n of the n-grams the repetition filter counts.</summary>
    [Range(1, 64)]
    public int RepetitionNgram { get; init; } = 3;
    /// <summary>Drop responses cut off by the token limit.</summary>
    public bool DropTruncated { get; init; } = true;
    /// <summary>Drop responses identical (surrounding whitespace aside) to one already kept for the same prompt.</summary>
    public bool Dedupe { get; init; } = true;
    /// <summary>Keep at most this many responses per prompt (0: all that pass).</summary>
    [Range(0, int.MaxValue)]
    public int MaxPerPrompt { get; init; } = 1;

    // ---- general data ----
    /// <summary>General (non-reasoning) examples to mix in (R1: 200k next to 600k reasoning samples).</summary>
    [Range(0, int.MaxValue)]
    public int GeneralExamples { get; init; }
    /// <summary>A data file of general {prompt, completion[, id, question, language]} rows; null: the embedded task's general examples.</summary>
    public string? GeneralData { get; init; }

    // ---- output, model ----
    /// <summary><c>jsonl</c> or <c>parquet</c>: output/data.jsonl or output/data.parquet.</summary>
    [AllowedValues("jsonl", "parquet")]
    public string Format { get; init; } = "jsonl";
    /// <summary>Recorded as <c>source_stage</c> in every reasoning row.</summary>
    public string SourceStage { get; init; } = "reasoning-rl";
    /// <summary>Log progress every N finished prompts.</summary>
    [Range(1, int.MaxValue)]
    public int LogEvery { get; init; } = 32;
    /// <summary>Seed of the run: the prompts drawn and the sampling.</summary>
    public long Seed { get; init; }
    /// <summary>Local model: rows (prompts × samples) decoded together.</summary>
    [Range(1, 1 << 16)]
    public int MaxBatchRows { get; init; } = 64;
    /// <summary>OpenAI-compatible servers (comma-separated, e.g. <c>http://gpu1:8000/v1,http://gpu2:8000/v1</c>) to sample on instead of the local model.</summary>
    public string? Endpoint { get; init; }
    /// <summary>The model name the servers serve (required with <see cref="Endpoint"/>); the API key is read from OPENAI_API_KEY.</summary>
    public string? ServedModel { get; init; }
    /// <summary>Requests in flight at once over all endpoints.</summary>
    [Range(1, 4096)]
    public int Concurrency { get; init; } = 32;

    /// <summary>The filters these options describe.</summary>
    public RejectionFilter Filter => new(DropTruncated, RequireCorrect ? CorrectnessReward : null, CorrectThreshold,
        RequireFormat ? FormatReward : null, MinLanguageConsistency, MaxParagraphChars, DropCodeBlocks, MinRepetitionPenalty,
        RepetitionNgram, Dedupe, MaxPerPrompt);

    public IEnumerable<(string Field, string Problem)> Validate()
    {
        if (LanguageConsistencyReward.Normalize(DefaultLanguage) is null) yield return ("default_language", $"unknown language '{DefaultLanguage}'");
        if (Endpoint is not null && ServedModel is null) yield return ("served_model", "is required with endpoint");
        if (string.IsNullOrWhiteSpace(SourceStage)) yield return ("source_stage", "must not be empty");
        if (Sampling.Seed is not null) yield return ("sampling.seed", "samples are seeded from seed; leave sampling.seed unset");
        foreach (var problem in CustomRewards.Problems(Rewards)) yield return problem;
    }
}
