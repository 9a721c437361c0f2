using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace R1Sharp.Engine.Tests.Fleet;

/// <summary>
/// A fake inference server on a loopback port (<see cref="HttpListener"/>): it records every call (method, path with query,
/// body) and answers with what <see cref="Answer"/> says — by default what SGLang and vLLM answer to their weight-update
/// routes (their success bodies, from their HTTP servers' sources). <see cref="Stop"/> closes the port: connections are
/// refused, as from a dead server; <see cref="Start"/> opens it again on the same port.
/// </summary>
public sealed class RecordingServer : IDisposable
{
    private HttpListener? _listener;
    private readonly List<(string Method, string Path, JsonNode? Body)> _calls = [];
    private CancellationTokenSource _stop = new();

    public RecordingServer(Func<string, string, JsonNode?, Task<(int Status, JsonNode? Body)>>? answer = null)
    {
        Answer = answer ?? Defaults;
        Port = FreePort();
        Start();
    }

    public int Port { get; }
    public Uri Root => new($"http://127.0.0.1:{Port}/");

    /// <summary>(method, path with query, body) → (status, body).</summary>
    public Func<string, string, JsonNode?, Task<(int Status, JsonNode? Body)>> Answer { get; set; }

    public IReadOnlyList<(string Method, string Path, JsonNode? Body)> Calls
    {
        get { lock (_calls) return [.. _calls]; }
    }

    public void ClearCalls()
    {
        lock (_calls) _calls.Clear();
    }

    public void Start()
    {
        _stop = new CancellationTokenSource();
        _listener = new HttpListener();
        _listener.Prefixes.Add(Root.ToString());
        _listener.Start();
        var listener = _listener;
        var stop = _stop.Token;
        _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try
                {
                    ctx = await listener.GetContextAsync();
                }
                catch (Exception) when (stop.IsCancellationRequested || !listener.IsListening)
                {
                    return;
                }
                _ = Task.Run(() => Handle(ctx));
            }
        });
    }

    public void Stop()
    {
        _stop.Cancel();
        _listener?.Abort();
        _listener = null;
    }

    private async Task Handle(HttpListenerContext ctx)
    {
        try
        {
            string text = await new StreamReader(ctx.Request.InputStream, Encoding.UTF8).ReadToEndAsync();
            JsonNode? body = text.Length == 0 ? null : JsonNode.Parse(text);
            string path = ctx.Request.Url!.PathAndQuery;
            lock (_calls) _calls.Add((ctx.Request.HttpMethod, path, body));
            var (status, reply) = await Answer(ctx.Request.HttpMethod, path, body);
            var bytes = Encoding.UTF8.GetBytes(reply?.ToJsonString() ?? "");
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            ctx.Response.ContentLength64 = bytes.Length;
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
        catch (Exception)
        {
            try { ctx.Response.Abort(); } catch (Exception) { }
        }
    }

    /// <summary>SGLang's and vLLM's replies to a successful call, /health and /v1/models.</summary>
    public static Task<(int, JsonNode?)> Defaults(string method, string path, JsonNode? body) => Task.FromResult<(int, JsonNode?)>(path.Split('?')[0] switch
    {
        "/health" => (200, null),
        "/v1/models" => (200, new JsonObject { ["object"] = "list", ["data"] = new JsonArray(new JsonObject { ["id"] = "m", ["object"] = "model" }) }),
        "/pause_generation" => (200, new JsonObject { ["message"] = "Generation paused successfully.", ["status"] = "ok" }),
        "/continue_generation" => (200, new JsonObject { ["message"] = "Generation continued successfully.", ["status"] = "ok" }),
        "/update_weights_from_disk" => (200, new JsonObject
        {
            ["success"] = true, ["message"] = $"Succeeded to update model weights. Weight version updated to {body?["weight_version"]}.", ["num_paused_requests"] = 0,
        }),
        "/pause" => (200, new JsonObject { ["status"] = "paused" }),
        "/resume" => (200, new JsonObject { ["status"] = "resumed" }),
        "/start_weight_update" => (200, new JsonObject { ["message"] = "Weight update started" }),
        "/update_weights" => (200, new JsonObject { ["message"] = "Weights updated" }),
        "/finish_weight_update" => (200, new JsonObject { ["message"] = "Weight update finished" }),
        _ => (404, new JsonObject { ["detail"] = "Not Found" }),
    });

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose() => Stop();
}
