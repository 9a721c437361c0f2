using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Engine.Fleet;

/// <summary>
/// SGLang's native <c>POST /generate</c>, as rollouts use it: the prompt's token ids go as <c>input_ids</c>, once per sample
/// (a batch of n copies: SGLang's prefix cache prefills the prompt once), with <c>return_logprob</c>; each answer carries
/// <c>output_ids</c>, <c>meta_info.output_token_logprobs</c> (<c>[logprob, token_id, text]</c> per generated token),
/// <c>meta_info.finish_reason.type</c> (<c>stop</c>, <c>length</c>, <c>abort</c>) and <c>meta_info.weight_version</c>.
/// </summary>
public static class SglangWire
{
    /// <summary>The body for one request (a token-id or text prompt) with n samples.</summary>
    public static JsonObject RequestBody(GenerationRequest request)
    {
        var o = request.Options;
        var sampling = new JsonObject
        {
            ["max_new_tokens"] = o.MaxNewTokens,
            ["temperature"] = o.Temperature,
            ["top_p"] = o.TopP,
        };
        if (o.TopK > 0) sampling["top_k"] = o.TopK;
        if (o.MinP > 0) sampling["min_p"] = o.MinP;
        if (o.Stop.Count > 0) sampling["stop"] = new JsonArray([.. o.Stop.Select(s => (JsonNode)s)]);
        if (o.StopTokenIds.Count > 0) sampling["stop_token_ids"] = new JsonArray([.. o.StopTokenIds.Select(i => (JsonNode)i)]);
        if (!o.SkipSpecialTokens) sampling["skip_special_tokens"] = false;
        var body = new JsonObject();
        if (request.Prompt.TokenIds is { } ids)
            body["input_ids"] = new JsonArray([.. Enumerable.Range(0, request.N).Select(_ => (JsonNode)new JsonArray([.. ids.Select(i => (JsonNode)i)]))]);
        else if (request.Prompt.Text is { } text)
            body["text"] = new JsonArray([.. Enumerable.Range(0, request.N).Select(_ => (JsonNode)text)]);
        else
            throw new ArgumentException("SGLang's /generate takes token-id or text prompts, not chat messages");
        body["sampling_params"] = sampling;
        body["return_logprob"] = true;
        return body;
    }

    /// <summary>Parses the answer to <see cref="RequestBody"/>: a list of <paramref name="n"/> outputs.</summary>
    /// <exception cref="FormatException">Not such a list, or an output lacks its ids or log-probabilities.</exception>
    /// <exception cref="AbortedException">An output ended with finish reason <c>abort</c> (a pause for a weight update): send it again.</exception>
    public static GenerationResult ParseResponse(string json, int n)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"response is not valid JSON: {e.Message}", e);
        }
        var outputs = root switch
        {
            JsonArray a => a.ToList(),
            JsonObject o when n == 1 => [o],
            _ => throw new FormatException("response is not a list of outputs"),
        };
        if (outputs.Count != n) throw new FormatException($"response has {outputs.Count} outputs, expected {n}");
        var samples = new List<GenerationSample>(n);
        int promptTokens = 0;
        foreach (var output in outputs)
        {
            if (output is not JsonObject item || item["meta_info"] is not JsonObject meta)
                throw new FormatException("an output has no 'meta_info'");
            string finishType = meta["finish_reason"] is JsonObject fr && fr["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : "stop";
            if (finishType == "abort") throw new AbortedException($"the server aborted the request ({meta["finish_reason"]?["message"]?.ToString() ?? "abort"})");
            if (meta["output_token_logprobs"] is not JsonArray logprobs) throw new FormatException("an output has no 'meta_info.output_token_logprobs'");
            var ids = new List<int>(logprobs.Count);
            var values = new List<float>(logprobs.Count);
            foreach (var entry in logprobs)
            {
                if (entry is not JsonArray { Count: >= 2 } pair || pair[0] is not JsonValue lp || pair[1] is not JsonValue id
                    || !lp.TryGetValue<double>(out var logprob) || !id.TryGetValue<int>(out var token))
                    throw new FormatException($"'output_token_logprobs' holds {entry?.ToJsonString() ?? "null"}, not [logprob, token_id, …]");
                ids.Add(token);
                values.Add((float)logprob);
            }
            if (item["output_ids"] is JsonArray outputIds && (outputIds.Count != ids.Count || outputIds.Select((v, i) => v?.GetValue<int>() == ids[i]).Any(same => !same)))
                throw new FormatException("'output_ids' and 'output_token_logprobs' disagree");
            promptTokens = meta["prompt_tokens"] is JsonValue pt && pt.TryGetValue<int>(out var p) ? p : promptTokens;
            string? version = meta["weight_version"] is JsonValue wv && wv.TryGetValue<string>(out var v) ? v : null;
            string text = item["text"] is JsonValue tx && tx.TryGetValue<string>(out var str) ? str : "";
            samples.Add(new GenerationSample(text, ids, values, finishType == "length" ? FinishReason.Length : FinishReason.Stop, ids.Count) { WeightVersion = version });
        }
        return new GenerationResult(promptTokens, samples);
    }
}

/// <summary>The server ended a request without finishing it (a pause for a weight update); it is to be sent again.</summary>
public sealed class AbortedException(string message) : Exception(message);
