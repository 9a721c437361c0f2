// What a trainer needs from a rollout server (docs/distributed.md):
//   POST /generate                  SGLang's native generation: token ids in, token ids and log-probabilities out
//   with --enable-weight-updates, the weight-update routes of both engines, with their bodies and replies:
//   SGLang  POST /pause_generation {"mode"}, POST /update_weights_from_disk {"model_path", "weight_version", …},
//           POST /continue_generation, GET /get_weight_version
//   vLLM    POST /pause?mode=, POST /resume, GET /is_paused, POST /init_weight_transfer_engine, POST /start_weight_update,
//           POST /update_weights {"update_info": {"path"}}, POST /finish_weight_update {"weight_version"}, GET /weight_info
//           POST /v1/load_lora_adapter {"lora_name", "lora_path", "load_inplace"}, POST /v1/unload_lora_adapter {"lora_name"}
//           (runtime LoRA: one adapter served at a time, on top of the base; docs/lora.md)
//   and     GET /weight_version (r1sharp's own), and "weight_version" on every completions response.
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Server;

public sealed partial class OpenAiServer
{
    private volatile string _weightVersion;
    private readonly SemaphoreSlim _updateLock = new(1, 1);
    private bool _vllmSession, _vllmLoaded; // a vLLM weight-update session (start → update → finish), under _updateLock
    private volatile string? _adapter;          // the LoRA adapter served on top of the base now, by name (null: the base alone)
    private readonly HashSet<string> _adapters = []; // names loaded and not unloaded (under _updateLock)
    private string _baseVersion = "";           // the version the base had when the first adapter was loaded

    /// <summary>The name of the weights served now (<see cref="ServerOptions.WeightVersion"/> until an update names others).</summary>
    public string WeightVersion => _weightVersion;

    private async Task GenerateNative(HttpContext ctx)
    {
        var body = await RequestBody.ReadAsync(ctx.Request, _options.MaxRequestBytes, ctx.RequestAborted).ConfigureAwait(false);
        var native = RequestParser.ParseGenerate(body, _options, _model.ContextLength);
        if (native.Prompts.Count > _options.MaxQueuedRequests)
            throw ApiException.BadRequest($"the request holds {native.Prompts.Count} inputs; this server queues at most {_options.MaxQueuedRequests} " +
                                          "(--max-queue), so the request could never be taken", native.Prompts[0].TokenIds is null ? "text" : "input_ids");
        var request = new ApiRequest(false, _name, native.Prompts, native.Options, MaxTokensGiven: true, native.N, Stream: false, IncludeUsage: false,
            LogProbs: native.ReturnLogProb, ReturnTokenIds: true);
        var encoded = native.Prompts.Select(p => Prepare(p, request)).ToList();
        var work = _scheduler.TrySubmit([.. encoded.Select(e => (e, (Action<int, StreamedToken>?)null))], ctx.RequestAborted)
                   ?? throw new ApiException(429, $"the server is busy ({_options.MaxQueuedRequests} requests waiting); retry later", code: "queue_full");
        var results = await Task.WhenAll(work.Select(w => w.Completion)).WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
        var outputs = new JsonArray();
        foreach (var result in results)
            foreach (var sample in result.Samples)
                outputs.Add(NativeOutput(result, sample, native));
        await WriteJson(ctx, 200, native.Single ? outputs[0]!.DeepClone() : outputs).ConfigureAwait(false);
    }

    /// <summary>One output of <c>/generate</c> in SGLang's shape.</summary>
    private JsonObject NativeOutput(GenerationResult result, GenerationSample sample, NativeRequest native)
    {
        var ids = sample.TokenIds ?? [];
        JsonObject finish = sample.FinishReason == Engine.FinishReason.Length
            ? new JsonObject { ["type"] = "length", ["length"] = ids.Count }
            : sample.StopString is { } stop
                ? new JsonObject { ["type"] = "stop", ["matched"] = stop }
                : new JsonObject { ["type"] = "stop", ["matched"] = ids.Count > 0 ? ids[^1] : null };
        var meta = new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString("N"),
            ["finish_reason"] = finish,
            ["prompt_tokens"] = result.PromptTokens,
            ["completion_tokens"] = sample.CompletionTokens,
            ["cached_tokens"] = 0,
            ["weight_version"] = sample.WeightVersion ?? _weightVersion,
        };
        if (native.ReturnLogProb)
            meta["output_token_logprobs"] = new JsonArray([.. ids.Select((id, i) => (JsonNode)new JsonArray(
                sample.LogProbs![i], id, native.TextInLogProbs ? _model.TokenText(id) : null))]);
        return new JsonObject
        {
            ["text"] = sample.Text,
            ["output_ids"] = new JsonArray([.. ids.Select(i => (JsonNode)i)]),
            ["meta_info"] = meta,
        };
    }

    private void MapWeightUpdates()
    {
        // SGLang
        MapPost("/pause_generation", (HttpContext ctx) => Guard(ctx, async () =>
        {
            var body = await OptionalBody(ctx).ConfigureAwait(false);
            string mode = Field<string>(body, "mode") ?? "abort";
            var pause = mode switch
            {
                "abort" => PauseMode.Abort,
                "retract" => PauseMode.Retract,
                "in_place" => PauseMode.InPlace,
                _ => throw ApiException.BadRequest($"Invalid mode: '{mode}'. Expected one of ['abort', 'retract', 'in_place'].", "mode"),
            };
            await _scheduler.PauseAsync(pause, ctx.RequestAborted).ConfigureAwait(false);
            _options.Log?.Invoke($"generation paused ({mode})");
            await WriteJson(ctx, 200, new JsonObject { ["message"] = "Generation paused successfully.", ["status"] = "ok" }).ConfigureAwait(false);
        }));
        MapPost("/continue_generation", (HttpContext ctx) => Guard(ctx, async () =>
        {
            _scheduler.Continue();
            await WriteJson(ctx, 200, new JsonObject { ["message"] = "Generation continued successfully.", ["status"] = "ok" }).ConfigureAwait(false);
        }));
        MapPost("/update_weights_from_disk", (HttpContext ctx) => Guard(ctx, () => UpdateFromDisk(ctx)));
        MapGet("/get_weight_version", (HttpContext ctx) => Guard(ctx, () => WriteJson(ctx, 200, new JsonObject { ["weight_version"] = _weightVersion })));

        // vLLM
        MapPost("/pause", (HttpContext ctx) => Guard(ctx, async () =>
        {
            string mode = ctx.Request.Query["mode"].FirstOrDefault() ?? "abort";
            if (ctx.Request.Query["wait_for_inflight_requests"].FirstOrDefault() is "true" or "True") mode = "wait";
            PauseMode? pause = mode switch { "abort" => PauseMode.Abort, "wait" => PauseMode.Wait, "keep" => PauseMode.InPlace, _ => null };
            if (pause is null)
            {
                await WriteJson(ctx, 400, new JsonObject { ["error"] = $"Invalid pause mode '{mode}': expected abort, wait or keep" }).ConfigureAwait(false);
                return;
            }
            await _scheduler.PauseAsync(pause.Value, ctx.RequestAborted).ConfigureAwait(false);
            _options.Log?.Invoke($"generation paused ({mode})");
            await WriteJson(ctx, 200, new JsonObject { ["status"] = "paused" }).ConfigureAwait(false);
        }));
        MapPost("/resume", (HttpContext ctx) => Guard(ctx, async () =>
        {
            _scheduler.Continue();
            await WriteJson(ctx, 200, new JsonObject { ["status"] = "resumed" }).ConfigureAwait(false);
        }));
        MapGet("/is_paused", (HttpContext ctx) => Guard(ctx, () => WriteJson(ctx, 200, new JsonObject { ["is_paused"] = _scheduler.IsPaused })));
        MapPost("/init_weight_transfer_engine", (HttpContext ctx) => Guard(ctx, async () =>
        {
            var body = await OptionalBody(ctx).ConfigureAwait(false);
            if (body?["init_info"] is not JsonObject info)
            {
                await Detail(ctx, 400, "Missing 'init_info' in request body").ConfigureAwait(false);
                return;
            }
            if (info.Count > 0)
            {
                await Detail(ctx, 400, $"Invalid init_info for the disk backend: it takes no fields (got {string.Join(", ", info.Select(p => p.Key))})").ConfigureAwait(false);
                return;
            }
            await WriteJson(ctx, 200, new JsonObject { ["message"] = "Weight transfer initialized" }).ConfigureAwait(false);
        }));
        MapPost("/start_weight_update", (HttpContext ctx) => Guard(ctx, () => VllmStep(ctx, async () =>
        {
            if (_vllmSession) return (409, "A shared-disk weight update is already active");
            _vllmSession = true;
            _vllmLoaded = false;
            await Task.CompletedTask.ConfigureAwait(false);
            return (200, "Weight update started");
        })));
        MapPost("/update_weights", (HttpContext ctx) => Guard(ctx, () => VllmStep(ctx, async () =>
        {
            var body = await OptionalBody(ctx).ConfigureAwait(false);
            if (body?["update_info"] is not JsonObject info) return (400, "Missing 'update_info' in request body");
            if (!_vllmSession) return (409, "start_weight_update must be called before loading a checkpoint");
            if (_vllmLoaded) return (409, "The disk backend accepts exactly one checkpoint per update session");
            string? path = Field<string>(info, "path");
            if (string.IsNullOrEmpty(path) || !Path.IsPathRooted(path)) return (400, "`path` must be a non-empty absolute local directory");
            if (!Directory.Exists(path)) return (400, $"Shared-disk checkpoint path must be a local directory: {path}");
            if (!Directory.EnumerateFiles(path, "*.safetensors").Any()) return (400, $"Shared-disk checkpoint directory contains no safetensors files: {path}");
            if (await LoadPaused(path, PauseMode.Wait, ctx.RequestAborted).ConfigureAwait(false) is { } error)
            {
                _vllmSession = false; // vLLM ends a session whose load failed
                return (400, error);
            }
            _vllmLoaded = true;
            return (200, "Weights updated");
        })));
        MapPost("/finish_weight_update", (HttpContext ctx) => Guard(ctx, () => VllmStep(ctx, async () =>
        {
            var body = await OptionalBody(ctx).ConfigureAwait(false);
            if (!_vllmSession) return (409, "No shared-disk weight update is active");
            _vllmSession = false;
            if (!_vllmLoaded) return (409, "No checkpoint was loaded during the shared-disk update session");
            if (Field<string>(body, "weight_version") is { } version) SetVersion(version);
            return (200, "Weight update finished");
        })));
        MapGet("/weight_info", (HttpContext ctx) => Guard(ctx, () => WriteJson(ctx, 200, new JsonObject { ["weight_version"] = _weightVersion })));

        // vLLM's runtime LoRA routes
        MapPost("/v1/load_lora_adapter", (HttpContext ctx) => Guard(ctx, () => LoadLoraAdapter(ctx)));
        MapPost("/v1/unload_lora_adapter", (HttpContext ctx) => Guard(ctx, () => UnloadLoraAdapter(ctx)));

        // r1sharp
        MapGet("/weight_version", (HttpContext ctx) => Guard(ctx, () => WriteJson(ctx, 200, new JsonObject { ["weight_version"] = _weightVersion })));
    }

    /// <summary>SGLang's <c>update_weights_from_disk</c>: 200 <c>{"success": true, …}</c>, or 400 <c>{"success": false, "message"}</c>; the old weights stay on failure.</summary>
    private async Task UpdateFromDisk(HttpContext ctx)
    {
        JsonObject reply;
        int status;
        await _updateLock.WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
        try
        {
            var body = await OptionalBody(ctx).ConfigureAwait(false);
            string? path = Field<string>(body, "model_path");
            string? format = Field<string>(body, "load_format");
            string? version = Field<string>(body, "weight_version");
            bool abortAll = Flag(body, "abort_all_requests") ?? false;
            Flag(body, "flush_cache"); // KV caches live per batch here: nothing to flush
            string? error = path is null or "" ? "model_path is required"
                : format is not (null or "auto" or "safetensors") ? $"load_format '{format}' is not supported (auto or safetensors)"
                : version is "" ? "weight_version must not be empty"
                : null;
            int waiting = _scheduler.Stats.Waiting;
            error ??= await LoadPaused(path!, abortAll ? PauseMode.Abort : PauseMode.Wait, ctx.RequestAborted).ConfigureAwait(false);
            if (error is null)
            {
                string message = "Succeeded to update model weights.";
                if (version is not null)
                {
                    SetVersion(version);
                    message += $" Weight version updated to {version}.";
                }
                (status, reply) = (200, new JsonObject { ["success"] = true, ["message"] = message, ["num_paused_requests"] = waiting });
            }
            else
            {
                _options.Log?.Invoke($"weight update from {path} failed: {error}");
                (status, reply) = (400, new JsonObject { ["success"] = false, ["message"] = error, ["num_paused_requests"] = 0 });
            }
        }
        finally
        {
            _updateLock.Release();
        }
        await WriteJson(ctx, status, reply).ConfigureAwait(false);
    }

    /// <summary>
    /// vLLM's <c>/v1/load_lora_adapter</c>: the adapter folder is served on top of the base from now on, and requests name it by
    /// <c>lora_name</c> (which also becomes the weight version). vLLM holds several adapters at once; this server applies one:
    /// a new one replaces the one served (same layers and r), and requests for a replaced name get 404 as for an unloaded one.
    /// 200 with vLLM's plain-text "Success: …"; 400 when a field is missing, the name is loaded already (unless
    /// <c>load_inplace</c>) or the folder is refused (the served adapter then stays).
    /// </summary>
    private async Task LoadLoraAdapter(HttpContext ctx)
    {
        var body = await OptionalBody(ctx).ConfigureAwait(false);
        string? name = Field<string>(body, "lora_name"), path = Field<string>(body, "lora_path");
        bool inPlace = Flag(body, "load_inplace") ?? false;
        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(path))
            throw ApiException.BadRequest("Both 'lora_name' and 'lora_path' must be provided.", string.IsNullOrEmpty(name) ? "lora_name" : "lora_path");
        if (name == _name) throw ApiException.BadRequest($"'{name}' is the name of the base model", "lora_name");
        await _updateLock.WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
        try
        {
            if (!inPlace && _adapters.Contains(name))
                throw ApiException.BadRequest($"The lora adapter '{name}' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.", "lora_name");
            if (await LoadPaused(path, PauseMode.Wait, ctx.RequestAborted, () => _model.LoadAdapter(path), "the LoRA adapter").ConfigureAwait(false) is { } error)
                throw ApiException.BadRequest(error, "lora_path");
            if (_adapter is null) _baseVersion = _weightVersion;
            _adapters.Add(name);
            _adapter = name;
            SetVersion(name);
        }
        finally
        {
            _updateLock.Release();
        }
        await Text(ctx, $"Success: LoRA adapter '{name}' added successfully.").ConfigureAwait(false);
    }

    /// <summary>vLLM's <c>/v1/unload_lora_adapter</c>: forgets the name; unloading the adapter served makes the server serve the base again (exactly). 404 for a name it does not hold.</summary>
    private async Task UnloadLoraAdapter(HttpContext ctx)
    {
        var body = await OptionalBody(ctx).ConfigureAwait(false);
        string? name = Field<string>(body, "lora_name");
        if (string.IsNullOrEmpty(name)) throw ApiException.BadRequest("'lora_name' needs to be provided to unload a LoRA adapter.", "lora_name");
        await _updateLock.WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
        try
        {
            if (!_adapters.Remove(name)) throw new ApiException(404, $"The lora adapter '{name}' cannot be found.", "lora_name", "not_found");
            if (_adapter == name)
            {
                await LoadPaused("", PauseMode.Wait, ctx.RequestAborted, _model.SilenceAdapter, "").ConfigureAwait(false);
                _adapter = null;
                SetVersion(_baseVersion);
            }
        }
        finally
        {
            _updateLock.Release();
        }
        await Text(ctx, $"Success: LoRA adapter '{name}' removed successfully.").ConfigureAwait(false);
    }

    /// <summary>The model a request may name: the base while no adapter is served, else the adapter served; null when it may.</summary>
    private ApiException? ModelRefused(string model)
    {
        string? adapter = _adapter;
        if (model == (adapter ?? _name)) return null;
        return model == _name
            ? ApiException.BadRequest($"this server serves the LoRA adapter '{adapter}' on top of '{_name}' now (one adapter at a time): ask for model '{adapter}'", "model")
            : new ApiException(404, $"The model '{Clip(model)}' does not exist; this server serves '{adapter ?? _name}'.", "model", "model_not_found");
    }

    private static async Task Text(HttpContext ctx, string text)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        await ctx.Response.WriteAsync(text, ctx.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A vLLM RLHF step under the update lock: <c>{"message"}</c> on success, <c>{"detail"}</c> (FastAPI's error shape) otherwise.</summary>
    private async Task VllmStep(HttpContext ctx, Func<Task<(int Status, string Message)>> step)
    {
        (int status, string message) result;
        await _updateLock.WaitAsync(ctx.RequestAborted).ConfigureAwait(false);
        try
        {
            result = await step().ConfigureAwait(false);
        }
        finally
        {
            _updateLock.Release();
        }
        if (result.status == 200) await WriteJson(ctx, 200, new JsonObject { ["message"] = result.message }).ConfigureAwait(false);
        else await Detail(ctx, result.status, result.message).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads the checkpoint folder into the served model while no batch decodes: under the client's pause when there is one,
    /// else under one of its own (<paramref name="mode"/>) that ends with the load. Null on success, else why it failed (the
    /// weights are then unchanged: the folder is read and checked whole before any weight is copied).
    /// </summary>
    private async Task<string?> LoadPaused(string path, PauseMode mode, CancellationToken ct, Action? load = null, string what = "the weights")
    {
        bool own = !_scheduler.IsPaused;
        if (own) await _scheduler.PauseAsync(mode, ct).ConfigureAwait(false);
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            (load ?? (() => _model.LoadWeights(path)))();
            if (path.Length > 0) _options.Log?.Invoke($"{what} loaded from {path} in {clock.Elapsed.TotalSeconds:F2} s");
            return null;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or JsonException or ArgumentException or FormatException)
        {
            return $"cannot load {what} from {path}: {e.Message}";
        }
        finally
        {
            if (own) _scheduler.Continue();
        }
    }

    private void SetVersion(string version)
    {
        _weightVersion = version;
        _options.Log?.Invoke($"serving weight version {version}");
    }

    /// <summary>The JSON object of a body that may be empty (the weight-update calls send none, <c>{}</c>, or fields), read as
    /// strictly as a completions body (<see cref="RequestBody"/>: framing, size, UTF-8, duplicate keys).</summary>
    private async Task<JsonObject?> OptionalBody(HttpContext ctx)
    {
        if (await RequestBody.ReadOptionalAsync(ctx.Request, _options.MaxRequestBytes, ctx.RequestAborted).ConfigureAwait(false) is not { } element)
            return null;
        return JsonNode.Parse(element.GetRawText()) as JsonObject ?? throw ApiException.BadRequest("the request body must be a JSON object");
    }

    /// <summary>A string field of an optional body: null when absent or null; 400 naming it when of another type.</summary>
    private static T? Field<T>(JsonObject? body, string name) where T : class
    {
        if (body?[name] is not { } node) return null;
        return node is JsonValue v && v.TryGetValue<T>(out var value) ? value : throw ApiException.BadRequest($"'{name}' must be a string", name);
    }

    /// <summary>A boolean field of an optional body: null when absent or null; 400 naming it when of another type.</summary>
    private static bool? Flag(JsonObject? body, string name)
    {
        if (body?[name] is not { } node) return null;
        return node is JsonValue v && v.TryGetValue<bool>(out var value) ? value : throw ApiException.BadRequest($"'{name}' must be a boolean", name);
    }

    private static Task Detail(HttpContext ctx, int status, string message) => WriteJson(ctx, status, new JsonObject { ["detail"] = message });
}
