using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace R1Sharp.Server;

/// <summary>
/// Reads a request body into a JSON document, turning everything a client can get wrong into an
/// <see cref="ApiException"/> (4xx) before any field is looked at:
/// <list type="bullet">
/// <item>a Content-Type other than JSON (415), a charset other than UTF-8 (415), a Content-Encoding other than identity (415);</item>
/// <item>a body over the size limit (413), a malformed chunked body, a body that ends before its
/// Content-Length or stops arriving (400) — Kestrel reports these as <see cref="BadHttpRequestException"/>;</item>
/// <item>an empty body, bytes that are not UTF-8, malformed JSON or JSON nested deeper than
/// <see cref="MaxDepth"/> (400);</item>
/// <item>strings that do not decode to valid UTF-16 (a lone surrogate escape such as <c>"\ud800"</c>) and
/// objects that repeat a key (400, naming the JSON path).</item>
/// </list>
/// After <see cref="ReadAsync"/> every string of the document can be read with <see cref="JsonElement.GetString"/>
/// without throwing, so the parser's field checks are the only ones left.
/// </summary>
internal static class RequestBody
{
    /// <summary>Nesting allowed in a request (objects and arrays); OpenAI requests need fewer than 10 levels.</summary>
    public const int MaxDepth = 64;

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = MaxDepth };

    public static async Task<JsonElement> ReadAsync(HttpRequest request, long maxBytes, CancellationToken ct) =>
        Parse(await ReadCheckedAsync(request, maxBytes, ct).ConfigureAwait(false));

    /// <summary>As <see cref="ReadAsync"/>, for routes whose body may be left out (the weight-update calls): null when it is
    /// empty or only whitespace.</summary>
    public static async Task<JsonElement?> ReadOptionalAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        if (request.ContentLength == 0) return null;
        var bytes = await ReadCheckedAsync(request, maxBytes, ct).ConfigureAwait(false);
        return bytes.Span.Trim(" \t\r\n"u8).IsEmpty ? null : Parse(bytes);
    }

    /// <summary>The body's bytes, after its Content-Type and Content-Encoding are checked.</summary>
    private static Task<ReadOnlyMemory<byte>> ReadCheckedAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        CheckContentType(request.ContentType);
        CheckContentEncoding(request.Headers.ContentEncoding.ToString());
        return ReadBytesAsync(request, maxBytes, ct);
    }

    /// <summary>JSON, or no Content-Type at all; a charset, if given, must be UTF-8.</summary>
    internal static void CheckContentType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType)) return;
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || media.MediaType.Value is not { } type)
            throw Unsupported($"the Content-Type '{contentType}' cannot be parsed; send 'Content-Type: application/json'");
        bool json = type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                    || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
        if (!json) throw Unsupported($"the Content-Type is '{type}'; this API takes JSON: send 'Content-Type: application/json'");
        if (media.Charset.Value is { Length: > 0 } charset
            && !charset.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            && !charset.Trim('"').Equals("utf8", StringComparison.OrdinalIgnoreCase))
            throw Unsupported($"the request body's charset is '{charset}'; send UTF-8 ('Content-Type: application/json; charset=utf-8')");
    }

    /// <summary>
    /// No content coding but identity: a compressed body is not decoded here, and reading one as JSON would fail with a
    /// misleading encoding error (or, for a body labelled compressed but sent plain, take a guess). RFC 9110 section 8.4: 415.
    /// </summary>
    internal static void CheckContentEncoding(string? contentEncoding)
    {
        if (string.IsNullOrWhiteSpace(contentEncoding)) return;
        var codings = contentEncoding.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (codings.All(c => c.Equals("identity", StringComparison.OrdinalIgnoreCase))) return;
        throw Unsupported($"the request body has Content-Encoding '{contentEncoding}'; this server takes uncompressed bodies: send it without Content-Encoding");
    }

    private static ApiException Unsupported(string message) => new(415, message, code: "unsupported_media_type");

    private static async Task<ReadOnlyMemory<byte>> ReadBytesAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        if (request.ContentLength > maxBytes)
            throw new ApiException(413, $"the request body is larger than {maxBytes} bytes (Content-Length: {request.ContentLength})", code: "body_too_large");
        // Content-Length sizes the buffer only up to 64 KiB: a client that announces 8 MB and sends nothing holds little.
        using var buffer = new MemoryStream((int)Math.Clamp(request.ContentLength ?? 4096, 0, 64 * 1024));
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false);
                }
                catch (BadHttpRequestException e)
                {
                    throw BodyError(e.StatusCode, e.Message, buffer.Length, request.ContentLength, maxBytes);
                }
                catch (IOException e) when (!ct.IsCancellationRequested)
                {
                    // Kestrel reports some framing errors as a plain IOException (a chunk size that overflows).
                    throw BodyError(StatusCodes.Status400BadRequest, e.Message, buffer.Length, request.ContentLength, maxBytes);
                }
                if (read == 0) break;
                if (buffer.Length + read > maxBytes)
                    throw new ApiException(413, $"the request body is larger than {maxBytes} bytes", code: "body_too_large");
                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    /// <summary>What Kestrel found wrong with the framing of the body, as a 4xx in the API's shape.</summary>
    private static ApiException BodyError(int status, string reason, long received, long? contentLength, long maxBytes)
    {
        if (status == StatusCodes.Status413PayloadTooLarge)
            return new ApiException(413, $"the request body is larger than {maxBytes} bytes", code: "body_too_large");
        string what = contentLength is { } length
            ? $"the request body ended or stopped arriving after {received} of the {length} bytes its Content-Length announced"
            : $"the chunked request body is malformed or incomplete after {received} bytes";
        // Kestrel's own words (e.g. "Bad chunk size data.") describe the framing; they hold no server detail.
        return ApiException.BadRequest($"{what} ({reason.TrimEnd('.')})", code: "malformed_body");
    }

    /// <summary>Bytes → a JSON document whose every string is valid Unicode and whose objects have unique keys.</summary>
    internal static JsonElement Parse(ReadOnlyMemory<byte> body)
    {
        var bytes = body.Span;
        if (bytes.StartsWith(Encoding.UTF8.Preamble)) body = body[Encoding.UTF8.Preamble.Length..];
        bytes = body.Span;
        if (bytes.Trim(" \t\r\n"u8).IsEmpty)
            throw ApiException.BadRequest("the request body is empty; send a JSON object", code: "invalid_json");
        if (!Utf8.IsValid(bytes))
            throw ApiException.BadRequest($"the request body is not valid UTF-8 (invalid byte sequence at byte {FirstInvalidByte(bytes)})", code: "invalid_encoding");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, Options);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid JSON: {e.Message}", code: "invalid_json");
        }
        using (doc)
        {
            Check(doc.RootElement, "$");
            return doc.RootElement.Clone();
        }
    }

    private static int FirstInvalidByte(ReadOnlySpan<byte> bytes)
    {
        int at = 0;
        while (at < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[at..], out _, out int consumed) != OperationStatus.Done) return at;
            at += consumed;
        }
        return at;
    }

    /// <summary>Every string and key decodes (no lone surrogate escapes); no object repeats a key.</summary>
    private static void Check(JsonElement e, string path)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                CheckString(e, path);
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in e.EnumerateArray()) Check(item, $"{path}[{i++}]");
                break;
            case JsonValueKind.Object:
                HashSet<string>? seen = null;
                foreach (var p in e.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = p.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw ApiException.BadRequest($"a key of the JSON object at {path} is not valid Unicode " +
                                                      "(a lone surrogate such as \\ud800, or a surrogate pair out of order)", code: "invalid_encoding");
                    }
                    if (!(seen ??= new(StringComparer.Ordinal)).Add(name))
                        throw ApiException.BadRequest($"the JSON object at {path} has the key '{name}' twice", code: "duplicate_key");
                    Check(p.Value, $"{path}.{name}");
                }
                break;
        }
    }

    private static void CheckString(JsonElement e, string path)
    {
        try
        {
            _ = e.GetString();
        }
        catch (InvalidOperationException)
        {
            throw ApiException.BadRequest($"the string at {path} is not valid Unicode (a lone surrogate such as \\ud800, or a surrogate pair out of order)",
                code: "invalid_encoding");
        }
    }
}
