using System.ComponentModel.DataAnnotations;
using R1Sharp.Text.Templates;

namespace R1Sharp.Engine.Generation;

/// <summary>
/// What to continue: plain text (encoded by the model's tokenizer, with its BOS when it adds one), token ids
/// (sent as they are), or a chat conversation (rendered with the model's chat template and the generation
/// prompt; sent to <c>/v1/chat/completions</c> by a remote backend, which renders it on the server).
/// Exactly one of <see cref="Text"/>, <see cref="TokenIds"/> and <see cref="Messages"/> is set.
/// </summary>
public sealed record GenerationPrompt
{
    private GenerationPrompt() { }

    /// <summary>Prompt text, for <c>/v1/completions</c>.</summary>
    public string? Text { get; private init; }

    /// <summary>Prompt token ids, for <c>/v1/completions</c> (OpenAI and vLLM accept a list of ids as the prompt).</summary>
    public IReadOnlyList<int>? TokenIds { get; private init; }

    /// <summary>A conversation; the model answers as the assistant.</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; private init; }

    /// <summary>Chat only: extra chat-template variables (vLLM's <c>chat_template_kwargs</c>, e.g. <c>enable_thinking</c>).</summary>
    public IReadOnlyDictionary<string, object?>? TemplateContext { get; private init; }

    public bool IsChat => Messages is not null;

    public static GenerationPrompt FromText(string text) => new() { Text = text ?? throw new ArgumentNullException(nameof(text)) };

    public static GenerationPrompt FromTokens(IReadOnlyList<int> tokenIds)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        if (tokenIds.Count == 0) throw new ArgumentException("a token-id prompt needs at least one token", nameof(tokenIds));
        return new() { TokenIds = tokenIds };
    }

    public static GenerationPrompt FromChat(IReadOnlyList<ChatMessage> messages, IReadOnlyDictionary<string, object?>? templateContext = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) throw new ArgumentException("a chat prompt needs at least one message", nameof(messages));
        return new() { Messages = messages, TemplateContext = templateContext };
    }

    /// <summary>A one-message conversation: the user says <paramref name="content"/>.</summary>
    public static GenerationPrompt User(string content) => FromChat([ChatMessage.User(content)]);

    public override string ToString() =>
        Text ?? (TokenIds is not null ? $"[{TokenIds.Count} token ids]" : $"[chat, {Messages!.Count} messages]");
}

/// <summary>
/// Sampling settings, with the names and meaning of the OpenAI / vLLM parameters: the one sampling record of R1Sharp —
/// a request's settings, the rollout engine's (<see cref="Sampler"/>), and the <c>sampling</c> sections of the GRPO,
/// evaluation, rejection-sampling and pipeline configs. Defaults: temperature 1, top-p 1 (pure sampling), 256 new tokens.
/// </summary>
public sealed record GenerationOptions : IValidatableObject
{
    /// <summary>Most new tokens (OpenAI <c>max_tokens</c>). A local backend also stops at the model's context length.</summary>
    [Range(1, 1 << 24)]
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>0 is greedy.</summary>
    [Range(0.0, double.MaxValue)]
    public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus sampling: the smallest set of tokens whose probability reaches top-p, in (0, 1].</summary>
    [Range(double.Epsilon, 1.0)]
    public double TopP { get; init; } = 1.0;

    /// <summary>0 disables top-k (vLLM extra <c>top_k</c>; vLLM spells "off" as −1, we send it only when &gt; 0).</summary>
    [Range(0, 1 << 24)]
    public int TopK { get; init; }

    /// <summary>vLLM extra <c>min_p</c>.</summary>
    [Range(0.0, 1.0)]
    public double MinP { get; init; }

    /// <summary>Strings that end a sample; the text returned stops before the stop string (OpenAI <c>stop</c>).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Tokens that end a sample besides the model's EOS (vLLM extra <c>stop_token_ids</c>).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Same seed, same request, same batch → same tokens. Null: a fresh seed.</summary>
    public long? Seed { get; init; }

    /// <summary>Return the log-probability of each generated token when the backend can.</summary>
    public bool LogProbs { get; init; }

    /// <summary>Also return this many most probable alternatives per token (0–20).</summary>
    [Range(0, 20)]
    public int TopLogProbs { get; init; }

    /// <summary>Leave special tokens (EOS, end of turn) out of the text, as vLLM does by default.</summary>
    public bool SkipSpecialTokens { get; init; } = true;

    /// <summary>Rules across fields (the attributes above hold the ranges).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext context)
    {
        if (Stop.Any(string.IsNullOrEmpty)) yield return new ValidationResult("stop strings must not be empty", [nameof(Stop)]);
        if (StopTokenIds.Any(id => id < 0)) yield return new ValidationResult("stop token ids must not be negative", [nameof(StopTokenIds)]);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting (the attributes' ranges, finiteness and the rules above).</summary>
    public void Validate()
    {
        foreach (var (name, value) in new (string, double)[] { ("temperature", Temperature), ("top-p", TopP), ("min-p", MinP) })
            if (!double.IsFinite(value)) throw new ArgumentException($"{name} must be a finite number (got {value})");
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true))
            throw new ArgumentException(string.Join("; ", results.Select(r => $"{string.Join(", ", r.MemberNames.Select(Names.Option))}: {r.ErrorMessage}")));
    }

    /// <summary>Option names as users write them.</summary>
    static class Names
    {
        public static string Option(string member) => member switch
        {
            nameof(MaxNewTokens) => "max new tokens",
            nameof(TopP) => "top-p",
            nameof(TopK) => "top-k",
            nameof(MinP) => "min-p",
            nameof(TopLogProbs) => "top log-probs",
            _ => member.ToLowerInvariant(),
        };
    }
}

/// <summary>One prompt, its sampling settings, and how many samples to draw (<paramref name="N"/>, OpenAI <c>n</c>).</summary>
public sealed record GenerationRequest(GenerationPrompt Prompt, GenerationOptions Options, int N = 1)
{
    /// <summary>An optional caller's id, carried into error messages.</summary>
    public string? Id { get; init; }

    /// <summary>
    /// Optional: the local backend draws this request's samples from (seed, this key, sample index) alone, so they do not
    /// depend on the requests batched with it (<see cref="Sampler.Generate"/>'s prompt keys). A batch uses keys when all
    /// its requests have one.
    /// </summary>
    public long? SampleKey { get; init; }
}
