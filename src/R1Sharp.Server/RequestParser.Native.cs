using System.Text.Json;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Server;

/// <summary>A validated SGLang-native <c>/generate</c> request.</summary>
/// <param name="Prompts">The inputs, in order.</param>
/// <param name="Single">One input given bare (not in a list) with n = 1: the answer is one object, not a list.</param>
/// <param name="Options">Sampling settings.</param>
/// <param name="MaxTokensGiven">The client set max_new_tokens (otherwise 128, SGLang's default, fitted to the context).</param>
/// <param name="N">Samples per input.</param>
/// <param name="ReturnLogProb">Return <c>meta_info.output_token_logprobs</c>.</param>
/// <param name="TextInLogProbs">Put each token's text in the third place of its log-probability entry (else null).</param>
public sealed record NativeRequest(IReadOnlyList<GenerationPrompt> Prompts, bool Single, GenerationOptions Options, bool MaxTokensGiven, int N,
    bool ReturnLogProb, bool TextInLogProbs);

public static partial class RequestParser
{
    /// <summary>SGLang's default <c>max_new_tokens</c>.</summary>
    public const int NativeDefaultMaxNewTokens = 128;

    private static readonly HashSet<string> NativeFields =
        ["text", "input_ids", "sampling_params", "return_logprob", "stream", "rid", "return_text_in_logprobs", "logprob_start_len", "top_logprobs_num"];

    private static readonly HashSet<string> NativeSamplingFields =
    [
        "max_new_tokens", "temperature", "top_p", "top_k", "min_p", "stop", "stop_token_ids", "n", "skip_special_tokens", "sampling_seed",
        "ignore_eos", "frequency_penalty", "presence_penalty", "repetition_penalty", "no_stop_trim", "spaces_between_special_tokens",
    ];

    /// <summary>
    /// Parses a body of SGLang's native <c>/generate</c> (what rollout fleets send): <c>input_ids</c> (a list of token ids, or
    /// a list of such lists) or <c>text</c> (a string or a list of strings), <c>sampling_params</c>, <c>return_logprob</c>.
    /// Streaming, prompt log-probabilities and alternatives are not implemented (400 when asked for).
    /// </summary>
    /// <exception cref="ApiException">400 naming the field at fault.</exception>
    public static NativeRequest ParseGenerate(JsonElement root, ServerOptions limits, int contextLength)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("the request body must be a JSON object");
        foreach (var p in root.EnumerateObject())
            if (!NativeFields.Contains(p.Name))
                throw ApiException.BadRequest($"Unrecognized request argument supplied: {p.Name}", p.Name, "unknown_field");
        var size = new Sizes(limits, contextLength);
        bool hasIds = root.TryGetProperty("input_ids", out var ids) && ids.ValueKind != JsonValueKind.Null;
        bool hasText = root.TryGetProperty("text", out var text) && text.ValueKind != JsonValueKind.Null;
        if (hasIds == hasText) throw ApiException.BadRequest("give exactly one of 'input_ids' and 'text'", hasIds ? "text" : "input_ids");

        var prompts = new List<GenerationPrompt>();
        bool single;
        if (hasIds)
        {
            if (ids.ValueKind != JsonValueKind.Array || ids.GetArrayLength() == 0)
                throw ApiException.BadRequest("'input_ids' must be a non-empty list of token ids, or a list of such lists", "input_ids");
            single = ids[0].ValueKind == JsonValueKind.Number;
            if (single)
            {
                size.CheckTokenCount(ids.GetArrayLength(), "input_ids");
                prompts.Add(GenerationPrompt.FromTokens(Ids(ids, "input_ids")));
            }
            else
            {
                if (ids.GetArrayLength() > limits.MaxPromptsPerRequest)
                    throw ApiException.BadRequest($"'input_ids' holds {ids.GetArrayLength()} inputs; this server takes at most {limits.MaxPromptsPerRequest} per request", "input_ids");
                foreach (var item in ids.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Array || item.GetArrayLength() == 0)
                        throw ApiException.BadRequest("'input_ids' must be a list of token ids, or a list of non-empty lists of token ids", "input_ids");
                    size.CheckTokenCount(item.GetArrayLength(), "input_ids");
                    prompts.Add(GenerationPrompt.FromTokens(Ids(item, "input_ids")));
                }
            }
        }
        else
        {
            single = text.ValueKind == JsonValueKind.String;
            if (single) prompts.Add(TextPrompt(text, "'text'", size, "text"));
            else if (text.ValueKind == JsonValueKind.Array && text.GetArrayLength() > 0)
            {
                if (text.GetArrayLength() > limits.MaxPromptsPerRequest)
                    throw ApiException.BadRequest($"'text' holds {text.GetArrayLength()} inputs; this server takes at most {limits.MaxPromptsPerRequest} per request", "text");
                foreach (var item in text.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String) throw ApiException.BadRequest("'text' must be a string or a list of strings", "text");
                    prompts.Add(TextPrompt(item, "an item of 'text'", size, "text"));
                }
            }
            else throw ApiException.BadRequest("'text' must be a string or a non-empty list of strings", "text");
        }

        if (Bool(root, "stream") == true) throw NotSupported("stream", "must be false on /generate (use /v1/completions to stream)");
        if (Integer(root, "top_logprobs_num", 0, int.MaxValue) is not null and not 0) throw NotSupported("top_logprobs_num", "must be 0");
        if (Integer(root, "logprob_start_len", -1, int.MaxValue) is not null and not -1) throw NotSupported("logprob_start_len", "must be -1 (no prompt log-probabilities)");
        if (root.TryGetProperty("rid", out var rid) && rid.ValueKind is not (JsonValueKind.String or JsonValueKind.Array or JsonValueKind.Null))
            throw ApiException.BadRequest("'rid' must be a string or a list of strings", "rid");

        var sp = root.TryGetProperty("sampling_params", out var s) && s.ValueKind != JsonValueKind.Null ? s : default;
        if (sp.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Object))
            throw ApiException.BadRequest("'sampling_params' must be an object", "sampling_params");
        GenerationOptions options;
        long? maxNew = null;
        int n = 1;
        if (sp.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in sp.EnumerateObject())
                if (!NativeSamplingFields.Contains(p.Name))
                    throw ApiException.BadRequest($"Unrecognized sampling parameter supplied: {p.Name}", $"sampling_params.{p.Name}", "unknown_field");
            n = (int)(Integer(sp, "n", 1, limits.MaxN) ?? 1);
            maxNew = Integer(sp, "max_new_tokens", 1, size.MaxTokens, $"the model's context is {contextLength} tokens, prompt and completion together");
            double temperature = Number(sp, "temperature", 0, double.MaxValue) ?? 1.0;
            double topP = Number(sp, "top_p", double.Epsilon, 1) ?? 1.0;
            long topK = Integer(sp, "top_k", -1, int.MaxValue) ?? 0;
            double minP = Number(sp, "min_p", 0, 1) ?? 0;
            if (temperature < GreedyTemperature) (temperature, topP, topK, minP) = (0, 1, 0, 0);
            else if (topP < TopOneTopP) (topP, topK) = (1, 1);
            if (Bool(sp, "ignore_eos") == true) throw NotSupported("ignore_eos", "must be false");
            if ((Number(sp, "frequency_penalty", -2, 2) ?? 0) != 0) throw NotSupported("frequency_penalty", "must be 0");
            if ((Number(sp, "presence_penalty", -2, 2) ?? 0) != 0) throw NotSupported("presence_penalty", "must be 0");
            if ((Number(sp, "repetition_penalty", double.Epsilon, double.MaxValue) ?? 1) != 1) throw NotSupported("repetition_penalty", "must be 1");
            Bool(sp, "no_stop_trim");
            Bool(sp, "spaces_between_special_tokens");
            options = new GenerationOptions
            {
                MaxNewTokens = (int)(maxNew ?? 1),
                Temperature = temperature,
                TopP = topP,
                TopK = topK <= 0 ? 0 : (int)topK,
                MinP = minP,
                Stop = Stop(sp),
                StopTokenIds = IntArray(sp, "stop_token_ids"),
                Seed = Integer(sp, "sampling_seed", long.MinValue, long.MaxValue),
                LogProbs = true,
                SkipSpecialTokens = Bool(sp, "skip_special_tokens") ?? true,
            };
        }
        else
        {
            options = new GenerationOptions { MaxNewTokens = 1, LogProbs = true };
        }
        if (maxNew is null)
            options = options with { MaxNewTokens = Math.Max(1, Math.Min(NativeDefaultMaxNewTokens, size.MaxTokens)) };
        if (prompts.Count * n > limits.MaxPromptsPerRequest * limits.MaxN)
            throw ApiException.BadRequest($"{prompts.Count} inputs × n {n} is more than this server takes in one request", "sampling_params.n");
        return new NativeRequest(prompts, single && n == 1, options, maxNew is not null, n,
            Bool(root, "return_logprob") ?? false, Bool(root, "return_text_in_logprobs") ?? false);
    }
}
