using System.Text.Json.Nodes;

namespace R1Sharp.Engine.Fleet;

/// <summary>
/// How one engine is told to load a checkpoint folder from disk and to name the new weights (docs/distributed.md): the
/// calls in order, each with the fleet's update timeout. Any failed call fails the update with a message that names the
/// server and the call; the caller then takes the server out of rotation.
/// </summary>
public interface IWeightUpdateProtocol
{
    /// <summary>Makes <paramref name="root"/> serve the checkpoint at <paramref name="path"/> (an absolute folder the server can read) as <paramref name="version"/>.</summary>
    /// <exception cref="FleetCallException">A call failed, timed out, or the server said the update failed.</exception>
    Task UpdateAsync(FleetHttp http, Uri root, string path, string version, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>The protocol of <paramref name="options"/>' engine and sync mode.</summary>
    public static IWeightUpdateProtocol For(FleetOptions options) =>
        options.Sync == FleetWeightSync.Adapter ? new VllmLoraAdapterUpdate() : For(options.Engine);

    /// <summary>The protocol of <paramref name="engine"/>.</summary>
    public static IWeightUpdateProtocol For(FleetEngine engine) => engine switch
    {
        FleetEngine.Sglang => new SglangWeightUpdate(),
        FleetEngine.Vllm => new VllmWeightUpdate(),
        FleetEngine.R1sharp => new R1SharpWeightUpdate(),
        _ => throw new ArgumentOutOfRangeException(nameof(engine)),
    };
}

/// <summary>
/// SGLang's HTTP server (<c>python/sglang/srt/entrypoints/http_server.py</c>): <c>POST /pause_generation {"mode": "abort"}</c>
/// (in-flight requests end with finish reason <c>abort</c>; the fleet sends them again), <c>POST /update_weights_from_disk
/// {"model_path", "weight_version"}</c> which answers <c>{"success", "message", "num_paused_requests"}</c> (HTTP 400 with
/// <c>success: false</c> when the load failed; SGLang then keeps its old weights), and <c>POST /continue_generation</c>.
/// After a failed load the server is left paused: it cannot serve the old weights to anyone.
/// </summary>
public class SglangWeightUpdate : IWeightUpdateProtocol
{
    public virtual async Task UpdateAsync(FleetHttp http, Uri root, string path, string version, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await http.CallAsync(HttpMethod.Post, root, "pause_generation", new JsonObject { ["mode"] = "abort" }, timeout, cancellationToken).ConfigureAwait(false);
        var (status, body) = await http.SendAsync(HttpMethod.Post, root, "update_weights_from_disk",
            new JsonObject { ["model_path"] = path, ["weight_version"] = version }, timeout, cancellationToken).ConfigureAwait(false);
        bool success = false;
        string message = FleetHttp.Message(body);
        try
        {
            if (JsonNode.Parse(body) is JsonObject reply)
            {
                success = reply["success"] is JsonValue s && s.TryGetValue<bool>(out var ok) && ok;
                if (reply["message"] is JsonValue m && m.TryGetValue<string>(out var text)) message = text;
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }
        if (status is < 200 or >= 300 || !success)
            throw new FleetCallException($"POST {new Uri(root, "update_weights_from_disk")}: HTTP {status}: the server did not load {path}: {message}", status);
        await http.CallAsync(HttpMethod.Post, root, "continue_generation", new JsonObject(), timeout, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// <c>r1sharp serve --enable-weight-updates</c>: SGLang's three calls (it implements them with the same bodies and replies),
/// then <c>GET /weight_version</c> must name the new version — a server that answered success but serves something else is
/// caught here.
/// </summary>
public sealed class R1SharpWeightUpdate : SglangWeightUpdate
{
    public override async Task UpdateAsync(FleetHttp http, Uri root, string path, string version, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await base.UpdateAsync(http, root, path, version, timeout, cancellationToken).ConfigureAwait(false);
        string body = await http.CallAsync(HttpMethod.Get, root, "weight_version", null, timeout, cancellationToken).ConfigureAwait(false);
        string? served = null;
        try
        {
            served = JsonNode.Parse(body)?["weight_version"]?.GetValue<string>();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
        }
        if (served != version)
            throw new FleetCallException($"GET {new Uri(root, "weight_version")}: the server serves '{served ?? body}' after loading '{version}'");
    }
}

/// <summary>
/// vLLM's RLHF routes (<c>vllm/entrypoints/serve/dev/rlhf/api_router.py</c>, served with <c>VLLM_SERVER_DEV_MODE=1</c> and
/// <c>--weight-transfer-config '{"backend": "disk"}'</c>): <c>POST /pause?mode=abort</c>, <c>POST /start_weight_update</c>,
/// <c>POST /update_weights {"update_info": {"path"}}</c>, <c>POST /finish_weight_update {"weight_version"}</c>, <c>POST /resume</c>.
/// </summary>
public sealed class VllmWeightUpdate : IWeightUpdateProtocol
{
    public async Task UpdateAsync(FleetHttp http, Uri root, string path, string version, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await http.CallAsync(HttpMethod.Post, root, "pause?mode=abort", null, timeout, cancellationToken).ConfigureAwait(false);
        await http.CallAsync(HttpMethod.Post, root, "start_weight_update", null, timeout, cancellationToken).ConfigureAwait(false);
        await http.CallAsync(HttpMethod.Post, root, "update_weights", new JsonObject { ["update_info"] = new JsonObject { ["path"] = path } },
            timeout, cancellationToken).ConfigureAwait(false);
        await http.CallAsync(HttpMethod.Post, root, "finish_weight_update", new JsonObject { ["weight_version"] = version }, timeout, cancellationToken).ConfigureAwait(false);
        await http.CallAsync(HttpMethod.Post, root, "resume", null, timeout, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// vLLM's runtime LoRA routes (<c>vllm/entrypoints/openai/serving_models.py</c> and its API router; served with
/// <c>--enable-lora</c> and <c>VLLM_ALLOW_RUNTIME_LORA_UPDATING=True</c>): <c>POST /v1/load_lora_adapter {"lora_name",
/// "lora_path"}</c> with the adapter folder (PEFT's files) as the new version's name, then <c>POST /v1/unload_lora_adapter
/// {"lora_name"}</c> of the version the server served before. vLLM refuses a name it holds already (HTTP 400 "… has already been
/// loaded", e.g. a version loaded again after the trainer resumed): that name is unloaded and loaded again. An unload answered
/// 404 (the server restarted and holds no such adapter) is not an error. The base weights never change, so nothing is paused:
/// a request in flight with the previous name finishes with the previous adapter (vLLM reloads it from its folder if it was
/// evicted, so the folder must stay on disk for a while: rollout.keep_versions ≥ 2).
/// </summary>
public sealed class VllmLoraAdapterUpdate : IWeightUpdateProtocol
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Uri, string> _loaded = new();

    public async Task UpdateAsync(FleetHttp http, Uri root, string path, string version, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var load = new JsonObject { ["lora_name"] = version, ["lora_path"] = path };
        var (status, body) = await http.SendAsync(HttpMethod.Post, root, "v1/load_lora_adapter", load, timeout, cancellationToken).ConfigureAwait(false);
        if (status == 400 && FleetHttp.Message(body).Contains("already been loaded", StringComparison.Ordinal))
        {
            await Unload(http, root, version, timeout, cancellationToken).ConfigureAwait(false);
            (status, body) = await http.SendAsync(HttpMethod.Post, root, "v1/load_lora_adapter", load.DeepClone(), timeout, cancellationToken).ConfigureAwait(false);
        }
        if (status is < 200 or >= 300)
            throw new FleetCallException($"POST {new Uri(root, "v1/load_lora_adapter")}: HTTP {status}: the server did not load the adapter {path}: {FleetHttp.Message(body)}", status);
        if (_loaded.TryGetValue(root, out var previous) && previous != version)
            await Unload(http, root, previous, timeout, cancellationToken).ConfigureAwait(false);
        _loaded[root] = version;
    }

    private static async Task Unload(FleetHttp http, Uri root, string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (status, body) = await http.SendAsync(HttpMethod.Post, root, "v1/unload_lora_adapter", new JsonObject { ["lora_name"] = name },
            timeout, cancellationToken).ConfigureAwait(false);
        if (status is (< 200 or >= 300) and not 404)
            throw new FleetCallException($"POST {new Uri(root, "v1/unload_lora_adapter")}: HTTP {status}: the server did not unload the adapter '{name}': {FleetHttp.Message(body)}", status);
    }
}
