using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Server;

/// <summary>Response bodies and stream chunks in the shapes of the OpenAI API (plus vLLM's <c>stop_reason</c> and token ids).</summary>
internal static class Responses
{
    /// <summary>A whole (non-streamed) response. Choice i·n + j is sample j of prompt i.</summary>
    public static JsonObject Complete(string id, long created, string model, ApiRequest request, IReadOnlyList<GenerationResult> results, LocalModel m)
    {
        var choices = new JsonArray();
        int index = 0;
        foreach (var result in results)
            foreach (var sample in result.Samples)
            {
                var choice = new JsonObject { ["index"] = index++ };
                if (request.Chat) choice["message"] = new JsonObject { ["role"] = "assistant", ["content"] = sample.Text };
                else choice["text"] = sample.Text;
                choice["logprobs"] = request.LogProbs ? LogProbs(request, Tokens(sample), m) : null;
                choice["finish_reason"] = sample.FinishReasonText;
                choice["stop_reason"] = StopReason(request, sample.StopString, sample.TokenIds is [.., int last] ? last : null, sample.FinishReason == Engine.FinishReason.Stop, m);
                if (request.ReturnTokenIds)
                {
                    choice["token_ids"] = Ids(sample.TokenIds!);
                    choice["prompt_token_ids"] = Ids(result.PromptTokenIds!);
                }
                choices.Add(choice);
            }
        var response = new JsonObject
        {
            ["id"] = id,
            ["object"] = request.Chat ? "chat.completion" : "text_completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = choices,
            ["usage"] = Usage(results.Sum(r => r.PromptTokens), results.Sum(r => r.CompletionTokens)),
        };
        // With weight updates on: the weights that generated the response (those of its first prompt, when its prompts ran in several batches).
        var versions = results.SelectMany(r => r.Samples).Select(s => s.WeightVersion).Where(v => v is not null).Distinct().ToList();
        if (versions.Count > 0) response["weight_version"] = versions[0];
        return response;
    }

    /// <summary>A generated token with what log-probability output needs.</summary>
    public readonly record struct TokenInfo(int Id, float LogProb, IReadOnlyList<TokenLogProb>? Top);

    /// <summary>
    /// vLLM's <c>stop_reason</c>: the stop string that ended the choice; else the id of a <c>stop_token_ids</c> token that
    /// did, unless it is one of the model's EOS tokens (which vLLM checks first and reports as null); else null.
    /// </summary>
    public static JsonNode? StopReason(ApiRequest request, string? stopString, int? lastToken, bool stopped, LocalModel m) =>
        stopString is not null ? JsonValue.Create(stopString)
        : stopped && lastToken is int t && request.Options.StopTokenIds.Contains(t) && !m.Model.Config.EosTokenIds.Contains(t) && m.Tokenizer?.EosTokenId != t
            ? JsonValue.Create(t) : null;

    public static List<TokenInfo> Tokens(GenerationSample s)
    {
        var list = new List<TokenInfo>(s.CompletionTokens);
        for (int i = 0; i < s.TokenIds!.Count; i++)
            list.Add(new TokenInfo(s.TokenIds[i], s.LogProbs![i], s.TopLogProbs is { } top && i < top.Count ? top[i] : null));
        return list;
    }

    /// <summary>
    /// Completions: <c>{tokens, token_logprobs, top_logprobs, text_offset}</c> (top_logprobs null when logprobs = 0).
    /// Chat: <c>{content: [{token, logprob, bytes, top_logprobs}]}</c>.
    /// </summary>
    public static JsonObject LogProbs(ApiRequest request, IReadOnlyList<TokenInfo> tokens, LocalModel m, int textOffset = 0)
    {
        if (request.Chat)
        {
            var content = new JsonArray();
            foreach (var t in tokens)
            {
                string text = m.TokenText(t.Id);
                content.Add(new JsonObject
                {
                    ["token"] = text,
                    ["logprob"] = t.LogProb,
                    ["bytes"] = Bytes(m.TokenBytes(t.Id)),
                    ["top_logprobs"] = new JsonArray([.. (t.Top ?? []).Select(a => (JsonNode)new JsonObject
                    {
                        ["token"] = a.Token,
                        ["logprob"] = a.LogProb,
                        ["bytes"] = Bytes(m.TokenBytes(a.TokenId)),
                    })]),
                });
            }
            return new JsonObject { ["content"] = content };
        }
        var names = new JsonArray();
        var values = new JsonArray();
        var offsets = new JsonArray();
        JsonArray? tops = request.Options.TopLogProbs > 0 ? new JsonArray() : null;
        foreach (var t in tokens)
        {
            string text = m.TokenText(t.Id);
            names.Add(text);
            values.Add(t.LogProb);
            offsets.Add(textOffset);
            textOffset += text.Length;
            if (tops is not null)
            {
                var entry = new JsonObject();
                // Tokens whose text is alike (byte pieces decode to U+FFFD) share a key: keep the most probable.
                foreach (var a in t.Top ?? [])
                    if (!entry.ContainsKey(a.Token)) entry[a.Token] = a.LogProb;
                tops.Add(entry);
            }
        }
        return new JsonObject { ["tokens"] = names, ["token_logprobs"] = values, ["top_logprobs"] = tops, ["text_offset"] = offsets };
    }

    /// <summary>One stream chunk for one choice.</summary>
    public static JsonObject Chunk(string id, long created, string model, ApiRequest request, int index, string text, string? finish,
        JsonNode? stopReason, JsonObject? logProbs, IReadOnlyList<int>? tokenIds, bool roleOnly = false)
    {
        var choice = new JsonObject { ["index"] = index };
        if (request.Chat)
        {
            var delta = new JsonObject();
            if (roleOnly) { delta["role"] = "assistant"; delta["content"] = ""; }
            else if (text.Length > 0) delta["content"] = text;
            choice["delta"] = delta;
        }
        else
        {
            choice["text"] = text;
        }
        choice["logprobs"] = logProbs;
        choice["finish_reason"] = finish;
        if (finish is not null) choice["stop_reason"] = stopReason;
        if (tokenIds is not null) choice["token_ids"] = Ids(tokenIds);
        var chunk = new JsonObject
        {
            ["id"] = id,
            ["object"] = request.Chat ? "chat.completion.chunk" : "text_completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = new JsonArray(choice),
        };
        // With stream_options.include_usage, OpenAI's chunks all carry "usage": null until the last one (UsageChunk).
        if (request.IncludeUsage) chunk["usage"] = null;
        return chunk;
    }

    /// <summary>The final usage chunk of a stream (stream_options.include_usage): no choices.</summary>
    public static JsonObject UsageChunk(string id, long created, string model, ApiRequest request, int prompt, int completion) => new()
    {
        ["id"] = id,
        ["object"] = request.Chat ? "chat.completion.chunk" : "text_completion",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(),
        ["usage"] = Usage(prompt, completion),
    };

    public static JsonObject Usage(int prompt, int completion) => new()
    {
        ["prompt_tokens"] = prompt,
        ["completion_tokens"] = completion,
        ["total_tokens"] = prompt + completion,
    };

    /// <summary><c>/v1/models</c>: the base, then the LoRA adapter served on it (as vLLM lists one: <c>parent</c> = the base).</summary>
    public static JsonObject Models(string name, long created, int contextLength, string? adapter = null)
    {
        var data = new JsonArray(new JsonObject
        {
            ["id"] = name,
            ["object"] = "model",
            ["created"] = created,
            ["owned_by"] = "r1sharp",
            ["root"] = name,
            ["max_model_len"] = contextLength,
        });
        if (adapter is not null)
            data.Add(new JsonObject { ["id"] = adapter, ["object"] = "model", ["created"] = created, ["owned_by"] = "r1sharp", ["root"] = adapter, ["parent"] = name });
        return new JsonObject { ["object"] = "list", ["data"] = data };
    }

    /// <summary><c>/v1/models/{id}</c>: the model object of that id in <see cref="Models"/>, or null when there is none.</summary>
    public static JsonObject? Model(string id, string name, long created, int contextLength, string? adapter = null) =>
        Models(name, created, contextLength, adapter)["data"]!.AsArray().FirstOrDefault(m => (string?)m!["id"] == id)?.DeepClone().AsObject();

    private static JsonArray Ids(IReadOnlyList<int> ids) => new([.. ids.Select(i => (JsonNode)i)]);

    /// <summary>A token's own bytes (not those of its text, which is U+FFFD for a token that holds part of a character).</summary>
    private static JsonArray Bytes(byte[] bytes) => new([.. bytes.Select(b => (JsonNode)(int)b)]);
}
