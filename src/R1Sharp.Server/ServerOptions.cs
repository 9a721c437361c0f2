namespace R1Sharp.Server;

/// <summary>Where the server listens and the limits it enforces. Requests over a limit get HTTP 400 (413 for the body size); a full queue 429.</summary>
public sealed record ServerOptions
{
    /// <summary>An IP address, or <c>localhost</c> (= 127.0.0.1). <c>0.0.0.0</c> listens on every interface.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0 picks a free port (see <see cref="OpenAiServer.BaseAddress"/>).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>The name clients pass as <c>model</c>; default: the checkpoint folder's name.</summary>
    public string? ServedModelName { get; init; }

    /// <summary>When set, requests need <c>Authorization: Bearer {key}</c> (401 otherwise).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Rows (prompts × n) decoded in one batch.</summary>
    public int MaxBatchRows { get; init; } = 64;

    /// <summary>Requests waiting for a batch; beyond it new requests get 429 with Retry-After.</summary>
    public int MaxQueuedRequests { get; init; } = 256;

    /// <summary>How long the scheduler waits, once a request arrived, for others to join its batch.</summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Largest n (samples per prompt).</summary>
    public int MaxN { get; init; } = 64;

    /// <summary>Largest max_tokens; null: the model's context length.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Largest prompt in tokens; null: the context length minus one.</summary>
    public int? MaxPromptTokens { get; init; }

    /// <summary>
    /// Largest prompt in characters (a completions prompt, or all the text of a chat's messages), checked before
    /// the prompt is tokenised; null: <see cref="RequestParser.CharactersPerPromptToken"/> per token of the prompt limit.
    /// </summary>
    public int? MaxPromptCharacters { get; init; }

    /// <summary>Most prompts in one completions request (a list prompt).</summary>
    public int MaxPromptsPerRequest { get; init; } = 64;

    /// <summary>Largest request body.</summary>
    public long MaxRequestBytes { get; init; } = 8 << 20;

    /// <summary>
    /// Serve the weight-update routes of SGLang (<c>/pause_generation</c>, <c>/update_weights_from_disk</c>, …) and of vLLM's
    /// RLHF API (<c>/pause</c>, <c>/start_weight_update</c>, …), so that a trainer can keep the served weights equal to its
    /// policy (docs/distributed.md), and vLLM's runtime LoRA routes (<c>/v1/load_lora_adapter</c>, one adapter at a time; docs/lora.md). Off by default, as vLLM keeps them behind <c>VLLM_SERVER_DEV_MODE</c>: they make the
    /// server load any checkpoint folder it can read.
    /// </summary>
    public bool EnableWeightUpdates { get; init; }

    /// <summary>The name of the weights served at start (SGLang's <c>--weight-version</c>, default <c>default</c>).</summary>
    public string WeightVersion { get; init; } = "default";

    /// <summary>Receives one line per notable event (start, errors). Null: quiet.</summary>
    public Action<string>? Log { get; init; }

    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"port must be in 0–65535 (got {Port})");
        if (MaxBatchRows < 1) throw new ArgumentException($"max batch rows must be ≥ 1 (got {MaxBatchRows})");
        if (MaxQueuedRequests < 1) throw new ArgumentException($"max queued requests must be ≥ 1 (got {MaxQueuedRequests})");
        if (MaxN < 1) throw new ArgumentException($"max n must be ≥ 1 (got {MaxN})");
        if (MaxTokens is < 1) throw new ArgumentException($"max tokens must be ≥ 1 (got {MaxTokens})");
        if (MaxPromptTokens is < 1) throw new ArgumentException($"max prompt tokens must be ≥ 1 (got {MaxPromptTokens})");
        if (MaxPromptCharacters is < 1) throw new ArgumentException($"max prompt characters must be ≥ 1 (got {MaxPromptCharacters})");
        if (MaxPromptsPerRequest < 1) throw new ArgumentException($"max prompts per request must be ≥ 1 (got {MaxPromptsPerRequest})");
        if (MaxRequestBytes < 1) throw new ArgumentException($"max request bytes must be ≥ 1 (got {MaxRequestBytes})");
        if (ApiKey is { Length: 0 }) throw new ArgumentException("the API key must not be empty");
        if (BatchWindow < TimeSpan.Zero) throw new ArgumentException("the batch window must not be negative");
        if (string.IsNullOrWhiteSpace(WeightVersion)) throw new ArgumentException("the weight version must not be empty");
    }
}
