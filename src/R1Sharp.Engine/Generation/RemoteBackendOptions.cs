using System.Text.Json.Nodes;

namespace R1Sharp.Engine.Generation;

/// <summary>Where and how <see cref="RemoteGenerationBackend"/> sends requests.</summary>
public sealed record RemoteBackendOptions
{
    /// <summary>
    /// Base URLs of OpenAI-compatible servers (<c>http://gpu1:8000/v1</c>; a URL without a path gets <c>/v1</c>).
    /// Requests go round-robin over the endpoints that are up.
    /// </summary>
    public required IReadOnlyList<Uri> Endpoints { get; init; }

    /// <summary>The served model name (vLLM's <c>--served-model-name</c>, or the model path it was started with).</summary>
    public required string Model { get; init; }

    /// <summary>Sent as <c>Authorization: Bearer …</c> when set (vLLM <c>--api-key</c>).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Requests in flight at once, over all endpoints.</summary>
    public int MaxConcurrency { get; init; } = 32;

    /// <summary>Tries per request (the first try included) before the run fails.</summary>
    public int MaxAttempts { get; init; } = 10;

    /// <summary>Back-off before the second try; doubles per try (with jitter) up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for one response (a long reasoning sample can take many minutes).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(30);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Ask for the generated token ids (vLLM's <c>return_token_ids</c>; servers that do not know it ignore it).</summary>
    public bool RequestTokenIds { get; init; } = true;

    /// <summary>
    /// Always ask for the sampled tokens' log-probabilities, even when the request did not: with n &gt; 1 they are
    /// how per-sample token counts are known (usage only gives the total). Off: counts come from token ids, or
    /// are the total divided by n when the server returns neither.
    /// </summary>
    public bool RequestLogProbs { get; init; } = true;

    /// <summary>Fields added to every request body (server-specific extras, e.g. <c>{"repetition_penalty": 1.05}</c>).</summary>
    public JsonObject? ExtraBody { get; init; }

    public void Validate()
    {
        if (Endpoints.Count == 0) throw new ArgumentException("at least one endpoint is needed");
        foreach (var e in Endpoints)
            if (!e.IsAbsoluteUri || (e.Scheme != Uri.UriSchemeHttp && e.Scheme != Uri.UriSchemeHttps))
                throw new ArgumentException($"endpoint '{e}' is not an http(s) URL");
        if (string.IsNullOrWhiteSpace(Model)) throw new ArgumentException("the served model name is empty");
        if (MaxConcurrency < 1) throw new ArgumentException($"max concurrency must be ≥ 1 (got {MaxConcurrency})");
        if (MaxAttempts < 1) throw new ArgumentException($"max attempts must be ≥ 1 (got {MaxAttempts})");
    }

    /// <summary>The base URL with <c>/v1/</c>: <c>http://h:8000</c> and <c>http://h:8000/v1</c> both give <c>http://h:8000/v1/</c>.</summary>
    public static Uri NormalizeEndpoint(Uri endpoint)
    {
        string path = endpoint.AbsolutePath.TrimEnd('/');
        if (!path.EndsWith("/v1", StringComparison.Ordinal)) path += "/v1";
        return new UriBuilder(endpoint) { Path = path + "/" }.Uri;
    }
}
