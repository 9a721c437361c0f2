using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Engine.Fleet;

/// <summary>One server of a fleet, as the fleet last saw it.</summary>
public sealed class FleetServer
{
    internal FleetServer(Uri root) => Root = root;

    /// <summary>The server's base URL (weight-update routes hang off it; OpenAI routes under <c>v1/</c>).</summary>
    public Uri Root { get; }

    /// <summary>Takes requests. A server leaves rotation when it fails a weight update or cannot be reached, and comes back when a later update succeeds.</summary>
    public bool InRotation { get; internal set; }

    /// <summary>The weight version it serves (as of its last successful update); null before the first.</summary>
    public string? Version { get; internal set; }

    /// <summary>Why it left rotation.</summary>
    public string? LastError { get; internal set; }

    /// <summary>Bumped when an update starts and when it ends, so a response can tell whether an update happened while it was generated.</summary>
    internal long Epoch;

    /// <summary>Set while an update runs: requests for this server wait for it.</summary>
    internal volatile TaskCompletionSource? Updating;

    /// <summary>The model name its <c>/v1/models</c> gave (vLLM and r1sharp need it in requests).</summary>
    internal string? ModelName;

    public override string ToString() => Root.ToString().TrimEnd('/');
}

/// <summary>What one server did in a weight update.</summary>
/// <param name="Server">The server.</param>
/// <param name="Ok">It serves the new version now.</param>
/// <param name="Error">Why not.</param>
/// <param name="Seconds">Time of its update calls.</param>
/// <param name="Rejoined">It was out of rotation before this update and is back.</param>
public sealed record ServerUpdate(FleetServer Server, bool Ok, string? Error, double Seconds, bool Rejoined);

/// <summary>A weight update of the whole fleet.</summary>
public sealed record FleetUpdate(string Version, IReadOnlyList<ServerUpdate> Servers, double Seconds)
{
    public int Updated => Servers.Count(s => s.Ok);
}

/// <summary>
/// A fleet of inference servers (SGLang, vLLM or <c>r1sharp serve</c>) that generates rollouts and whose weights follow the
/// policy. Rollouts are asked for by token ids and come back as token ids with per-token log-probabilities and the weight
/// version that produced them; <see cref="UpdateAsync"/> makes every server load a checkpoint folder from disk.
/// </summary>
/// <remarks>
/// <para><b>Rotation.</b> Requests go round-robin over the servers in rotation. A server that cannot be reached (refused or
/// cut connection, no answer in time, an HTTP 5xx other than 503) is taken out of rotation and named in the log, and the
/// request goes to another; one that fails a weight update likewise — it is never left serving stale weights unnoticed.
/// At each update the servers out of rotation are tried again (a health check first, so a dead server costs a connection
/// attempt, not a timeout; SGLang is asked <c>GET /v1/models</c>, as its <c>/health</c> generates and cannot answer while the
/// server is paused) and rejoin when the update succeeds. When no server is left, calls throw
/// <see cref="FleetUnavailableException"/> naming every server and why it left.</para>
/// <para><b>Versions.</b> A request sent to a server waits while it updates. A response generated entirely between two
/// updates gets the server's version; one that an update overlapped gets the version the server reports in the response
/// (SGLang's <c>meta_info.weight_version</c>, r1sharp's <c>weight_version</c>), or is sent again when the server reports none
/// (vLLM): a rollout's version is never guessed. With adapter-only sync (<see cref="FleetWeightSync.Adapter"/>) a request names
/// the adapter it is to be generated with (<c>model</c> = the version the server loaded last), so its version is exact; a request
/// for an adapter the server has unloaded meanwhile (HTTP 404) is sent again with the newer one.</para>
/// <para><b>Retries.</b> 408, 429, 503 and aborted requests (a pause for an update) are sent again after a back-off;
/// other 4xx answers fail the call at once with the server's message.</para>
/// </remarks>
public sealed class RolloutFleet : IGenerationBackend
{
    private readonly FleetOptions _options;
    private readonly FleetServer[] _servers;
    private readonly FleetHttp _http;
    private readonly IWeightUpdateProtocol _protocol;
    private readonly SemaphoreSlim _slots;
    private int _next = -1;
    private long _attempts, _retries, _exclusions;

    public RolloutFleet(FleetOptions options, HttpMessageHandler? handler = null)
    {
        options.Validate();
        _options = options;
        _servers = [.. options.Endpoints.Select(e => new FleetServer(FleetOptions.Root(e)) { InRotation = true })];
        _http = new FleetHttp(options.ConnectTimeout, options.MaxConcurrency, options.ApiKey, handler);
        _protocol = IWeightUpdateProtocol.For(options);
        _slots = new SemaphoreSlim(options.MaxConcurrency);
    }

    public IReadOnlyList<FleetServer> Servers => _servers;

    public FleetEngine Engine => _options.Engine;

    public string Description => $"{_options.Engine.ToString().ToLowerInvariant()} fleet of {_servers.Length} ({string.Join(", ", _servers.Select(s => s.ToString()))})";

    /// <summary>HTTP generation requests sent (tries included), tries repeated, and servers taken out of rotation.</summary>
    public (long Attempts, long Retries, long Exclusions) Counters =>
        (Interlocked.Read(ref _attempts), Interlocked.Read(ref _retries), Interlocked.Read(ref _exclusions));

    // ---------------------------------------------------------------- weight updates

    /// <summary>
    /// Makes every server load the checkpoint folder <paramref name="path"/> as <paramref name="version"/>, all at once.
    /// Servers out of rotation are tried too (and rejoin on success); a server that fails is taken out of rotation.
    /// </summary>
    /// <exception cref="FleetUnavailableException">No server serves the new version.</exception>
    public async Task<FleetUpdate> UpdateAsync(string path, string version, CancellationToken cancellationToken = default)
    {
        path = Path.GetFullPath(path);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var results = await Task.WhenAll(_servers.Select(s => UpdateOne(s, path, version, cancellationToken))).ConfigureAwait(false);
        var update = new FleetUpdate(version, results, clock.Elapsed.TotalSeconds);
        if (!_servers.Any(s => s.InRotation))
            throw new FleetUnavailableException($"no rollout server is left: every one failed the weight update to {version} " +
                                                $"({string.Join("; ", results.Select(r => $"{r.Server}: {r.Error}"))})");
        return update;
    }

    private async Task<ServerUpdate> UpdateOne(FleetServer server, string path, string version, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool wasOut = !server.InRotation;
        if (wasOut)
        {
            try
            {
                await _http.CallAsync(HttpMethod.Get, server.Root, LivenessRoute(_options.Engine), null, _options.ConnectTimeout, ct).ConfigureAwait(false);
            }
            catch (FleetCallException e)
            {
                return new ServerUpdate(server, false, $"still out of rotation: {e.Message}", clock.Elapsed.TotalSeconds, false);
            }
        }
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Updating = gate;
        Interlocked.Increment(ref server.Epoch);
        try
        {
            await _protocol.UpdateAsync(_http, server.Root, path, version, _options.UpdateTimeout, ct).ConfigureAwait(false);
            server.Version = version;
            server.InRotation = true;
            server.LastError = null;
            if (wasOut) _options.Log?.Invoke($"rollout server {server} is back in rotation (serves {version})");
            return new ServerUpdate(server, true, null, clock.Elapsed.TotalSeconds, wasOut);
        }
        catch (FleetCallException e)
        {
            Exclude(server, $"weight update to {version} failed: {e.Message}");
            return new ServerUpdate(server, false, e.Message, clock.Elapsed.TotalSeconds, false);
        }
        finally
        {
            Interlocked.Increment(ref server.Epoch);
            server.Updating = null;
            gate.TrySetResult();
        }
    }

    /// <summary>
    /// The route that shows a server out of rotation is up before it is sent an update: one that answers without generating,
    /// even while the server is paused. SGLang's <c>GET /health</c> generates a token (<c>SGLANG_ENABLE_HEALTH_ENDPOINT_GENERATION</c>,
    /// on by default in the 0.5 line and later) and a generation waits while the server is paused — as a server whose load failed is left — so
    /// SGLang is asked <c>GET /v1/models</c>; vLLM's and r1sharp's <c>GET /health</c> do not generate.
    /// </summary>
    internal static string LivenessRoute(FleetEngine engine) => engine == FleetEngine.Sglang ? "v1/models" : "health";

    /// <summary>Takes a server out of rotation (it failed a check of the caller's) until an update succeeds on it; the reason goes to the log.</summary>
    public void TakeOut(FleetServer server, string reason) => Exclude(server, reason);

    /// <summary>One request to one server, without retries or rotation: a check of what that server serves.</summary>
    /// <exception cref="FleetCallException">The call failed.</exception>
    /// <exception cref="FormatException">The answer is unusable.</exception>
    public Task<GenerationResult> ProbeAsync(FleetServer server, GenerationRequest request, CancellationToken cancellationToken = default)
    {
        request.Options.Validate();
        return SendOnce(server, request, cancellationToken, AdapterOf(server.Version));
    }

    /// <summary>With adapter-only sync, the adapter a request to a server serving <paramref name="version"/> names (the version
    /// itself); null otherwise, or before the server's first update (the base model).</summary>
    private string? AdapterOf(string? version) => _options.Sync == FleetWeightSync.Adapter ? version : null;

    private void Exclude(FleetServer server, string reason)
    {
        lock (server)
        {
            server.LastError = reason;
            if (!server.InRotation) return;
            server.InRotation = false;
        }
        Interlocked.Increment(ref _exclusions);
        _options.Log?.Invoke($"rollout server {server} taken out of rotation: {reason}");
    }

    private FleetServer Pick()
    {
        int start = Interlocked.Increment(ref _next);
        for (int k = 0; k < _servers.Length; k++)
        {
            var s = _servers[(int)((uint)(start + k) % (uint)_servers.Length)];
            if (s.InRotation) return s;
        }
        throw new FleetUnavailableException("no rollout server is left in rotation: " +
                                            string.Join("; ", _servers.Select(s => $"{s}: {s.LastError ?? "not updated"}")));
    }

    // ---------------------------------------------------------------- generation

    public async IAsyncEnumerable<IndexedResult> GenerateAsync(IReadOnlyList<GenerationRequest> requests,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var r in requests)
        {
            r.Options.Validate();
            if (r.N < 1) throw new ArgumentException($"n must be ≥ 1 (got {r.N})");
            if (r.Prompt.IsChat) throw new ArgumentException("rollout fleets take token-id or text prompts");
        }
        await foreach (var item in ConcurrentRequests.StreamAsync(requests, _slots, Send, cancellationToken).ConfigureAwait(false))
            yield return item;
    }

    private async Task<GenerationResult> Send(GenerationRequest request, int index, CancellationToken ct)
    {
        string name = request.Id ?? $"#{index}";
        string lastError = "";
        int failures = 0;
        for (int tries = 1; ; tries++)
        {
            var server = Pick();
            if (server.Updating is { } updating) await updating.Task.WaitAsync(ct).ConfigureAwait(false);
            if (!server.InRotation) continue;
            long epoch = Interlocked.Read(ref server.Epoch);
            string? version = server.Version;
            if (tries > 1) Interlocked.Increment(ref _retries);
            Interlocked.Increment(ref _attempts);
            TimeSpan? wait = null;
            try
            {
                var result = await SendOnce(server, request, ct, AdapterOf(version)).ConfigureAwait(false);
                bool overlapped = Interlocked.Read(ref server.Epoch) != epoch || server.Updating is not null;
                if (result.Samples.All(s => s.WeightVersion is not null)) return result;
                if (!overlapped) return result with { Samples = [.. result.Samples.Select(s => s with { WeightVersion = version })] };
                continue; // an update overlapped this response and the server does not say which weights made it: generate it again
            }
            catch (AbortedException e)
            {
                lastError = $"{server}: {e.Message}";
                wait = Backoff(1);
            }
            catch (FleetCallException e) when (e.Status == 404 && AdapterOf(version) is not null && server.Version != version)
            {
                lastError = e.Message; // the adapter it named was unloaded by an update meanwhile: ask for the newer one
            }
            catch (FleetCallException e) when (e.Status is null || (e.Status >= 500 && e.Status != 503))
            {
                Exclude(server, e.Message);
                lastError = e.Message;
                failures++;
            }
            catch (FleetCallException e) when (e.Status is 408 or 429 or 503)
            {
                lastError = e.Message;
                wait = Backoff(++failures);
            }
            catch (FleetCallException e)
            {
                throw new GenerationException($"request {name} was refused: {e.Message}") { StatusCode = e.Status };
            }
            catch (FormatException e)
            {
                lastError = $"{server}: unusable response: {e.Message}";
                wait = Backoff(++failures);
            }
            if (failures >= _options.MaxAttempts)
                throw new GenerationException($"request {name} failed {failures} times; last error: {lastError}");
            if (wait is { } delay) await Task.Delay(delay, ct).ConfigureAwait(false);
        }
    }

    private async Task<GenerationResult> SendOnce(FleetServer server, GenerationRequest request, CancellationToken ct, string? adapter = null)
    {
        if (_options.Engine == FleetEngine.Sglang)
        {
            string text = await _http.CallAsync(HttpMethod.Post, server.Root, "generate", SglangWire.RequestBody(request), _options.RequestTimeout, ct).ConfigureAwait(false);
            return SglangWire.ParseResponse(text, request.N);
        }
        var remote = new RemoteBackendOptions { Endpoints = [server.Root], Model = adapter ?? await ModelName(server, ct).ConfigureAwait(false) };
        var body = OpenAiWire.RequestBody(request, remote, stream: false); // asks for token ids and log-probabilities
        string json = await _http.CallAsync(HttpMethod.Post, server.Root, "v1/completions", body, _options.RequestTimeout, ct).ConfigureAwait(false);
        GenerationResult result;
        try
        {
            result = OpenAiWire.ParseResponse(json, request.N, chat: false);
        }
        catch (FormatException e) when (e.Message.Contains("'abort'", StringComparison.Ordinal))
        {
            throw new AbortedException(e.Message);
        }
        if (result.Samples.Any(s => s.TokenIds is null || s.LogProbs is null || s.LogProbs.Count != s.TokenIds.Count))
            throw new FormatException("the response lacks token ids or log-probabilities (vLLM needs return_token_ids and logprobs)");
        // r1sharp serve names the weights that generated the response; with adapter-only sync, the adapter asked for did.
        string? reported = JsonNode.Parse(json)?["weight_version"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : adapter;
        return reported is null ? result : result with { Samples = [.. result.Samples.Select(x => x with { WeightVersion = reported })] };
    }

    /// <summary>The model name the servers serve (<see cref="FleetOptions.Model"/>, or the first server's <c>/v1/models</c>).</summary>
    public Task<string> ModelNameAsync(CancellationToken cancellationToken = default) => ModelName(Pick(), cancellationToken);

    private async Task<string> ModelName(FleetServer server, CancellationToken ct)
    {
        if (_options.Model is { } configured) return configured;
        if (server.ModelName is { } known) return known;
        string body = await _http.CallAsync(HttpMethod.Get, server.Root, "v1/models", null, _options.RequestTimeout, ct).ConfigureAwait(false);
        string? id = null;
        try
        {
            id = JsonNode.Parse(body)?["data"]?[0]?["id"]?.GetValue<string>();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
        }
        return server.ModelName = id ?? throw new FormatException($"GET {server.Root}v1/models names no model");
    }

    private TimeSpan Backoff(int attempt) => ConcurrentRequests.Backoff(attempt, _options.InitialBackoff, _options.MaxBackoff);

    public void Dispose()
    {
        _http.Dispose();
        _slots.Dispose();
    }
}
