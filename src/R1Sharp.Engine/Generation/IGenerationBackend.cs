using System.Runtime.CompilerServices;

namespace R1Sharp.Engine.Generation;

/// <summary>
/// Bulk text generation, the one way R1Sharp generates text at scale: evaluation, rejection sampling and
/// distillation-data generation call it, and run unchanged on the local model
/// (<see cref="LocalGenerationBackend"/>) or on a fleet of OpenAI-compatible servers — vLLM, SGLang, TGI,
/// llama.cpp, <c>r1sharp serve</c> (<see cref="RemoteGenerationBackend"/>).
/// </summary>
public interface IGenerationBackend : IDisposable
{
    /// <summary>One line for logs: which model, where.</summary>
    string Description { get; }

    /// <summary>
    /// Generates every request and yields each result as it finishes (in completion order, not request order),
    /// with the request's index; a consumer can save results as they come (resumable runs). Throws
    /// <see cref="GenerationException"/> for a request that cannot succeed; <see cref="ArgumentException"/> for
    /// invalid settings.
    /// </summary>
    IAsyncEnumerable<IndexedResult> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default);
}

/// <summary>A backend that can also stream one sample's text as it is generated (for interactive chat).</summary>
public interface IStreamingGenerationBackend : IGenerationBackend
{
    /// <summary>Streams one sample of <paramref name="request"/> (its N is ignored); the last delta carries the whole sample.</summary>
    IAsyncEnumerable<GenerationDelta> StreamAsync(GenerationRequest request, CancellationToken cancellationToken = default);
}

public static class GenerationBackendExtensions
{
    /// <summary>All results, in request order.</summary>
    public static async Task<IReadOnlyList<GenerationResult>> GenerateAllAsync(this IGenerationBackend backend,
        IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        var results = new GenerationResult[requests.Count];
        await foreach (var (index, result) in backend.GenerateAsync(requests, cancellationToken).ConfigureAwait(false))
            results[index] = result;
        return results;
    }

    /// <summary>All results, in request order (blocking).</summary>
    public static IReadOnlyList<GenerationResult> GenerateAll(this IGenerationBackend backend,
        IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default) =>
        backend.GenerateAllAsync(requests, cancellationToken).GetAwaiter().GetResult();

    /// <summary>One request's result.</summary>
    public static async Task<GenerationResult> GenerateAsync(this IGenerationBackend backend, GenerationRequest request,
        CancellationToken cancellationToken = default) =>
        (await backend.GenerateAllAsync([request], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>The text of one sample, streamed.</summary>
    public static async IAsyncEnumerable<string> StreamTextAsync(this IStreamingGenerationBackend backend, GenerationRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var delta in backend.StreamAsync(request, cancellationToken).ConfigureAwait(false))
            if (delta.Text.Length > 0) yield return delta.Text;
    }
}
