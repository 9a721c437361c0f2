using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Text.Templates;

namespace R1Sharp.Engine.Generation;

/// <summary>
/// Request bodies and response parsing of the OpenAI completions and chat-completions APIs, with the vLLM extras
/// R1Sharp uses (<c>top_k</c>, <c>min_p</c>, <c>stop_token_ids</c>, <c>return_token_ids</c>,
/// <c>skip_special_tokens</c>, <c>chat_template_kwargs</c>, <c>reasoning_content</c>).
/// </summary>
public static class OpenAiWire
{
    /// <summary>The body for <c>/v1/completions</c> (text or token-id prompt) or <c>/v1/chat/completions</c> (chat prompt).</summary>
    public static JsonObject RequestBody(GenerationRequest request, RemoteBackendOptions remote, bool stream)
    {
        var o = request.Options;
        var prompt = request.Prompt;
        var body = new JsonObject { ["model"] = remote.Model };
        if (prompt.Messages is { } messages)
        {
            body["messages"] = new JsonArray([.. messages.Select(Message)]);
            if (prompt.TemplateContext is { Count: > 0 } context)
                body["chat_template_kwargs"] = JsonSerializer.SerializeToNode(context);
        }
        else if (prompt.TokenIds is { } ids)
        {
            body["prompt"] = new JsonArray([.. ids.Select(i => (JsonNode)i)]);
        }
        else
        {
            body["prompt"] = prompt.Text;
        }
        body["max_tokens"] = o.MaxNewTokens;
        body["temperature"] = o.Temperature;
        body["top_p"] = o.TopP;
        body["n"] = stream ? 1 : request.N;
        if (o.TopK > 0) body["top_k"] = o.TopK;
        if (o.MinP > 0) body["min_p"] = o.MinP;
        if (o.Stop.Count > 0) body["stop"] = new JsonArray([.. o.Stop.Select(s => (JsonNode)s)]);
        if (o.StopTokenIds.Count > 0) body["stop_token_ids"] = new JsonArray([.. o.StopTokenIds.Select(i => (JsonNode)i)]);
        if (o.Seed is { } seed) body["seed"] = seed;
        if (!o.SkipSpecialTokens) body["skip_special_tokens"] = false;
        if (o.LogProbs || o.TopLogProbs > 0 || remote.RequestLogProbs)
        {
            if (prompt.IsChat)
            {
                body["logprobs"] = true;
                if (o.TopLogProbs > 0) body["top_logprobs"] = o.TopLogProbs;
            }
            else
            {
                body["logprobs"] = o.TopLogProbs;
            }
        }
        if (remote.RequestTokenIds) body["return_token_ids"] = true;
        if (stream)
        {
            body["stream"] = true;
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }
        foreach (var (key, value) in remote.ExtraBody ?? [])
            body[key] = value?.DeepClone();
        return body;
    }

    private static JsonNode Message(ChatMessage m)
    {
        // reasoning_content is not sent: it is not part of OpenAI's message schema, and R1's chat templates drop
        // earlier turns' reasoning anyway.
        var node = new JsonObject { ["role"] = m.Role, ["content"] = m.Content };
        if (m.Name is not null) node["name"] = m.Name;
        if (m.ToolCallId is not null) node["tool_call_id"] = m.ToolCallId;
        return node;
    }

    /// <summary>
    /// Parses a non-streaming response with <paramref name="n"/> choices. Chat responses whose server split the
    /// reasoning off (vLLM <c>--reasoning-parser</c>: <c>reasoning_content</c> or <c>reasoning</c>) get it back in
    /// the text as <c>&lt;think&gt;\n{reasoning}\n&lt;/think&gt;\n\n{content}</c>, the layout the model wrote.
    /// </summary>
    /// <exception cref="FormatException">The body is not a well-formed response.</exception>
    public static GenerationResult ParseResponse(string json, int n, bool chat)
    {
        using var doc = Parse(json);
        var root = doc.RootElement;
        if (!root.TryGetProperty("choices", out var choicesElement) || choicesElement.ValueKind != JsonValueKind.Array)
            throw new FormatException("response has no 'choices' list");
        var choices = choicesElement.EnumerateArray().ToList();
        if (choices.Count != n) throw new FormatException($"response has {choices.Count} choices, expected {n}");
        choices.Sort((a, b) => Int(a, "index", 0).CompareTo(Int(b, "index", 0)));

        int? usagePrompt = null, usageCompletion = null;
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            usagePrompt = OptionalInt(usage, "prompt_tokens");
            usageCompletion = OptionalInt(usage, "completion_tokens");
        }
        IReadOnlyList<int>? promptIds = IntList(root, "prompt_token_ids");

        var samples = new List<GenerationSample>(n);
        foreach (var choice in choices)
        {
            promptIds ??= IntList(choice, "prompt_token_ids");
            string text;
            if (chat)
            {
                if (!choice.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
                    throw new FormatException("chat choice has no 'message'");
                text = WithReasoning(OptionalString(message, "reasoning_content") ?? OptionalString(message, "reasoning"),
                    OptionalString(message, "content") ?? "");
            }
            else
            {
                text = OptionalString(choice, "text") ?? throw new FormatException("choice has no 'text'");
            }
            var finish = ParseFinish(OptionalString(choice, "finish_reason"));
            string? stopString = choice.TryGetProperty("stop_reason", out var sr) && sr.ValueKind == JsonValueKind.String ? sr.GetString() : null;
            var tokenIds = IntList(choice, "token_ids");
            var (logProbs, top) = ParseLogProbs(choice, chat);
            int count = tokenIds?.Count ?? logProbs?.Count
                        ?? (usageCompletion is { } total ? (int)Math.Round(total / (double)n) : 0);
            samples.Add(new GenerationSample(text, tokenIds, logProbs, finish, count, stopString) { TopLogProbs = top });
        }
        return new GenerationResult(usagePrompt ?? promptIds?.Count ?? 0, samples, promptIds);
    }

    /// <summary>One chunk of a streamed response: new text (reasoning and content apart), finish reason, token ids, usage.</summary>
    public sealed record StreamChunk(string Reasoning, string Content, string? FinishReason, IReadOnlyList<int>? TokenIds,
        int? PromptTokens, int? CompletionTokens, string? StopReason);

    /// <summary>Parses one <c>data:</c> payload of a streamed response (choice 0 only).</summary>
    public static StreamChunk ParseChunk(string json, bool chat)
    {
        using var doc = Parse(json);
        var root = doc.RootElement;
        int? promptTokens = null, completionTokens = null;
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            promptTokens = OptionalInt(usage, "prompt_tokens");
            completionTokens = OptionalInt(usage, "completion_tokens");
        }
        string reasoning = "", content = "";
        string? finish = null, stop = null;
        IReadOnlyList<int>? ids = null;
        if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
        {
            var choice = choices[0];
            if (chat && choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
            {
                reasoning = OptionalString(delta, "reasoning_content") ?? OptionalString(delta, "reasoning") ?? "";
                content = OptionalString(delta, "content") ?? "";
            }
            else if (!chat)
            {
                content = OptionalString(choice, "text") ?? "";
            }
            finish = OptionalString(choice, "finish_reason");
            stop = choice.TryGetProperty("stop_reason", out var sr) && sr.ValueKind == JsonValueKind.String ? sr.GetString() : null;
            ids = IntList(choice, "token_ids");
        }
        return new StreamChunk(reasoning, content, finish, ids, promptTokens, completionTokens, stop);
    }

    /// <summary>The message of an OpenAI-style error body (<c>{"error": {"message": …}}</c>), or the body itself, shortened.</summary>
    public static string ErrorMessage(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var e))
            {
                if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) return m.GetString()!;
                if (e.ValueKind == JsonValueKind.String) return e.GetString()!;
            }
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.String)
                return msg.GetString()!;
        }
        catch (JsonException)
        {
        }
        return body.Length > 300 ? body[..300] + "…" : body;
    }

    /// <summary>"length" is Length; "stop", "eos" and tool calls are Stop; "abort" (the server gave up) is an error.</summary>
    public static FinishReason ParseFinish(string? reason) => reason switch
    {
        "length" => FinishReason.Length,
        "abort" => throw new FormatException("the server aborted the request (finish_reason 'abort')"),
        _ => FinishReason.Stop,
    };

    /// <summary>Reasoning split off by the server, put back in front of the answer.</summary>
    public static string WithReasoning(string? reasoning, string content) =>
        string.IsNullOrEmpty(reasoning) ? content : "<think>\n" + reasoning.Trim('\n') + "\n</think>\n\n" + content.TrimStart('\n');

    private static (IReadOnlyList<float>?, IReadOnlyList<IReadOnlyList<TokenLogProb>>?) ParseLogProbs(JsonElement choice, bool chat)
    {
        if (!choice.TryGetProperty("logprobs", out var lp) || lp.ValueKind != JsonValueKind.Object) return (null, null);
        var values = new List<float>();
        var tops = new List<IReadOnlyList<TokenLogProb>>();
        bool anyTop = false;
        if (chat)
        {
            if (!lp.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array) return (null, null);
            foreach (var item in content.EnumerateArray())
            {
                values.Add(Float(item, "logprob"));
                var list = new List<TokenLogProb>();
                if (item.TryGetProperty("top_logprobs", out var t) && t.ValueKind == JsonValueKind.Array)
                    foreach (var alt in t.EnumerateArray())
                        list.Add(new TokenLogProb(-1, OptionalString(alt, "token") ?? "", Float(alt, "logprob")));
                anyTop |= list.Count > 0;
                tops.Add(list);
            }
        }
        else
        {
            if (!lp.TryGetProperty("token_logprobs", out var tl) || tl.ValueKind != JsonValueKind.Array) return (null, null);
            foreach (var v in tl.EnumerateArray()) values.Add(v.ValueKind == JsonValueKind.Number ? v.GetSingle() : float.NaN);
            if (lp.TryGetProperty("top_logprobs", out var tp) && tp.ValueKind == JsonValueKind.Array)
                foreach (var entry in tp.EnumerateArray())
                {
                    var list = new List<TokenLogProb>();
                    if (entry.ValueKind == JsonValueKind.Object)
                        foreach (var p in entry.EnumerateObject())
                            if (p.Value.ValueKind == JsonValueKind.Number) list.Add(new TokenLogProb(-1, p.Name, p.Value.GetSingle()));
                    list.Sort((a, b) => b.LogProb.CompareTo(a.LogProb));
                    anyTop |= list.Count > 0;
                    tops.Add(list);
                }
        }
        return (values, anyTop ? tops : null);
    }

    private static JsonDocument Parse(string json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"response is not valid JSON: {e.Message}", e);
        }
    }

    private static int Int(JsonElement e, string name, int fallback) => OptionalInt(e, name) ?? fallback;

    private static int? OptionalInt(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : null;

    private static float Float(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetSingle() : float.NaN;

    private static string? OptionalString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static IReadOnlyList<int>? IntList(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array) return null;
        var list = new List<int>(v.GetArrayLength());
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int id))
                throw new FormatException($"'{name}' holds a non-integer: {item.GetRawText()}");
            list.Add(id);
        }
        return list;
    }
}
