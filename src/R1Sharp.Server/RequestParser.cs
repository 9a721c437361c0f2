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
/// Only cheap checks happen here (no tokenisation): sizes are checked before anything is built from them, so a
/// huge prompt or list is refused before the tokenizer or the chat template sees it.
/// </summary>
public static partial class RequestParser
{
    /// <summary>Temperatures below this sample greedily, as in vLLM (<c>_SAMPLING_EPS</c>): dividing float32 logits by a
    /// temperature near zero overflows to infinity and the softmax to NaN.</summary>
    public const double GreedyTemperature = 1e-5;

    /// <summary>
    /// top_p values below this keep only the most probable token, as the nucleus rule does for any top_p under the
    /// top token's probability (≥ 1/vocabulary, and vocabularies are far below 10⁶ tokens). They are sent to the
    /// sampler as top-k 1: top_p itself rounds to 0 in float32 below ~1e-45 and would drop every token.
    /// </summary>
    public const double TopOneTopP = 1e-6;

    /// <summary>The default of <see cref="ServerOptions.MaxPromptCharacters"/>: characters per token of the prompt limit.
    /// Real text averages 3–5 characters per token; 64 leaves room for long runs of whitespace or symbols.</summary>
    public const int CharactersPerPromptToken = 64;

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
        // OpenAI's other chat fields: identifiers and billing that change no output, or features refused unless neutral
        "service_tier", "prompt_cache_key", "safety_identifier", "modalities", "reasoning_effort", "verbosity", "audio", "prediction",
        "web_search_options", "functions", "function_call",
    ];

    private const int MaxTopLogProbs = 20;
    private const int MaxStopStrings = 16;
    private const int MaxStopTokenIds = 1024;

    /// <summary>Parses a request body of <c>/v1/completions</c> (<paramref name="chat"/> false) or <c>/v1/chat/completions</c>.</summary>
    /// <exception cref="ApiException">400 with the field at fault.</exception>
    /// <param name="root">The request body.</param>
    /// <param name="chat">From /v1/chat/completions.</param>
    /// <param name="limits">The server's limits.</param>
    /// <param name="contextLength">The model's context (prompt + completion tokens).</param>
    public static ApiRequest Parse(JsonElement root, bool chat, ServerOptions limits, int contextLength)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("the request body must be a JSON object");
        var known = chat ? ChatFields : CompletionFields;
        foreach (var p in root.EnumerateObject())
            if (!known.Contains(p.Name))
                throw ApiException.BadRequest($"Unrecognized request argument supplied: {p.Name}", p.Name, "unknown_field");

        string model = String(root, "model") ?? throw ApiException.BadRequest("'model' is required", "model");
        var size = new Sizes(limits, contextLength);
        var prompts = chat ? [ParseMessages(root, size)] : ParsePrompts(root, limits, size);

        int n = (int)(Integer(root, "n", 1, limits.MaxN) ?? 1);
        string maxTokensField = root.TryGetProperty("max_completion_tokens", out var mct) && mct.ValueKind != JsonValueKind.Null
            ? "max_completion_tokens" : "max_tokens";
        string maxTokensLimit = size.MaxTokens < contextLength - 1
            ? "this server's --max-tokens limit"
            : $"the model's context is {contextLength} tokens, prompt and completion together";
        long? maxTokens = Integer(root, maxTokensField, 1, size.MaxTokens, maxTokensLimit);
        if (maxTokensField != "max_tokens") Integer(root, "max_tokens", 1, size.MaxTokens, maxTokensLimit); // checked even when the other wins

        double temperature = Number(root, "temperature", 0, double.MaxValue) ?? 1.0;
        double topP = Number(root, "top_p", double.Epsilon, 1) ?? 1.0;
        long topK = Integer(root, "top_k", -1, int.MaxValue) ?? 0;
        double minP = Number(root, "min_p", 0, 1) ?? 0;
        if (temperature < GreedyTemperature)
        {
            // Greedy: the filters cannot change the argmax; neutral values let greedy requests share a batch.
            (temperature, topP, topK, minP) = (0, 1, 0, 0);
        }
        else if (topP < TopOneTopP)
        {
            (topP, topK) = (1, 1);
        }
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
        String(root, "service_tier");
        String(root, "prompt_cache_key");
        String(root, "safety_identifier");
        if (root.TryGetProperty("modalities", out var mo) && mo.ValueKind != JsonValueKind.Null
            && !(mo.ValueKind == JsonValueKind.Array && mo.EnumerateArray().All(m => m.ValueKind == JsonValueKind.String && m.GetString() == "text")))
            throw NotSupported("modalities", "only [\"text\"]");
        foreach (var field in new[] { "reasoning_effort", "verbosity", "audio", "prediction", "web_search_options" })
            if (root.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null) throw NotSupported(field, "must be null");
        if (root.TryGetProperty("functions", out var fn) && fn.ValueKind != JsonValueKind.Null && !(fn.ValueKind == JsonValueKind.Array && fn.GetArrayLength() == 0))
            throw NotSupported("functions", "function calling is not implemented");
        if (root.TryGetProperty("function_call", out var fc) && fc.ValueKind != JsonValueKind.Null
            && !(fc.ValueKind == JsonValueKind.String && fc.GetString() is "none" or "auto"))
            throw NotSupported("function_call", "must be \"none\" or \"auto\"");
        if (root.TryGetProperty("metadata", out var md) && md.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
            throw ApiException.BadRequest("'metadata' must be an object", "metadata");
        if (Bool(root, "add_generation_prompt") == false) throw NotSupported("add_generation_prompt", "must be true");
    }

    private static ApiException NotSupported(string field, string rule) =>
        ApiException.BadRequest($"'{field}' is not supported by this server: {rule}", field, "unsupported_parameter");

    /// <summary>The size limits of one request, from the server's options and the model's context.</summary>
    private sealed class Sizes(ServerOptions limits, int contextLength)
    {
        public int Context { get; } = contextLength;

        /// <summary>Prompt tokens: <see cref="ServerOptions.MaxPromptTokens"/>, and at most the context less one token to generate.</summary>
        public int MaxPromptTokens { get; } = Math.Max(0, Math.Min(limits.MaxPromptTokens ?? int.MaxValue, contextLength - 1));

        /// <summary>max_tokens: <see cref="ServerOptions.MaxTokens"/> (--max-tokens), and at most the context less one prompt token.</summary>
        public int MaxTokens { get; } = Math.Max(0, Math.Min(limits.MaxTokens ?? int.MaxValue, contextLength - 1));

        public long MaxPromptCharacters => limits.MaxPromptCharacters ?? (long)CharactersPerPromptToken * MaxPromptTokens;

        /// <summary>Refuses text longer than the character limit, before it is tokenised.</summary>
        public void CheckCharacters(long characters, string param, string what)
        {
            if (characters > MaxPromptCharacters)
                throw ApiException.BadRequest($"{what} has {characters} characters; this server takes prompts of at most {MaxPromptCharacters} characters " +
                                              (limits.MaxPromptCharacters is null
                                                  ? $"({CharactersPerPromptToken} per token of its {MaxPromptTokens}-token prompt limit)"
                                                  : "(its --max-prompt-chars limit)"),
                    param, "prompt_too_long");
        }

        /// <summary>Refuses a token-id prompt longer than the prompt limit, before its ids are read.</summary>
        public void CheckTokenCount(int tokens, string param)
        {
            if (tokens > MaxPromptTokens)
                throw ApiException.BadRequest($"This model's maximum context length is {Context} tokens and this server takes prompts of up to " +
                                              $"{MaxPromptTokens} tokens. However, your prompt has {tokens} tokens.", param, "context_length_exceeded");
        }
    }

    private static List<GenerationPrompt> ParsePrompts(JsonElement root, ServerOptions limits, Sizes size)
    {
        if (!root.TryGetProperty("prompt", out var p) || p.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest("'prompt' is required", "prompt");
        var prompts = new List<GenerationPrompt>();
        switch (p.ValueKind)
        {
            case JsonValueKind.String:
                prompts.Add(TextPrompt(p, "'prompt'", size));
                break;
            case JsonValueKind.Array when p.GetArrayLength() == 0:
                throw ApiException.BadRequest("'prompt' is an empty list", "prompt");
            case JsonValueKind.Array when p[0].ValueKind == JsonValueKind.Number:
                size.CheckTokenCount(p.GetArrayLength(), "prompt");
                prompts.Add(GenerationPrompt.FromTokens(Ids(p, "prompt")));
                break;
            case JsonValueKind.Array:
                if (p.GetArrayLength() > limits.MaxPromptsPerRequest)
                    throw ApiException.BadRequest($"'prompt' holds {p.GetArrayLength()} prompts; this server takes at most {limits.MaxPromptsPerRequest} per request", "prompt");
                int index = 0;
                foreach (var item in p.EnumerateArray())
                {
                    switch (item.ValueKind)
                    {
                        case JsonValueKind.String:
                            prompts.Add(TextPrompt(item, $"'prompt[{index}]'", size));
                            break;
                        case JsonValueKind.Array when item.GetArrayLength() > 0:
                            size.CheckTokenCount(item.GetArrayLength(), "prompt");
                            prompts.Add(GenerationPrompt.FromTokens(Ids(item, "prompt")));
                            break;
                        case JsonValueKind.Array:
                            throw ApiException.BadRequest($"'prompt[{index}]' is an empty list", "prompt");
                        default:
                            throw ApiException.BadRequest($"'prompt[{index}]' is {Kind(item)}; 'prompt' must be a string, a list of strings, a list of token ids, or a list of such lists", "prompt");
                    }
                    index++;
                }
                break;
            default:
                throw ApiException.BadRequest($"'prompt' is {Kind(p)}; it must be a string, a list of strings, a list of token ids, or a list of such lists", "prompt");
        }
        return prompts;
    }

    private static GenerationPrompt TextPrompt(JsonElement e, string what, Sizes size, string param = "prompt")
    {
        string text = e.GetString()!;
        size.CheckCharacters(text.Length, param, what);
        return text.Length == 0 ? throw ApiException.BadRequest($"{what} is empty", param) : GenerationPrompt.FromText(text);
    }

    /// <summary>"a number", "an object", … for messages about a value of the wrong type.</summary>
    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static int[] Ids(JsonElement array, string field)
    {
        var ids = new int[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out ids[i]) || ids[i] < 0)
                throw ApiException.BadRequest($"'{field}' holds {Clip(item.GetRawText())}, which is not a token id", field);
            i++;
        }
        return ids;
    }

    private static GenerationPrompt ParseMessages(JsonElement root, Sizes size)
    {
        if (!root.TryGetProperty("messages", out var m) || m.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest("'messages' is required", "messages");
        if (m.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("'messages' must be a list", "messages");
        if (m.GetArrayLength() == 0) throw ApiException.BadRequest("'messages' is empty", "messages");
        // Every message of a chat template takes at least one token (its role marker): more messages than prompt
        // tokens cannot fit, and are refused before the template renders them.
        if (m.GetArrayLength() > size.MaxPromptTokens)
            throw ApiException.BadRequest($"'messages' holds {m.GetArrayLength()} messages; a prompt of at most {size.MaxPromptTokens} tokens " +
                                          "cannot hold more messages than tokens", "messages", "context_length_exceeded");
        var messages = new List<ChatMessage>();
        long characters = 0;
        int index = 0;
        foreach (var item in m.EnumerateArray())
        {
            string where = $"messages[{index++}]";
            if (item.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{where}' must be an object", where);
            string role = String(item, "role", $"{where}.role") ?? throw ApiException.BadRequest($"'{where}.role' is required", $"{where}.role");
            if (role is not ("system" or "developer" or "user" or "assistant" or "tool"))
                throw ApiException.BadRequest($"'{where}.role' is '{role}'; expected system, developer, user, assistant or tool", $"{where}.role");
            var message = new ChatMessage(role == "developer" ? "system" : role, Content(item, where))
            {
                ReasoningContent = String(item, "reasoning_content", $"{where}.reasoning_content"),
                Name = String(item, "name", $"{where}.name"),
                ToolCallId = String(item, "tool_call_id", $"{where}.tool_call_id"),
            };
            characters += message.Content.Length + (message.ReasoningContent?.Length ?? 0) + (message.Name?.Length ?? 0) + (message.ToolCallId?.Length ?? 0);
            size.CheckCharacters(characters, "messages", "'messages'");
            messages.Add(message);
        }
        Dictionary<string, object?>? context = null;
        if (root.TryGetProperty("chat_template_kwargs", out var kw) && kw.ValueKind != JsonValueKind.Null)
        {
            if (kw.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'chat_template_kwargs' must be an object", "chat_template_kwargs");
            context = [];
            foreach (var p in kw.EnumerateObject())
            {
                if (p.Name is "messages" or "add_generation_prompt")
                    throw ApiException.BadRequest($"'chat_template_kwargs.{p.Name}' is set by the request itself, not by chat_template_kwargs", "chat_template_kwargs");
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
            text.Append(String(part, "text", $"{where}.content.text")
                        ?? throw ApiException.BadRequest($"'{where}.content.text' is required in a text part", $"{where}.content.text"));
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
            if (s.GetArrayLength() > MaxStopStrings) throw ApiException.BadRequest($"'stop' holds {s.GetArrayLength()} strings; at most {MaxStopStrings}", "stop");
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
        if (a.GetArrayLength() > MaxStopTokenIds) throw ApiException.BadRequest($"'{field}' holds {a.GetArrayLength()} ids; at most {MaxStopTokenIds}", field);
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
        if (!v.TryGetDouble(out double x) || !double.IsFinite(x)) // a literal beyond ±1.8e308
            throw ApiException.BadRequest($"'{field}' is {Clip(v.GetRawText())}, which is not a finite number; it must be {Range(min, max)}", field);
        if (x < min || x > max)
            throw ApiException.BadRequest($"'{field}' is {Clip(v.GetRawText())}; it must be {Range(min, max)}", field);
        return x;
    }

    /// <param name="e">The object holding the field.</param>
    /// <param name="field">Its name.</param>
    /// <param name="min">Smallest value allowed.</param>
    /// <param name="max">Largest value allowed.</param>
    /// <param name="why">Said after the range when the value is out of it (where the limit comes from).</param>
    private static long? Integer(JsonElement e, string field, long min, long max, string? why = null)
    {
        if (!e.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw ApiException.BadRequest($"'{field}' must be an integer", field);
        string range = $"it must be {Range(min, max)}{(why is null ? "" : $" ({why})")}";
        if (v.TryGetInt64(out long x))
            return x >= min && x <= max ? x : throw ApiException.BadRequest($"'{field}' is {x}; {range}", field);
        // An integer written with a fraction or an exponent (3.0, 1e3: Python's json.dumps of a float) is that integer, as
        // vLLM's and SGLang's fields take it; a fraction that is not zero is not an integer.
        bool finite = v.TryGetDouble(out double d) && double.IsFinite(d);
        if (finite && Math.Floor(d) != d)
            throw ApiException.BadRequest($"'{field}' is {Clip(v.GetRawText())}, which is not an integer", field);
        if (!finite || d < min || d >= max + 1.0) // max + 1.0: long.MaxValue rounds up to 2^63 as a double
            throw ApiException.BadRequest($"'{field}' is {Clip(v.GetRawText())}, which is out of range; {range}", field);
        return (long)d;
    }

    /// <summary>A client's literal, cut to a readable length for an error message.</summary>
    private static string Clip(string raw) => raw.Length <= 40 ? raw : raw[..37] + "...";

    private static string Range(double min, double max)
    {
        static string F(double x) => x.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (max >= int.MaxValue) return min == double.Epsilon ? "above 0" : min <= long.MinValue ? "a 64-bit integer" : $"at least {F(min)}";
        return min == double.Epsilon ? $"in (0, {F(max)}]" : $"in [{F(min)}, {F(max)}]";
    }
}
