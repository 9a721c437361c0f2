using System.Text.Json.Serialization;

namespace R1Sharp.Recipes.Eval;

/// <summary>One sample of one problem, scored.</summary>
/// <param name="Text">The completion (null when <see cref="EvalOptions.KeepText"/> is off).</param>
/// <param name="Answer">The extracted final answer, or null.</param>
/// <param name="Correct">The task's metric says correct.</param>
/// <param name="Format">In the requested format (see <see cref="EvalSummary.FormatRate"/>).</param>
/// <param name="Tokens">Completion length in tokens.</param>
/// <param name="FinishReason">"stop" or "length".</param>
/// <param name="Language">Language consistency of the chain of thought, when the problem has a language.</param>
/// <param name="Score">The task's metric reward (correct when it reaches the metric's threshold); null when it could not judge.</param>
public sealed record SampleResult(
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("answer")] string? Answer,
    [property: JsonPropertyName("correct")] bool Correct,
    [property: JsonPropertyName("format")] bool Format,
    [property: JsonPropertyName("tokens")] int Tokens,
    [property: JsonPropertyName("finish_reason")] string FinishReason,
    [property: JsonPropertyName("language")] double? Language = null,
    [property: JsonPropertyName("score")] double? Score = null);

/// <summary>One problem: its samples and the per-problem metrics. One line of results.jsonl.</summary>
public sealed record ProblemResult(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("gold")] string? Gold,
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("samples")] IReadOnlyList<SampleResult> Samples,
    [property: JsonPropertyName("correct")] int Correct,
    [property: JsonPropertyName("pass@1")] double PassAt1,
    [property: JsonPropertyName("cons_answer")] string? ConsAnswer,
    [property: JsonPropertyName("cons_correct")] bool ConsCorrect);

/// <summary>
/// The result of a run (summary.json). Rates are over all samples of all problems; pass@k and cons@k are means
/// over problems.
/// </summary>
public sealed record EvalSummary
{
    [JsonPropertyName("task")] public required string Task { get; init; }
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("backend")] public required string Backend { get; init; }
    [JsonPropertyName("problems")] public required int Problems { get; init; }
    /// <summary>k, samples per problem.</summary>
    [JsonPropertyName("k")] public required int K { get; init; }
    /// <summary>Mean over problems of (correct samples / k): DeepSeek-R1's pass@1.</summary>
    [JsonPropertyName("pass@1")] public required double PassAt1 { get; init; }
    /// <summary>Standard error of pass@1 over problems (std of the per-problem means / √problems).</summary>
    [JsonPropertyName("pass@1_stderr")] public required double PassAt1StdErr { get; init; }
    /// <summary>Share of problems whose majority-vote answer is correct.</summary>
    [JsonPropertyName("cons@k")] public required double ConsAtK { get; init; }
    /// <summary>Unbiased pass@k with k = the number of samples: share of problems with a correct sample.</summary>
    [JsonPropertyName("pass@k")] public required double PassAtK { get; init; }
    /// <summary>pass@k for k = 1, 2, 4, … up to the number of samples.</summary>
    [JsonPropertyName("pass@k_curve")] public required IReadOnlyDictionary<string, double> PassAtKCurve { get; init; }
    /// <summary>
    /// Share of samples in the requested format: the task's format reward when it has one (R1-Zero tags,
    /// cold-start layout), a well-formed answer for Countdown, else an answer marked as such (boxed, answer tags,
    /// "final answer", GSM8K's ####) rather than found by the last-number fallback.
    /// </summary>
    [JsonPropertyName("format_rate")] public required double FormatRate { get; init; }
    /// <summary>Share of samples with an extracted answer (any rule, the last-number fallback included).</summary>
    [JsonPropertyName("answer_rate")] public required double AnswerRate { get; init; }
    /// <summary>Mean completion length in tokens.</summary>
    [JsonPropertyName("mean_length")] public required double MeanLength { get; init; }
    [JsonPropertyName("mean_length_correct")] public double? MeanLengthCorrect { get; init; }
    [JsonPropertyName("mean_length_incorrect")] public double? MeanLengthIncorrect { get; init; }
    /// <summary>Share of samples cut by the token limit.</summary>
    [JsonPropertyName("truncated_rate")] public required double TruncatedRate { get; init; }
    /// <summary>Mean language consistency of the chains of thought, when problems carry a language (else null).</summary>
    [JsonPropertyName("language_consistency")] public double? LanguageConsistency { get; init; }
    [JsonPropertyName("samples")] public required int SampleCount { get; init; }
    [JsonPropertyName("correct_samples")] public required int CorrectSamples { get; init; }
    [JsonPropertyName("solved_problems")] public required int SolvedProblems { get; init; }
    /// <summary>Problems taken from an earlier run in the same output folder.</summary>
    [JsonPropertyName("resumed_problems")] public required int ResumedProblems { get; init; }
    [JsonPropertyName("generated_problems")] public required int GeneratedProblems { get; init; }
    /// <summary>Wall time of this run (generation and scoring).</summary>
    [JsonPropertyName("wall_seconds")] public required double WallSeconds { get; init; }
    /// <summary>Tokens generated by this run.</summary>
    [JsonPropertyName("completion_tokens")] public required long CompletionTokens { get; init; }
    /// <summary>Tokens generated by this run per second of wall time.</summary>
    [JsonPropertyName("tokens_per_second")] public required double TokensPerSecond { get; init; }
    [JsonPropertyName("settings")] public required EvalSettings Settings { get; init; }
}

/// <summary>The settings that decide a run's results; a resumed run must match them (config.json).</summary>
public sealed record EvalSettings(
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("samples")] int Samples,
    [property: JsonPropertyName("temperature")] double Temperature,
    [property: JsonPropertyName("top_p")] double TopP,
    [property: JsonPropertyName("top_k")] int TopK,
    [property: JsonPropertyName("min_p")] double MinP,
    [property: JsonPropertyName("max_new_tokens")] int MaxNewTokens,
    [property: JsonPropertyName("template")] string Template,
    [property: JsonPropertyName("system_prompt")] string? SystemPrompt,
    [property: JsonPropertyName("stop")] IReadOnlyList<string> Stop,
    [property: JsonPropertyName("seed")] long? Seed);

/// <summary>How far a run is.</summary>
/// <param name="Done">Problems scored (resumed ones included).</param>
/// <param name="Total">Problems in the run.</param>
/// <param name="PassAt1">pass@1 over the problems done so far.</param>
/// <param name="CompletionTokens">Tokens generated so far by this run.</param>
/// <param name="Elapsed">Wall time so far.</param>
public sealed record EvalProgress(int Done, int Total, double PassAt1, long CompletionTokens, TimeSpan Elapsed)
{
    public double TokensPerSecond => Elapsed.TotalSeconds > 0 ? CompletionTokens / Elapsed.TotalSeconds : 0;
}
