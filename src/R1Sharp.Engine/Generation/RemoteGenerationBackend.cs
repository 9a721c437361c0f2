using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;

namespace R1Sharp.Engine.Generation;

/// <summary>
/// Generates on OpenAI-compatible servers (vLLM, SGLang, TGI, llama.cpp, <c>r1sharp serve</c>): text and token-id
/// prompts go to <c>/v1/completions</c>, chat prompts to <c>/v1/chat/completions</c>, one HTTP request per
/// <see cref="GenerationRequest"/> (with its n).
/// </summary>
/// <remarks>
/// <para><b>Concurrency</b>: at most <see cref="RemoteBackendOptions.MaxConcurrency"/> requests in flight, spread
/// round-robin over the endpoints; an endpoint that refused a connection or timed out is skipped for a back-off
/// period while others are up.</para>
/// <para><b>Retries</b>: connection failures, timeouts, responses cut short, HTTP 408/429/5xx and
/// <c>finish_reason: "abort"</c> are retried (on the next endpoint) with exponential back-off and jitter, honouring
/// <c>Retry-After</c>; other 4xx answers are the request's fault and fail at once with the server's message. So
/// a server that dies mid-run loses nothing: its requests are sent again elsewhere, or to it once it is back.</para>
/// <para><b>Results</b> have the local backend's shape; token ids and log-probabilities are filled when the server
/// returns them (vLLM does with <c>return_token_ids</c> and <c>logprobs</c>, which are asked for by default).</para>
/// </remarks>
public sealed class RemoteGenerationBackend : IStreamingGenerationBackend
{
    private readonly RemoteBackendOptions _options;
    private readonly Uri[] _endpoints;
    private readonly long[] _downUntil;          // Environment.TickCount64 until which an endpoint is skipped
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _slots;
    private int _next = -1;
    private long _attempts, _retries;

    public RemoteGenerationBackend(RemoteBackendOptions options, HttpMessageHandler? handler = null)
    {
        options.Validate();
        _options = options;
        _endpoints = [.. options.Endpoints.Select(RemoteBackendOptions.NormalizeEndpoint)];
        _downUntil = new long[_endpoints.Length];
        _slots = new SemaphoreSlim(options.MaxConcurrency);
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            ConnectTimeout = options.ConnectTimeout,
            MaxConnectionsPerServer = options.MaxConcurrency,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
    }

    public string Description => $"'{_options.Model}' at {string.Join(", ", _endpoints.Select(e => e.ToString()))}";

    /// <summary>HTTP requests sent so far (tries included).</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    /// <summary>Tries that failed and were repeated.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    public async IAsyncEnumerable<IndexedResult> GenerateAsync(IReadOnlyList<GenerationRequest> requests,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var r in requests)
        {
            r.Options.Validate();
            if (r.N < 1) throw new ArgumentException($"n must be ≥ 1 (got {r.N})");
        }
        await foreach (var item in ConcurrentRequests.StreamAsync(requests, _slots, SendWithRetries, cancellationToken).ConfigureAwait(false))
            yield return item;
    }

    private async Task<GenerationResult> SendWithRetries(GenerationRequest request, int index, CancellationToken ct)
    {
        bool chat = request.Prompt.IsChat;
        string body = OpenAiWire.RequestBody(request, _options, stream: false).ToJsonString();
        string name = request.Id ?? $"#{index}";
        string lastError = "";
        int? lastStatus = null;
        for (int attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            int endpoint = PickEndpoint();
            TimeSpan? retryAfter = null;
            bool connectionFailed = false;
            Interlocked.Increment(ref _attempts);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_options.RequestTimeout);
                using var message = NewMessage(endpoint, chat, body);
                using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
                string text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    try
                    {
                        return OpenAiWire.ParseResponse(text, request.N, chat);
                    }
                    catch (FormatException e)
                    {
                        lastError = $"{_endpoints[endpoint]}: unusable response: {e.Message}";
                    }
                }
                else
                {
                    lastStatus = (int)response.StatusCode;
                    lastError = $"{_endpoints[endpoint]}: HTTP {lastStatus}: {OpenAiWire.ErrorMessage(text)}";
                    if (!IsRetryable(response.StatusCode))
                        throw new GenerationException($"request {name} was refused: {lastError}") { StatusCode = lastStatus };
                    retryAfter = response.Headers.RetryAfter?.Delta;
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is HttpRequestException or IOException or OperationCanceledException)
            {
                lastError = $"{_endpoints[endpoint]}: {(e is OperationCanceledException ? $"no response within {_options.RequestTimeout}" : e.Message)}";
                MarkDown(endpoint, Backoff(attempt));
                connectionFailed = true;
            }
            if (attempt == _options.MaxAttempts) break;
            Interlocked.Increment(ref _retries);
            // Another endpoint is up after a connection failure: go there now. Otherwise wait (Retry-After, or back-off).
            var delay = retryAfter ?? (connectionFailed && AnyUp() ? TimeSpan.Zero : Backoff(attempt));
            if (delay > TimeSpan.Zero) await Task.Delay(delay, ct).ConfigureAwait(false);
        }
        throw new GenerationException($"request {name} failed after {_options.MaxAttempts} tries; last error: {lastError}") { StatusCode = lastStatus };
    }

    public async IAsyncEnumerable<GenerationDelta> StreamAsync(GenerationRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        request.Options.Validate();
        bool chat = request.Prompt.IsChat;
        string body = OpenAiWire.RequestBody(request, _options, stream: true).ToJsonString();
        HttpResponseMessage? response = null;
        string lastError = "";
        for (int attempt = 1; response is null; attempt++)
        {
            int endpoint = PickEndpoint();
            Interlocked.Increment(ref _attempts);
            try
            {
                using var message = NewMessage(endpoint, chat, body);
                var r = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                if (r.IsSuccessStatusCode) { response = r; break; }
                string text = await r.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                r.Dispose();
                lastError = $"HTTP {(int)r.StatusCode}: {OpenAiWire.ErrorMessage(text)}";
                if (!IsRetryable(r.StatusCode)) throw new GenerationException($"the server refused the request: {lastError}") { StatusCode = (int)r.StatusCode };
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or IOException)
            {
                lastError = e.Message;
                MarkDown(endpoint, Backoff(attempt));
            }
            if (attempt >= _options.MaxAttempts) throw new GenerationException($"streaming request failed after {attempt} tries; last error: {lastError}");
            Interlocked.Increment(ref _retries);
            await Task.Delay(AnyUp() ? TimeSpan.Zero : Backoff(attempt), cancellationToken).ConfigureAwait(false);
        }

        using (response)
        {
            using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var reasoning = new StringBuilder();
            var content = new StringBuilder();
            var ids = new List<int>();
            bool anyIds = false, inReasoning = false;
            string? finish = null, stop = null;
            int? completionTokens = null, promptTokens = null;
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
                string data = line[5..].Trim();
                if (data == "[DONE]") break;
                var chunk = OpenAiWire.ParseChunk(data, chat);
                var piece = new StringBuilder();
                if (chunk.Reasoning.Length > 0)
                {
                    if (!inReasoning && reasoning.Length == 0) piece.Append("<think>\n");
                    inReasoning = true;
                    reasoning.Append(chunk.Reasoning);
                    piece.Append(chunk.Reasoning);
                }
                if (chunk.Content.Length > 0)
                {
                    if (inReasoning) { piece.Append("\n</think>\n\n"); inReasoning = false; }
                    content.Append(chunk.Content);
                    piece.Append(chunk.Content);
                }
                if (chunk.TokenIds is { } t) { ids.AddRange(t); anyIds = true; }
                finish ??= chunk.FinishReason;
                stop ??= chunk.StopReason;
                completionTokens = chunk.CompletionTokens ?? completionTokens;
                promptTokens = chunk.PromptTokens ?? promptTokens;
                if (piece.Length > 0) yield return new GenerationDelta(piece.ToString());
            }
            if (inReasoning) yield return new GenerationDelta("\n</think>\n\n");
            string full = OpenAiWire.WithReasoning(reasoning.ToString(), content.ToString());
            int count = completionTokens ?? (anyIds ? ids.Count : 0);
            yield return new GenerationDelta("", new GenerationSample(full, anyIds ? ids : null, null, OpenAiWire.ParseFinish(finish), count, stop));
        }
    }

    private HttpRequestMessage NewMessage(int endpoint, bool chat, string body)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_endpoints[endpoint], chat ? "chat/completions" : "completions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (_options.ApiKey is { } key) message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return message;
    }

    private static bool IsRetryable(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    /// <summary>The next endpoint in round-robin order that is not marked down (or, when all are, the one back soonest).</summary>
    private int PickEndpoint()
    {
        int start = Interlocked.Increment(ref _next);
        long now = Environment.TickCount64;
        for (int k = 0; k < _endpoints.Length; k++)
        {
            int i = (int)((uint)(start + k) % (uint)_endpoints.Length);
            if (Interlocked.Read(ref _downUntil[i]) <= now) return i;
        }
        int soonest = 0;
        for (int i = 1; i < _endpoints.Length; i++)
            if (Interlocked.Read(ref _downUntil[i]) < Interlocked.Read(ref _downUntil[soonest])) soonest = i;
        return soonest;
    }

    private bool AnyUp()
    {
        long now = Environment.TickCount64;
        for (int i = 0; i < _endpoints.Length; i++)
            if (Interlocked.Read(ref _downUntil[i]) <= now) return true;
        return false;
    }

    private void MarkDown(int endpoint, TimeSpan period) =>
        Interlocked.Exchange(ref _downUntil[endpoint], Environment.TickCount64 + (long)period.TotalMilliseconds);

    private TimeSpan Backoff(int attempt) => ConcurrentRequests.Backoff(attempt, _options.InitialBackoff, _options.MaxBackoff);

    public void Dispose()
    {
        _http.Dispose();
        _slots.Dispose();
    }
}
