using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace R1Sharp.Engine.Generation;

/// <summary>
/// Sends generation requests concurrently (at most as many at once as <c>slots</c> allows) and yields each result as it
/// arrives, tagged with its request's index. The first request that fails cancels the others and its error ends the
/// enumeration (results finished before it were already yielded); a consumer that stops early cancels what is in flight.
/// The HTTP backends (<see cref="RemoteGenerationBackend"/>, the rollout fleet) share it.
/// </summary>
public static class ConcurrentRequests
{
    public static async IAsyncEnumerable<IndexedResult> StreamAsync(IReadOnlyList<GenerationRequest> requests, SemaphoreSlim slots,
        Func<GenerationRequest, int, CancellationToken, Task<GenerationResult>> send,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var results = Channel.CreateUnbounded<IndexedResult>(new UnboundedChannelOptions { SingleReader = true });
        var tasks = requests.Select(async (request, index) =>
        {
            await slots.WaitAsync(failed.Token).ConfigureAwait(false);
            try
            {
                results.Writer.TryWrite(new IndexedResult(index, await send(request, index, failed.Token).ConfigureAwait(false)));
            }
            catch
            {
                failed.Cancel(); // one request that cannot succeed ends the batch
                throw;
            }
            finally
            {
                slots.Release();
            }
        }).ToArray();
        var all = Task.WhenAll(tasks).ContinueWith(t =>
        {
            var error = t.Exception?.InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException) ?? t.Exception?.InnerException;
            results.Writer.TryComplete(error);
        }, TaskScheduler.Default);
        try
        {
            await foreach (var item in results.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                yield return item;
        }
        finally
        {
            failed.Cancel(); // the consumer stopped early, or the batch is over: nothing left to wait for
            await all.ConfigureAwait(false);
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>initial × 2^(attempt−1), capped at <paramref name="max"/>, times a random factor in [0.5, 1] so that clients
    /// do not retry in lockstep.</summary>
    public static TimeSpan Backoff(int attempt, TimeSpan initial, TimeSpan max)
    {
        double ms = initial.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 20));
        ms = Math.Min(ms, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms * (0.5 + 0.5 * Random.Shared.NextDouble()));
    }
}
