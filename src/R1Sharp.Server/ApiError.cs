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
        400 or 413 => "invalid_request_error",
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        503 => "service_unavailable_error",
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
}
