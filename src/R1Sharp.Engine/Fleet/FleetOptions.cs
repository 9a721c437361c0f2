namespace R1Sharp.Engine.Fleet;

/// <summary>
/// The inference engine a rollout fleet runs, which decides how weights are pushed to it and how rollouts are asked for
/// (docs/distributed.md has the exact calls and the engine versions they match).
/// </summary>
public enum FleetEngine
{
    /// <summary><c>r1sharp serve --enable-weight-updates</c>: SGLang's update calls, then <c>GET /weight_version</c> to confirm;
    /// rollouts on <c>/v1/completions</c> with token ids and log-probabilities.</summary>
    R1sharp,

    /// <summary>SGLang: <c>/pause_generation</c> → <c>/update_weights_from_disk</c> → <c>/continue_generation</c>; rollouts on its
    /// native <c>/generate</c> (<c>input_ids</c>, <c>return_logprob</c>).</summary>
    Sglang,

    /// <summary>vLLM with <c>VLLM_SERVER_DEV_MODE=1</c> and the disk weight-transfer backend: <c>/pause</c> →
    /// <c>/start_weight_update</c> → <c>/update_weights</c> → <c>/finish_weight_update</c> → <c>/resume</c>; rollouts on
    /// <c>/v1/completions</c> (token-id prompt, <c>return_token_ids</c>, <c>logprobs</c>).</summary>
    Vllm,
}

/// <summary>What a weight update sends to the servers.</summary>
public enum FleetWeightSync
{
    /// <summary>A whole Hugging Face checkpoint folder (for a LoRA policy: the merged weights W + s·B·A), through the engine's
    /// weight-update calls; the servers need no LoRA support.</summary>
    Merged,

    /// <summary>vLLM only: the LoRA adapter alone (PEFT's files), through <c>POST /v1/load_lora_adapter {"lora_name", "lora_path"}</c>
    /// and <c>POST /v1/unload_lora_adapter {"lora_name"}</c> of the previous one (vLLM started with <c>--enable-lora</c> and
    /// <c>VLLM_ALLOW_RUNTIME_LORA_UPDATING=True</c>); rollouts are then asked for with <c>model</c> = the adapter's name, which
    /// is the weight version.</summary>
    Adapter,
}

/// <summary>Where a rollout fleet is and how long its calls may take.</summary>
public sealed record FleetOptions
{
    /// <summary>Server base URLs (<c>http://gpu1:30000</c>; a trailing <c>/v1</c> is accepted and dropped).</summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }

    public FleetEngine Engine { get; init; } = FleetEngine.R1sharp;

    /// <summary>Merged checkpoints (every engine) or LoRA adapters (vLLM) on each update.</summary>
    public FleetWeightSync Sync { get; init; } = FleetWeightSync.Merged;

    /// <summary>The <c>model</c> sent to <c>/v1/completions</c>; null: asked of each server's <c>GET /v1/models</c> once.</summary>
    public string? Model { get; init; }

    /// <summary>Sent as <c>Authorization: Bearer …</c> when set.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Generation requests in flight at once, over all servers.</summary>
    public int MaxConcurrency { get; init; } = 64;

    /// <summary>Tries per generation request before the run fails (a server that cannot be reached is also taken out of rotation).</summary>
    public int MaxAttempts { get; init; } = 8;

    /// <summary>Longest wait for one generation response.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Longest wait for each call of a weight update (pause, load, resume): loading a large checkpoint takes a while.</summary>
    public TimeSpan UpdateTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Longest wait for a connection, and for the health check of a server out of rotation before it is tried again.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Back-off before retrying a request the server could not take (429, 503, an aborted request); doubles per try.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Receives one line per notable event (a server taken out of rotation or back). Null: quiet.</summary>
    public Action<string>? Log { get; init; }

    public void Validate()
    {
        if (Endpoints.Count == 0) throw new ArgumentException("a fleet needs at least one endpoint");
        foreach (var e in Endpoints)
            if (!e.IsAbsoluteUri || (e.Scheme != Uri.UriSchemeHttp && e.Scheme != Uri.UriSchemeHttps))
                throw new ArgumentException($"endpoint '{e}' is not an http(s) URL");
        if (Endpoints.Select(Root).Distinct().Count() != Endpoints.Count) throw new ArgumentException("an endpoint is listed twice");
        if (MaxConcurrency < 1) throw new ArgumentException($"max concurrency must be ≥ 1 (got {MaxConcurrency})");
        if (MaxAttempts < 1) throw new ArgumentException($"max attempts must be ≥ 1 (got {MaxAttempts})");
        if (Sync == FleetWeightSync.Adapter && Engine != FleetEngine.Vllm)
            throw new ArgumentException($"adapter-only weight sync needs vLLM's /v1/load_lora_adapter (engine vllm), not {Engine.ToString().ToLowerInvariant()}");
        if (Model is { Length: 0 }) throw new ArgumentException("the served model name is empty");
        foreach (var (name, t) in new[] { ("request timeout", RequestTimeout), ("update timeout", UpdateTimeout), ("connect timeout", ConnectTimeout) })
            if (t <= TimeSpan.Zero) throw new ArgumentException($"the {name} must be positive (got {t})");
    }

    /// <summary>The server's root, where the weight-update routes are: <c>http://h:8000/v1</c> and <c>http://h:8000</c> both give <c>http://h:8000/</c>.</summary>
    public static Uri Root(Uri endpoint)
    {
        string path = endpoint.AbsolutePath.TrimEnd('/');
        if (path.EndsWith("/v1", StringComparison.Ordinal)) path = path[..^3];
        return new UriBuilder(endpoint) { Path = path + "/", Query = "" }.Uri;
    }
}

/// <summary>
/// No server of the fleet is left in rotation: every one failed a weight update or could not be reached. An I/O error: its
/// message names every server and why it left, and the CLI prints it as it is.
/// </summary>
public sealed class FleetUnavailableException(string message) : IOException(message);

/// <summary>One call to a server failed (no answer in time, a refused connection, an error status); the message names the server and the call.</summary>
public sealed class FleetCallException(string message, int? status = null, Exception? inner = null) : IOException(message, inner)
{
    /// <summary>The HTTP status of the answer, when there was one.</summary>
    public int? Status { get; } = status;
}
