using R1Sharp.Text.Templates;

namespace R1Sharp.Recipes.Eval;

/// <summary>
/// Settings of an evaluation run. Defaults are DeepSeek-R1's protocol (paper §3, "Evaluation Setup"): sampling at
/// temperature 0.6 and top-p 0.95 (greedy decoding makes long reasoning loop), up to 32,768 new tokens, and
/// pass@1 as the mean correctness of k samples per problem.
/// </summary>
public sealed record EvalOptions
{
    /// <summary>k: samples per problem. R1 used 4–64 depending on the benchmark (AIME: 64).</summary>
    public int Samples { get; init; } = 1;

    public double Temperature { get; init; } = 0.6;
    public double TopP { get; init; } = 0.95;
    public int TopK { get; init; }
    public double MinP { get; init; }

    /// <summary>Most new tokens per sample; a local model also stops at its context length.</summary>
    public int MaxNewTokens { get; init; } = 32768;

    /// <summary>Evaluate only the first N problems.</summary>
    public int? Limit { get; init; }

    /// <summary>Sent with every request (so a local run is reproducible); null: a fresh seed per run.</summary>
    public long? Seed { get; init; }

    /// <summary>
    /// How a problem's prompt reaches the model: null sends it as plain text, as it is; a text template
    /// (<see cref="PromptTemplate.Plain"/>, <see cref="PromptTemplate.R1Zero"/>, a custom one) wraps it; the chat kind
    /// (<see cref="PromptTemplate.Chat"/>) sends it as the user message of a conversation, rendered with the model's
    /// chat template (locally) or by the server (<c>/v1/chat/completions</c>).
    /// </summary>
    public PromptTemplate? Template { get; init; }

    /// <summary>Chat only: a system message before the question.</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>Stop strings (e.g. "User:" for base models on a plain template).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>
    /// (gold, completion) → correct? (null: the gold cannot be judged) for tasks scored by <c>accuracy</c>; null uses
    /// Math-Verify's rules (<c>MathVerifier.Grade</c>). The embedded arithmetic task passes <c>EmbeddedTask.Grade</c>.
    /// </summary>
    public Func<string, string, bool?>? Grader { get; init; }

    /// <summary>Names the model in the run's config, so that resuming with another model is refused.</summary>
    public string? ModelName { get; init; }

    /// <summary>Keep each sample's text in results.jsonl (large for long reasoning; off keeps answers and scores only).</summary>
    public bool KeepText { get; init; } = true;

    public void Validate()
    {
        if (Samples < 1) throw new ArgumentException($"samples must be ≥ 1 (got {Samples})");
        if (Limit is < 1) throw new ArgumentException($"limit must be ≥ 1 (got {Limit})");
        if (MaxNewTokens < 1) throw new ArgumentException($"max new tokens must be ≥ 1 (got {MaxNewTokens})");
        if (Temperature < 0) throw new ArgumentException($"temperature must be ≥ 0 (got {Temperature})");
        if (TopP is <= 0 or > 1) throw new ArgumentException($"top-p must be in (0, 1] (got {TopP})");
        if (SystemPrompt is not null && Template?.Kind != PromptTemplateKind.Chat)
            throw new ArgumentException("a system prompt needs the chat template");
    }
}
