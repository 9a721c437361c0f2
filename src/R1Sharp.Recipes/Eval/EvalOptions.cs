using System.ComponentModel.DataAnnotations;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Config;
using R1Sharp.Text.Templates;

namespace R1Sharp.Recipes.Eval;

/// <summary>
/// Settings of an evaluation run. Defaults are DeepSeek-R1's protocol (paper §3, "Evaluation Setup"): sampling at
/// temperature 0.6 and top-p 0.95 (greedy decoding makes long reasoning loop), up to 32,768 new tokens, and
/// pass@1 as the mean correctness of k samples per problem. Correctness is the task's grader (TaskDefinition.Grader).
/// </summary>
public sealed record EvalOptions : IValidatableConfig
{
    /// <summary>k: samples per problem. R1 used 4–64 depending on the benchmark (AIME: 64).</summary>
    [Range(1, 4096)]
    public int Samples { get; init; } = 1;

    /// <summary>How each sample is drawn; the seed, when set, is sent with every request (so a local run is reproducible).</summary>
    public GenerationOptions Sampling { get; init; } = new() { Temperature = 0.6, TopP = 0.95, MaxNewTokens = 32768 };

    /// <summary>Evaluate only the first N problems.</summary>
    [Range(1, int.MaxValue)]
    public int? Limit { get; init; }

    /// <summary>
    /// How a problem's prompt reaches the model: null sends it as plain text, as it is; a text template
    /// (<see cref="PromptTemplate.Plain"/>, <see cref="PromptTemplate.R1Zero"/>, a custom one) wraps it; the chat kind
    /// (<see cref="PromptTemplate.Chat"/>) sends it as the user message of a conversation, rendered with the model's
    /// chat template (locally) or by the server (<c>/v1/chat/completions</c>).
    /// </summary>
    public PromptTemplate? Template { get; init; }

    /// <summary>Chat only: a system message before the question.</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>Names the model in the run's config, so that resuming with another model is refused.</summary>
    public string? ModelName { get; init; }

    /// <summary>Keep each sample's text in results.jsonl (large for long reasoning; off keeps answers and scores only).</summary>
    public bool KeepText { get; init; } = true;

    public IEnumerable<(string Field, string Problem)> Validate()
    {
        if (SystemPrompt is not null && Template?.Kind != PromptTemplateKind.Chat)
            yield return ("system_prompt", "a system prompt needs the chat template");
    }
}
