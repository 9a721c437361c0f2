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
