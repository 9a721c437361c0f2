// An OpenAI-compatible HTTP server for a checkpoint:
//   dotnet run --project src/R1Sharp.Cli -c Release -- serve --model DIR --port 8000
//   curl http://127.0.0.1:8000/v1/completions -H 'Content-Type: application/json' \
//        -d '{"model": "NAME", "prompt": "1 + 1 =", "max_tokens": 8}'
//
// GET /v1/models, POST /v1/completions, POST /v1/chat/completions (streaming as server-sent events ending with
// "data: [DONE]"), GET /health, GET /stats. Requests are decoded together by the BatchScheduler.
//
// Every answer that is not a success has OpenAI's error shape. What a client can get wrong is a 4xx naming it
// (RequestBody: framing, encoding, JSON; RequestParser: fields; Prepare: tokens); anything else is a 500 whose
// body says only that the server failed, the exception going to the log.
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using R1Sharp.Engine.Generation;
using R1Sharp.Text.Templates;

namespace R1Sharp.Server;

/// <summary>A running server. Start with <see cref="StartAsync"/>; stop with <see cref="StopAsync"/> or dispose.</summary>
public sealed partial class OpenAiServer : IAsyncDisposable
{
    /// <summary>Our own JSON (e.g. <c>/stats</c>) in snake_case, as every OpenAI, SGLang and vLLM field is.</summary>
    static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly WebApplication _app;
    private readonly LocalModel _model;
    private readonly ServerOptions _options;
    private readonly BatchScheduler _scheduler;
    private readonly string _name;
    private readonly ApiKey? _apiKey;
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly Dictionary<string, List<string>> _routes = []; // the methods of each route, for its OPTIONS answer

    private OpenAiServer(WebApplication app, LocalModel model, ServerOptions options)
    {
        _app = app;
        _model = model;
        _options = options;
        _name = options.ServedModelName ?? model.Name;
        _apiKey = options.ApiKey is { } key ? new ApiKey(key) : null;
        _weightVersion = options.WeightVersion;
        _scheduler = new BatchScheduler(new BatchGenerator(model) { MaxBatchRows = options.MaxBatchRows }, options,
            options.EnableWeightUpdates ? () => _weightVersion : null);
    }

    /// <summary>Starts listening; returns once the port is bound.</summary>
    /// <exception cref="ArgumentException">Bad options (host, port, limits).</exception>
    /// <exception cref="IOException">The port is taken.</exception>
    public static async Task<OpenAiServer> StartAsync(LocalModel model, ServerOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var address = options.Host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(options.Host, out var ip) ? ip
            : throw new ArgumentException($"host '{options.Host}' is not an IP address or 'localhost'");
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(address, options.Port);
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
        });
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var app = builder.Build();
        var server = new OpenAiServer(app, model, options);
        // Unknown paths (404) and methods (405) answer in the API's error shape too.
        app.UseStatusCodePages(async context =>
        {
            var http = context.HttpContext;
            string message = http.Response.StatusCode == StatusCodes.Status405MethodNotAllowed
                ? $"{http.Request.Method} is not allowed on {http.Request.Path}"
                : $"no such endpoint: {http.Request.Method} {http.Request.Path} (this server has /v1/models, /v1/completions, /v1/chat/completions, /generate, /health, /stats" +
                  (options.EnableWeightUpdates ? ", and the weight-update routes of SGLang and vLLM)" : ")");
            await WriteJson(http, http.Response.StatusCode, new ApiException(http.Response.StatusCode, message).ToJson()).ConfigureAwait(false);
        });
        server.Map();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            server._scheduler.Dispose();
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(bound.Replace("[::]", "127.0.0.1").Replace("0.0.0.0", "127.0.0.1") + "/");
        options.Log?.Invoke($"serving '{server._name}' at {server.BaseAddress}v1 (batch ≤ {options.MaxBatchRows} rows, queue ≤ {options.MaxQueuedRequests})");
        if (model.Tokenizer is { } tokenizer && tokenizer.VocabSize > model.VocabSize)
            options.Log?.Invoke($"warning: the tokenizer has {tokenizer.VocabSize} tokens and the model's vocabulary {model.VocabSize}: " +
                                "prompts that encode to the tokenizer's extra tokens will be refused (400)");
        return server;
    }

    /// <summary>http://host:port/ as bound (the real port when <see cref="ServerOptions.Port"/> is 0).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The served model name.</summary>
    public string ModelName => _name;

    public SchedulerStats Stats => _scheduler.Stats;

    /// <summary>Completes when the host stops (Ctrl+C, SIGTERM, or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops taking requests, ends the running batch (its requests get 503), closes connections.</summary>
    public async Task StopAsync()
    {
        _scheduler.Stop();
        await _app.StopAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _scheduler.Dispose();
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private void Map()
    {
        MapGet("/health", () => Results.Ok());
        MapGet("/stats", (HttpContext ctx) => Guard(ctx, () => WriteJson(ctx, 200, JsonSerializer.SerializeToNode(_scheduler.Stats, SnakeCase)!)));
        MapGet("/v1/models", (HttpContext ctx) => Guard(ctx, () => WriteJson(ctx, 200, Responses.Models(_name, _created, _model.ContextLength, _adapter))));
        // {**id}: Hub names hold a slash (deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B).
        MapGet("/v1/models/{**id}", (HttpContext ctx, string id) => Guard(ctx, () =>
            WriteJson(ctx, 200, Responses.Model(id, _name, _created, _model.ContextLength, _adapter)
                                ?? throw new ApiException(404, $"The model '{Clip(id)}' does not exist; this server serves '{_adapter ?? _name}'.", "model", "model_not_found"))));
        MapPost("/v1/completions", (HttpContext ctx) => Guard(ctx, () => Generate(ctx, chat: false)));
        MapPost("/v1/chat/completions", (HttpContext ctx) => Guard(ctx, () => Generate(ctx, chat: true)));
        MapPost("/generate", (HttpContext ctx) => Guard(ctx, () => GenerateNative(ctx)));
        if (_options.EnableWeightUpdates) MapWeightUpdates();
        // OPTIONS on every route: 204 with the methods it takes (RFC 9110 section 9.3.7).
        foreach (var (path, methods) in _routes)
        {
            string allow = string.Join(", ", methods.Append(HttpMethods.Options));
            _app.MapMethods(path, [HttpMethods.Options], (HttpContext ctx) =>
            {
                ctx.Response.Headers.Allow = allow;
                return Results.NoContent();
            });
        }
    }

    private void MapRoute(string path, string[] methods, Delegate handler)
    {
        _app.MapMethods(path, methods, handler);
        if (!_routes.TryGetValue(path, out var list)) _routes[path] = list = [];
        list.AddRange(methods);
    }

    /// <summary>A GET route that answers HEAD too, as RFC 9110 asks of every GET resource: the same status and headers, no
    /// content (Kestrel sends no body for HEAD).</summary>
    private void MapGet(string path, Delegate handler) => MapRoute(path, [HttpMethods.Get, HttpMethods.Head], handler);

    private void MapPost(string path, Delegate handler) => MapRoute(path, [HttpMethods.Post], handler);

    /// <summary>
    /// Authentication, then the handler; an <see cref="ApiException"/> becomes its error response. Any other
    /// exception is the server's fault: it is logged whole, and the client gets a 500 that says nothing more
    /// (exception texts can hold paths, libtorch source locations, or parts of other requests).
    /// </summary>
    private async Task Guard(HttpContext ctx, Func<Task> handler)
    {
        try
        {
            if (_apiKey is not null && !_apiKey.Matches(ctx.Request.Headers.Authorization.ToString()))
                throw new ApiException(401, "missing or wrong API key (Authorization: Bearer …)", code: "invalid_api_key");
            await handler().ConfigureAwait(false);
        }
        catch (ApiException e) when (!ctx.Response.HasStarted)
        {
            if (e.Status == 429) ctx.Response.Headers.RetryAfter = "1";
            if (e.Status == 401) ctx.Response.Headers.WWWAuthenticate = "Bearer"; // RFC 9110: a 401 names the scheme it takes
            if (e.Code == "unsupported_media_type") ctx.Response.Headers.AcceptEncoding = "identity"; // and a 415 the codings
            // The rest of an oversized or malformed body is never read: the connection cannot carry another request, and a
            // client told so opens a new one instead of sending its next request into a closing socket.
            if (e.Code is "body_too_large" or "malformed_body") ctx.Response.Headers.Connection = "close";
            await WriteJson(ctx, e.Status, e.ToJson()).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception e)
        {
            _options.Log?.Invoke($"{ctx.Request.Method} {ctx.Request.Path} failed: {e}");
            var error = e as ApiException ?? ApiException.Internal();
            if (!ctx.Response.HasStarted)
            {
                await WriteJson(ctx, error.Status, error.ToJson()).ConfigureAwait(false);
            }
            else if (ctx.Response.ContentType == "text/event-stream")
            {
                // Mid-stream: end the stream with the error, as the scheduler's failures are ended.
                try
                {
                    await Send(ctx, error.ToJson()).ConfigureAwait(false);
                    await ctx.Response.WriteAsync("data: [DONE]\n\n", ctx.RequestAborted).ConfigureAwait(false);
                }
                catch (Exception) when (ctx.RequestAborted.IsCancellationRequested)
                {
                }
            }
            else
            {
                ctx.Abort();
            }
        }
    }

    private async Task Generate(HttpContext ctx, bool chat)
    {
        var body = await RequestBody.ReadAsync(ctx.Request, _options.MaxRequestBytes, ctx.RequestAborted).ConfigureAwait(false);
        var request = RequestParser.Parse(body, chat, _options, _model.ContextLength);
        if (ModelRefused(request.Model) is { } refused) throw refused;
        if (request.Prompts.Count > _options.MaxQueuedRequests)
            throw ApiException.BadRequest($"'prompt' holds {request.Prompts.Count} prompts; this server queues at most {_options.MaxQueuedRequests} " +
                                          "(--max-queue), so the request could never be taken", "prompt");
        var encoded = request.Prompts.Select(p => Prepare(p, request)).ToList();

        string id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Channel<(int Choice, StreamedToken Token)>? events = request.Stream
            ? Channel.CreateUnbounded<(int, StreamedToken)>(new UnboundedChannelOptions { SingleReader = true })
            : null;
        var items = encoded.Select((e, p) => (e, events is null ? null : (Action<int, StreamedToken>)((s, t) => events.Writer.TryWrite((p * request.N + s, t))))).ToList();
        var work = _scheduler.TrySubmit(items, ctx.RequestAborted)
                   ?? throw new ApiException(429, $"the server is busy ({_options.MaxQueuedRequests} requests waiting); retry later", code: "queue_full");
        var all = Task.WhenAll(work.Select(w => w.Completion));

        if (events is null)
        {
            var results = await all.WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
            await WriteJson(ctx, 200, Responses.Complete(id, created, request.Model, request, results, _model)).ConfigureAwait(false);
            return;
        }
        _ = all.ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);
        await Stream(ctx, request, id, created, events.Reader, all).ConfigureAwait(false);
    }

    /// <summary>Server-sent events: one chunk per piece of text (and the last token of each choice), then usage, then [DONE].</summary>
    private async Task Stream(HttpContext ctx, ApiRequest request, string id, long created,
        ChannelReader<(int Choice, StreamedToken Token)> events, Task<GenerationResult[]> all)
    {
        var response = ctx.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        int choices = request.Prompts.Count * request.N;
        var pendingTokens = new List<Responses.TokenInfo>[choices];
        var textOffset = new int[choices];
        var ct = ctx.RequestAborted;
        if (request.Chat)
            for (int c = 0; c < choices; c++)
                await Send(ctx, Responses.Chunk(id, created, request.Model, request, c, "", null, null, null, null, roleOnly: true)).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);

        await foreach (var (choice, token) in events.ReadAllAsync(ct).ConfigureAwait(false))
        {
            (pendingTokens[choice] ??= []).Add(new Responses.TokenInfo(token.TokenId, token.LogProb, token.TopLogProbs));
            if (token.Text.Length == 0 && token.Finish is null) continue;
            var tokens = pendingTokens[choice];
            JsonObject? logProbs = request.LogProbs ? Responses.LogProbs(request, tokens, _model, textOffset[choice]) : null;
            textOffset[choice] += token.Text.Length;
            string? finish = token.Finish is null ? null : token.Finish == Engine.FinishReason.Stop ? "stop" : "length";
            var stopReason = finish is null ? null : Responses.StopReason(request, token.StopString, token.TokenId, finish == "stop", _model);
            await Send(ctx, Responses.Chunk(id, created, request.Model, request, choice, token.Text, finish, stopReason, logProbs,
                request.ReturnTokenIds ? tokens.Select(t => t.Id).ToList() : null)).ConfigureAwait(false);
            tokens.Clear();
            await response.Body.FlushAsync(ct).ConfigureAwait(false);
        }

        try
        {
            var results = await all.ConfigureAwait(false);
            if (request.IncludeUsage)
                await Send(ctx, Responses.UsageChunk(id, created, request.Model, request, results.Sum(r => r.PromptTokens), results.Sum(r => r.CompletionTokens))).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            await Send(ctx, e.ToJson()).ConfigureAwait(false);
        }
        await response.WriteAsync("data: [DONE]\n\n", ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    private static Task Send(HttpContext ctx, JsonNode chunk) =>
        ctx.Response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n", ctx.RequestAborted);

    /// <summary>
    /// Encodes a prompt and fits the completion into the context, as vLLM does: a prompt that leaves no room, or an
    /// explicit max_tokens that does not fit, is a 400; without max_tokens, completions get 16 tokens (OpenAI's
    /// default) and chat gets the rest of the context (capped by the server's max tokens).
    /// </summary>
    private EncodedRequest Prepare(GenerationPrompt prompt, ApiRequest request)
    {
        string param = request.Chat ? "messages" : "prompt";
        // The cheap checks first: these need no tokenisation.
        if (request.Options.Stop.Count > 0 && _model.Tokenizer is null)
            throw ApiException.BadRequest("this model has no tokenizer, so stop strings cannot be matched", "stop");
        foreach (var stopId in request.Options.StopTokenIds)
            if (stopId >= _model.VocabSize)
                throw ApiException.BadRequest($"stop token id {stopId} is outside the vocabulary (size {_model.VocabSize})", "stop_token_ids");
        if (request.Options.TopLogProbs > _model.VocabSize)
            throw ApiException.BadRequest($"{request.Options.TopLogProbs} alternatives per token were asked for; the vocabulary has {_model.VocabSize} tokens",
                request.Chat ? "top_logprobs" : "logprobs");
        int context = _model.ContextLength;
        int maxPrompt = Math.Max(0, Math.Min(_options.MaxPromptTokens ?? context - 1, context - 1));
        int[] ids;
        try
        {
            ids = _model.Encode(prompt);
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message, param);
        }
        catch (TemplateException e)
        {
            throw ApiException.BadRequest($"the chat template failed on these messages: {e.Message}", param, "chat_template_error");
        }
        if (ids.Length > maxPrompt)
            throw ApiException.BadRequest($"This model's maximum context length is {context} tokens and this server takes prompts of up to " +
                                          $"{maxPrompt} tokens. However, your prompt has {ids.Length} tokens.", param, "context_length_exceeded");
        // Token-id prompts were checked against the vocabulary by Encode; text can still encode to ids the model does
        // not have when the tokenizer is larger than the model's embedding (which would fail deep in the model).
        foreach (int id in ids)
            if ((uint)id >= (uint)_model.VocabSize)
                throw ApiException.BadRequest($"the prompt encodes to token id {id}, which is outside this model's vocabulary (size {_model.VocabSize}; " +
                                              $"the tokenizer has {_model.Tokenizer?.VocabSize} tokens)", param, "token_out_of_vocabulary");
        int room = context - ids.Length;
        int maxTokens;
        if (request.MaxTokensGiven)
        {
            maxTokens = request.Options.MaxNewTokens;
            if (maxTokens > room)
                throw ApiException.BadRequest($"This model's maximum context length is {context} tokens. However, you requested " +
                                              $"{(long)ids.Length + maxTokens} tokens ({ids.Length} in the prompt, {maxTokens} for the completion). " +
                                              "Please reduce the length of the prompt or of the completion.",
                    "max_tokens", "context_length_exceeded");
        }
        else
        {
            maxTokens = Math.Min(room, request.Chat ? _options.MaxTokens ?? room : 16);
        }
        return new EncodedRequest(ids, request.Options with { MaxNewTokens = maxTokens }, request.N);
    }

    /// <summary>A client's string, cut to a readable length for an error message.</summary>
    private static string Clip(string text) => text.Length <= 100 ? text : text[..97] + "...";

    private static async Task WriteJson(HttpContext ctx, int status, JsonNode body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(body.ToJsonString(), ctx.RequestAborted).ConfigureAwait(false);
    }
}
