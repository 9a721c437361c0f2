using System.Text.Json;
using R1Sharp.Engine.Generation;
using R1Sharp.Text.Templates;

namespace R1Sharp.Server;

/// <summary>A validated completions or chat-completions request.</summary>
/// <param name="Chat">From <c>/v1/chat/completions</c>.</param>
/// <param name="Model">The requested model name.</param>
/// <param name="Prompts">One prompt (chat, or a completions prompt), or several (a completions list prompt).</param>
/// <param name="Options">Sampling settings; <see cref="GenerationOptions.MaxNewTokens"/> is meaningful only when <paramref name="MaxTokensGiven"/>.</param>
/// <param name="MaxTokensGiven">The client set max_tokens / max_completion_tokens (otherwise the server picks).</param>
/// <param name="N">Samples per prompt.</param>
/// <param name="Stream">Answer with server-sent events.</param>
/// <param name="IncludeUsage">Streaming: end with a usage chunk (stream_options.include_usage).</param>
/// <param name="LogProbs">Return log-probabilities.</param>
/// <param name="ReturnTokenIds">vLLM extra: return prompt and completion token ids.</param>
public sealed record ApiRequest(bool Chat, string Model, IReadOnlyList<GenerationPrompt> Prompts, GenerationOptions Options,
    bool MaxTokensGiven, int N, bool Stream, bool IncludeUsage, bool LogProbs, bool ReturnTokenIds);

/// <summary>
/// Parses and validates request bodies. Every problem is a 400 naming the field (<c>param</c>): malformed
/// JSON, a field of the wrong type, a value out of range, a field this API does not know (as OpenAI answers:
/// "Unrecognized request argument supplied"), or a known feature this server does not implement with a
/// non-neutral value (penalties, logit bias, echo, tools, images).
/// </summary>
public static class RequestParser
{
    private static readonly HashSet<string> Common =
    [
        "model", "max_tokens", "temperature", "top_p", "n", "stream", "stream_options", "stop", "seed", "logprobs",
        "presence_penalty", "frequency_penalty", "logit_bias", "user",
        // vLLM extras
        "top_k", "min_p", "stop_token_ids", "return_token_ids", "skip_special_tokens", "repetition_penalty", "ignore_eos",
        "include_stop_str_in_output",
    ];

    private static readonly HashSet<string> CompletionFields = [.. Common, "prompt", "suffix", "echo", "best_of", "max_completion_tokens"];

    private static readonly HashSet<string> ChatFields =
    [
        .. Common, "messages", "max_completion_tokens", "top_logprobs", "response_format", "tools", "tool_choice",
        "parallel_tool_calls", "store", "metadata", "chat_template_kwargs", "add_generation_prompt",
    ];

    private const int MaxTopLogProbs = 20;
    private const int MaxStopStrings = 16;

    /// <summary>Parses a request body of <c>/v1/completions</c> (<paramref name="chat"/> false) or <c>/v1/chat/completions</c>.</summary>
    /// <exception cref="ApiException">400 with the field at fault.</exception>
    public static ApiRequest Parse(JsonElement root, bool chat, ServerOptions limits)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("the request body must be a JSON object");
        var known = chat ? ChatFields : CompletionFields;
        foreach (var p in root.EnumerateObject())
            if (!known.Contains(p.Name))
                throw ApiException.BadRequest($"Unrecognized request argument supplied: {p.Name}", p.Name, "unknown_field");

        string model = String(root, "model") ?? throw ApiException.BadRequest("'model' is required", "model");
        var prompts = chat ? [ParseMessages(root)] : ParsePrompts(root, limits);

        int n = (int)(Integer(root, "n", 1, limits.MaxN) ?? 1);
        long? maxTokens = Integer(root, "max_completion_tokens", 1, int.MaxValue) ?? Integer(root, "max_tokens", 1, int.MaxValue);
        int maxTokensLimit = limits.MaxTokens ?? int.MaxValue;
        if (maxTokens > maxTokensLimit)
            throw ApiException.BadRequest($"max_tokens is {maxTokens}; this server allows at most {maxTokensLimit}",
                root.TryGetProperty("max_completion_tokens", out _) ? "max_completion_tokens" : "max_tokens");

        double temperature = Number(root, "temperature", 0, double.MaxValue) ?? 1.0;
        double topP = Number(root, "top_p", double.Epsilon, 1) ?? 1.0;
        long topK = Integer(root, "top_k", -1, int.MaxValue) ?? 0;
        double minP = Number(root, "min_p", 0, 1) ?? 0;
        long? seed = Integer(root, "seed", long.MinValue, long.MaxValue);
        var stop = Stop(root);
        var stopIds = IntArray(root, "stop_token_ids");
        bool stream = Bool(root, "stream") ?? false;
        bool includeUsage = false;
        if (root.TryGetProperty("stream_options", out var so) && so.ValueKind != JsonValueKind.Null)
        {
            if (!stream) throw ApiException.BadRequest("stream_options is only allowed when stream is true", "stream_options");
            if (so.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'stream_options' must be an object", "stream_options");
            foreach (var p in so.EnumerateObject())
                if (p.Name is not ("include_usage" or "continuous_usage_stats"))
                    throw ApiException.BadRequest($"Unrecognized request argument supplied: stream_options.{p.Name}", "stream_options", "unknown_field");
            includeUsage = Bool(so, "include_usage", "stream_options.include_usage") ?? false;
        }

        bool logProbs;
        int topLogProbs;
        if (chat)
        {
            logProbs = Bool(root, "logprobs") ?? false;
            topLogProbs = (int)(Integer(root, "top_logprobs", 0, MaxTopLogProbs) ?? 0);
            if (topLogProbs > 0 && !logProbs) throw ApiException.BadRequest("top_logprobs needs logprobs: true", "top_logprobs");
        }
        else
        {
            long? k = Integer(root, "logprobs", 0, MaxTopLogProbs);
            logProbs = k is not null;
            topLogProbs = (int)(k ?? 0);
        }

        Unsupported(root, limits: n);
        var options = new GenerationOptions
        {
            MaxNewTokens = (int)(maxTokens ?? 1),
            Temperature = temperature,
            TopP = topP,
            TopK = topK <= 0 ? 0 : (int)topK,
            MinP = minP,
            Stop = stop,
            StopTokenIds = stopIds,
            Seed = seed,
            LogProbs = logProbs,
            TopLogProbs = topLogProbs,
            SkipSpecialTokens = Bool(root, "skip_special_tokens") ?? true,
        };
        return new ApiRequest(chat, model, prompts, options, maxTokens is not null, n, stream, includeUsage, logProbs,
            Bool(root, "return_token_ids") ?? false);
    }

    /// <summary>Known OpenAI/vLLM features this server does not implement: accepted only with their neutral value.</summary>
    private static void Unsupported(JsonElement root, int limits)
    {
        if ((Number(root, "presence_penalty", -2, 2) ?? 0) != 0) throw NotSupported("presence_penalty", "must be 0");
        if ((Number(root, "frequency_penalty", -2, 2) ?? 0) != 0) throw NotSupported("frequency_penalty", "must be 0");
        if ((Number(root, "repetition_penalty", double.Epsilon, double.MaxValue) ?? 1) != 1) throw NotSupported("repetition_penalty", "must be 1");
        if (root.TryGetProperty("logit_bias", out var lb) && lb.ValueKind != JsonValueKind.Null)
        {
            if (lb.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'logit_bias' must be an object", "logit_bias");
            if (lb.EnumerateObject().Any()) throw NotSupported("logit_bias", "must be empty");
        }
        if (Bool(root, "ignore_eos") == true) throw NotSupported("ignore_eos", "must be false");
        if (Bool(root, "include_stop_str_in_output") == true) throw NotSupported("include_stop_str_in_output", "must be false");
        String(root, "user");
        // completions
        if (Bool(root, "echo") == true) throw NotSupported("echo", "must be false (prompt log-probabilities are not computed)");
        if (String(root, "suffix") is { Length: > 0 }) throw NotSupported("suffix", "must be empty (no fill-in-the-middle)");
        if (Integer(root, "best_of", 1, int.MaxValue) is { } bestOf && bestOf != limits)
            throw NotSupported("best_of", "must equal n");
        // chat
        if (root.TryGetProperty("response_format", out var rf) && rf.ValueKind != JsonValueKind.Null)
        {
            if (rf.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'response_format' must be an object", "response_format");
            if (String(rf, "type", "response_format.type") is { } type && type != "text") throw NotSupported("response_format", "only {\"type\": \"text\"}");
        }
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind != JsonValueKind.Null)
        {
            if (tools.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("'tools' must be a list", "tools");
            if (tools.GetArrayLength() > 0) throw NotSupported("tools", "tool calling is not implemented");
        }
        if (root.TryGetProperty("tool_choice", out var tc) && tc.ValueKind != JsonValueKind.Null
            && !(tc.ValueKind == JsonValueKind.String && tc.GetString() is "none" or "auto"))
            throw NotSupported("tool_choice", "must be \"none\" or \"auto\"");
        Bool(root, "parallel_tool_calls");
        Bool(root, "store");
        if (root.TryGetProperty("metadata", out var md) && md.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            throw ApiException.BadRequest("'metadata' must be an object", "metadata");
        if (Bool(root, "add_generation_prompt") == false) throw NotSupported("add_generation_prompt", "must be true");
    }

    private static ApiException NotSupported(string field, string rule) =>
        ApiException.BadRequest($"'{field}' is not supported by this server: {rule}", field, "unsupported_parameter");

    private static List<GenerationPrompt> ParsePrompts(JsonElement root, ServerOptions limits)
    {
        if (!root.TryGetProperty("prompt", out var p) || p.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest("'prompt' is required", "prompt");
        var prompts = new List<GenerationPrompt>();
        switch (p.ValueKind)
        {
            case JsonValueKind.String:
                prompts.Add(TextPrompt(p.GetString()!));
                break;
            case JsonValueKind.Array when p.GetArrayLength() == 0:
                throw ApiException.BadRequest("'prompt' is an empty list", "prompt");
            case JsonValueKind.Array when p[0].ValueKind == JsonValueKind.Number:
                prompts.Add(GenerationPrompt.FromTokens(Ids(p, "prompt")));
                break;
            case JsonValueKind.Array:
                foreach (var item in p.EnumerateArray())
                    prompts.Add(item.ValueKind switch
                    {
                        JsonValueKind.String => TextPrompt(item.GetString()!),
                        JsonValueKind.Array when item.GetArrayLength() > 0 => GenerationPrompt.FromTokens(Ids(item, "prompt")),
                        _ => throw ApiException.BadRequest("'prompt' must be a string, a list of strings, a list of token ids, or a list of such lists", "prompt"),
                    });
                break;
            default:
                throw ApiException.BadRequest("'prompt' must be a string, a list of strings, a list of token ids, or a list of such lists", "prompt");
        }
        if (prompts.Count > limits.MaxPromptsPerRequest)
            throw ApiException.BadRequest($"'prompt' holds {prompts.Count} prompts; this server takes at most {limits.MaxPromptsPerRequest} per request", "prompt");
        return prompts;
    }

    private static GenerationPrompt TextPrompt(string text) =>
        text.Length == 0 ? throw ApiException.BadRequest("'prompt' is empty", "prompt") : GenerationPrompt.FromText(text);

    private static int[] Ids(JsonElement array, string field)
    {
        var ids = new int[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out ids[i]) || ids[i] < 0)
                throw ApiException.BadRequest($"'{field}' holds {item.GetRawText()}, which is not a token id", field);
            i++;
        }
        return ids;
    }

    private static GenerationPrompt ParseMessages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var m) || m.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest("'messages' is required", "messages");
        if (m.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("'messages' must be a list", "messages");
        if (m.GetArrayLength() == 0) throw ApiException.BadRequest("'messages' is empty", "messages");
        var messages = new List<ChatMessage>();
        int index = 0;
        foreach (var item in m.EnumerateArray())
        {
            string where = $"messages[{index++}]";
            if (item.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{where}' must be an object", where);
            string role = String(item, "role", $"{where}.role") ?? throw ApiException.BadRequest($"'{where}.role' is required", $"{where}.role");
            if (role is not ("system" or "developer" or "user" or "assistant" or "tool"))
                throw ApiException.BadRequest($"'{where}.role' is '{role}'; expected system, developer, user, assistant or tool", $"{where}.role");
            messages.Add(new ChatMessage(role == "developer" ? "system" : role, Content(item, where))
            {
                ReasoningContent = String(item, "reasoning_content", $"{where}.reasoning_content"),
                Name = String(item, "name", $"{where}.name"),
                ToolCallId = String(item, "tool_call_id", $"{where}.tool_call_id"),
            });
        }
        Dictionary<string, object?>? context = null;
        if (root.TryGetProperty("chat_template_kwargs", out var kw) && kw.ValueKind != JsonValueKind.Null)
        {
            if (kw.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'chat_template_kwargs' must be an object", "chat_template_kwargs");
            context = [];
            foreach (var p in kw.EnumerateObject())
                context[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString(),
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Null => null,
                    JsonValueKind.Number when p.Value.TryGetInt64(out long l) => l,
                    JsonValueKind.Number => p.Value.GetDouble(),
                    _ => throw ApiException.BadRequest($"'chat_template_kwargs.{p.Name}' must be a string, number, boolean or null", "chat_template_kwargs"),
                };
        }
        return GenerationPrompt.FromChat(messages, context);
    }

    /// <summary>A message's content: a string, null, or a list of text parts (joined).</summary>
    private static string Content(JsonElement message, string where)
    {
        if (!message.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null) return "";
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"'{where}.content' must be a string or a list of parts", $"{where}.content");
        var text = new System.Text.StringBuilder();
        foreach (var part in c.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{where}.content' parts must be objects", $"{where}.content");
            string type = String(part, "type", $"{where}.content.type") ?? "";
            if (type != "text") throw NotSupported($"{where}.content", $"only text parts (got a '{type}' part)");
            text.Append(String(part, "text", $"{where}.content.text") ?? "");
        }
        return text.ToString();
    }

    private static List<string> Stop(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var s) || s.ValueKind == JsonValueKind.Null) return [];
        List<string> stops;
        if (s.ValueKind == JsonValueKind.String) stops = [s.GetString()!];
        else if (s.ValueKind == JsonValueKind.Array)
        {
            stops = [];
            foreach (var item in s.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String) throw ApiException.BadRequest("'stop' must be a string or a list of strings", "stop");
                stops.Add(item.GetString()!);
            }
        }
        else throw ApiException.BadRequest("'stop' must be a string or a list of strings", "stop");
        if (stops.Count > MaxStopStrings) throw ApiException.BadRequest($"'stop' holds {stops.Count} strings; at most {MaxStopStrings}", "stop");
        if (stops.Any(x => x.Length == 0)) throw ApiException.BadRequest("'stop' holds an empty string", "stop");
        return stops;
    }

    private static int[] IntArray(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var a) || a.ValueKind == JsonValueKind.Null) return [];
        if (a.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"'{field}' must be a list of token ids", field);
        return Ids(a, field);
    }

    private static string? String(JsonElement e, string field, string? param = null)
    {
        if (!e.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw ApiException.BadRequest($"'{param ?? field}' must be a string", param ?? field);
    }

    private static bool? Bool(JsonElement e, string field, string? param = null)
    {
        if (!e.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.BadRequest($"'{param ?? field}' must be a boolean", param ?? field),
        };
    }

    private static double? Number(JsonElement e, string field, double min, double max)
    {
        if (!e.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw ApiException.BadRequest($"'{field}' must be a number", field);
        double x = v.GetDouble();
        if (x < min || x > max)
            throw ApiException.BadRequest($"'{field}' is {v.GetRawText()}; it must be {Range(min, max)}", field);
        return x;
    }

    private static long? Integer(JsonElement e, string field, long min, long max)
    {
        if (!e.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x)) throw ApiException.BadRequest($"'{field}' must be an integer", field);
        if (x < min || x > max) throw ApiException.BadRequest($"'{field}' is {x}; it must be {Range(min, max)}", field);
        return x;
    }

    private static string Range(double min, double max)
    {
        static string F(double x) => x.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (max >= int.MaxValue) return min == double.Epsilon ? "above 0" : $"at least {F(min)}";
        return min == double.Epsilon ? $"in (0, {F(max)}]" : $"in [{F(min)}, {F(max)}]";
    }
}
