using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace R1Sharp.Server.Tests;

/// <summary>
/// HTTP/1.1 over a bare TCP socket, for requests HttpClient will not send: bodies that are not UTF-8, malformed
/// chunked framing, a body shorter than its Content-Length. Requests ask for <c>Connection: close</c>, so the
/// response is read to the end of the stream and parsed here (status line, headers, chunked or sized body).
/// </summary>
public static class RawHttp
{
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
    {
        /// <summary>The body as JSON; fails the test with the body when it is not JSON.</summary>
        public JsonNode Json
        {
            get
            {
                try
                {
                    return JsonNode.Parse(Body) ?? throw new InvalidOperationException("null body");
                }
                catch (System.Text.Json.JsonException e)
                {
                    throw new Xunit.Sdk.XunitException($"HTTP {Status} body is not JSON ({e.Message}): {Body}");
                }
            }
        }
    }

    /// <summary>Request bytes: the request line, Host, Connection: close, the given headers (UTF-8), a blank line, the body.</summary>
    public static byte[] Request(string method, string path, IEnumerable<string> headers, byte[] body)
    {
        var head = new StringBuilder($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        foreach (var h in headers) head.Append(h).Append("\r\n");
        head.Append("\r\n");
        return [.. Encoding.UTF8.GetBytes(head.ToString()), .. body];
    }

    /// <summary>A POST with a Content-Length that matches the body (and a Content-Type when given).</summary>
    public static byte[] Post(string path, byte[] body, string? contentType = "application/json") =>
        Request("POST", path, [.. contentType is null ? [] : new[] { $"Content-Type: {contentType}" }, $"Content-Length: {body.Length}"], body);

    /// <summary>
    /// Sends <paramref name="request"/> and reads the whole response. <paramref name="halfClose"/> shuts the
    /// sending side after the request (the server sees the end of the stream while it still can answer).
    /// </summary>
    public static async Task<Response> SendAsync(Uri server, byte[] request, bool halfClose = false, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, cts.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(request, cts.Token);
        await stream.FlushAsync(cts.Token);
        if (halfClose) client.Client.Shutdown(SocketShutdown.Send);
        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0) received.Write(buffer, 0, n);
        }
        catch (IOException) when (received.Length > 0)
        {
            // A reset after the response: what was read is the response.
        }
        return Parse(received.ToArray());
    }

    /// <summary>As <see cref="SendAsync"/>, but null when the server closed or reset the connection without answering.</summary>
    public static async Task<Response?> TrySendAsync(Uri server, byte[] request, bool halfClose = false, TimeSpan? timeout = null)
    {
        try
        {
            return await SendAsync(server, request, halfClose, timeout);
        }
        catch (IOException)
        {
            return null;
        }
        catch (NoResponseException)
        {
            return null;
        }
    }

    /// <summary>The connection ended before a response head arrived.</summary>
    public sealed class NoResponseException(string message) : Exception(message);

    /// <summary>Status line, headers (names lower-cased), and the body decoded from chunked or sized framing.</summary>
    public static Response Parse(byte[] raw)
    {
        int end = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        if (raw.Length == 0) throw new NoResponseException("the connection closed without a response");
        if (end < 0) throw new Xunit.Sdk.XunitException($"no complete HTTP response head in {raw.Length} bytes: {Encoding.ASCII.GetString(raw)}");
        var lines = Encoding.ASCII.GetString(raw, 0, end).Split("\r\n");
        var status = lines[0].Split(' ');
        if (status.Length < 2 || !status[0].StartsWith("HTTP/1.", StringComparison.Ordinal))
            throw new Xunit.Sdk.XunitException($"not an HTTP/1.x status line: {lines[0]}");
        var headers = new Dictionary<string, string>();
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }
        var body = raw.AsSpan(end + 4);
        byte[] content;
        if (headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            content = Dechunk(body);
        else if (headers.TryGetValue("content-length", out var cl))
            content = body[..int.Parse(cl)].ToArray();
        else
            content = body.ToArray();
        return new Response(int.Parse(status[1]), headers, Encoding.UTF8.GetString(content));
    }

    private static byte[] Dechunk(ReadOnlySpan<byte> body)
    {
        var output = new List<byte>();
        while (true)
        {
            int lineEnd = body.IndexOf("\r\n"u8);
            int size = Convert.ToInt32(Encoding.ASCII.GetString(body[..lineEnd]).Split(';')[0].Trim(), 16);
            body = body[(lineEnd + 2)..];
            if (size == 0) return [.. output];
            output.AddRange(body[..size].ToArray());
            body = body[(size + 2)..];
        }
    }
}
