using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Engine.Fleet;

/// <summary>
/// One HTTP call to a fleet server with its own deadline: the answer's status and body, or a <see cref="FleetCallException"/>
/// that names the server, the route and what went wrong (no answer within the timeout, the connection refused or cut).
/// </summary>
public sealed class FleetHttp : IDisposable
{
    private readonly HttpClient _http;
    private readonly string? _apiKey;

    public FleetHttp(TimeSpan connectTimeout, int maxConnectionsPerServer, string? apiKey, HttpMessageHandler? handler = null)
    {
        _apiKey = apiKey;
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            MaxConnectionsPerServer = Math.Max(4, maxConnectionsPerServer),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The status and body of <paramref name="method"/> <paramref name="route"/> on <paramref name="root"/> (a body is sent as JSON).</summary>
    /// <exception cref="FleetCallException">No answer within <paramref name="timeout"/>, or the connection failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<(int Status, string Body)> SendAsync(HttpMethod method, Uri root, string route, JsonNode? body, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var url = new Uri(root, route.TrimStart('/'));
        string call = $"{method} {url}";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var message = new HttpRequestMessage(method, url);
        if (body is not null) message.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        if (_apiKey is not null) message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        try
        {
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
            string text = await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
            return ((int)response.StatusCode, text);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FleetCallException($"{call}: no answer within {Seconds(timeout)}");
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new FleetCallException($"{call}: {Innermost(e).Message}", inner: e);
        }
    }

    /// <summary>As <see cref="SendAsync"/>, and a status other than 2xx is a <see cref="FleetCallException"/> quoting the server's message.</summary>
    public async Task<string> CallAsync(HttpMethod method, Uri root, string route, JsonNode? body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var (status, text) = await SendAsync(method, root, route, body, timeout, cancellationToken).ConfigureAwait(false);
        if (status is < 200 or >= 300)
            throw new FleetCallException($"{method} {new Uri(root, route.TrimStart('/'))}: HTTP {status}: {Message(text)}", status);
        return text;
    }

    /// <summary>The message of an error body in the shapes the engines use (<c>{"error": …}</c>, <c>{"detail": …}</c>, <c>{"message": …}</c>), or the body, shortened.</summary>
    public static string Message(string body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject o && o["detail"] is JsonValue detail && detail.TryGetValue<string>(out var d)) return d;
        }
        catch (System.Text.Json.JsonException)
        {
        }
        return OpenAiWire.ErrorMessage(body);
    }

    public static string Seconds(TimeSpan t) => t.TotalSeconds >= 1 ? $"{t.TotalSeconds:0.#} s" : $"{t.TotalMilliseconds:0} ms";

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    public void Dispose() => _http.Dispose();
}
