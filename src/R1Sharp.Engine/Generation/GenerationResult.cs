namespace R1Sharp.Engine.Generation;

/// <summary>A candidate token and its log-probability.</summary>
public readonly record struct TokenLogProb(int TokenId, string Token, float LogProb);

/// <summary>
/// One generated sample. Every backend fills <see cref="Text"/>, <see cref="FinishReason"/> and
/// <see cref="CompletionTokens"/>; token ids and log-probabilities when it has them (a local model always; an
/// OpenAI-compatible server when it returns them — vLLM with <c>return_token_ids</c> and <c>logprobs</c>).
/// </summary>
/// <param name="Text">The completion text, cut before the stop string that ended it (if one did).</param>
/// <param name="TokenIds">The generated tokens, including the stop token; null when the server did not return them.</param>
/// <param name="LogProbs">log π(token) per generated token (the temperature-scaled distribution); null when not available.</param>
/// <param name="FinishReason">Stop (EOS or a stop string) or Length (token limit).</param>
/// <param name="CompletionTokens">How many tokens were generated.</param>
/// <param name="StopString">The stop string that ended the sample, if one did.</param>
public sealed record GenerationSample(
    string Text,
    IReadOnlyList<int>? TokenIds,
    IReadOnlyList<float>? LogProbs,
    FinishReason FinishReason,
    int CompletionTokens,
    string? StopString = null)
{
    /// <summary>Per generated token, the most probable alternatives (when requested with <see cref="GenerationOptions.TopLogProbs"/>).</summary>
    public IReadOnlyList<IReadOnlyList<TokenLogProb>>? TopLogProbs { get; init; }

    /// <summary>The weights that generated the sample, as the server names them (SGLang's <c>meta_info.weight_version</c>,
    /// <c>r1sharp serve</c>'s <c>weight_version</c>); null when the backend does not know (a local model).</summary>
    public string? WeightVersion { get; init; }

    /// <summary>"stop" or "length", as the OpenAI API spells them.</summary>
    public string FinishReasonText => FinishReason == FinishReason.Stop ? "stop" : "length";
}

/// <summary>The samples drawn for one request.</summary>
/// <param name="PromptTokens">Length of the prompt in tokens (as the backend encoded it).</param>
/// <param name="Samples">N samples, in order.</param>
/// <param name="PromptTokenIds">The prompt's token ids, when known.</param>
public sealed record GenerationResult(int PromptTokens, IReadOnlyList<GenerationSample> Samples, IReadOnlyList<int>? PromptTokenIds = null)
{
    /// <summary>Tokens generated over all samples.</summary>
    public int CompletionTokens => Samples.Sum(s => s.CompletionTokens);
}

/// <summary>A finished request: its position in the list given to the backend, and its result.</summary>
public readonly record struct IndexedResult(int Index, GenerationResult Result);

/// <summary>A piece of streamed text; the last piece also carries the whole sample.</summary>
/// <param name="Text">New text (may be empty).</param>
/// <param name="Final">Set on the last delta: the complete sample.</param>
public sealed record GenerationDelta(string Text, GenerationSample? Final = null);

/// <summary>A request that cannot succeed (bad input, or a server that kept failing); names the request.</summary>
public sealed class GenerationException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>HTTP status of the last failed attempt, for remote backends.</summary>
    public int? StatusCode { get; init; }
}
