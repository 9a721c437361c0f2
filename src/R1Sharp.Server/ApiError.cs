using System.Text.Json.Nodes;

namespace R1Sharp.Server;

/// <summary>
/// An error answered with an OpenAI-style body: <c>{"error": {"message", "type", "param", "code"}}</c>.
/// </summary>
public sealed class ApiException(int status, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    /// <summary>OpenAI's error type for the status.</summary>
    public string Type => Status switch
    {
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        503 => "service_unavailable_error",
        >= 400 and < 500 => "invalid_request_error",
        _ => "server_error",
    };

    public JsonObject ToJson() => new()
    {
        ["error"] = new JsonObject
        {
            ["message"] = Message,
            ["type"] = Type,
            ["param"] = Param,
            ["code"] = Code,
        },
    };

    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, param, code);

    /// <summary>
    /// What a client sees of a failure that is the server's fault: no exception text, no stack trace, no path
    /// (libtorch's messages name its source files). The details go to the server's log.
    /// </summary>
    public static ApiException Internal(string what = "the server failed to process the request") =>
        new(500, $"{what}; the error is in the server's log", code: "internal_error");
}
