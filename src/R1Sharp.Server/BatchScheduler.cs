using System.Threading.Channels;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Server;

/// <summary>One prompt × n of a client request, waiting for a batch or being decoded.</summary>
public sealed class WorkItem
{
    internal WorkItem(EncodedRequest request, Action<int, StreamedToken>? onToken, CancellationToken aborted)
    {
        Request = request;
        Key = BatchGenerator.KeyOf(request.Options);
        OnToken = onToken;
        Aborted = aborted;
    }

    public EncodedRequest Request { get; }
    internal BatchGenerator.BatchKey Key { get; }
    internal Action<int, StreamedToken>? OnToken { get; }
    internal CancellationToken Aborted { get; }
    internal TaskCompletionSource<GenerationResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The result; faults with <see cref="ApiException"/> (503 on shutdown, 500 when decoding failed), cancelled when the client left.</summary>
    public Task<GenerationResult> Completion => Done.Task;
}

/// <summary>Counters since start.</summary>
/// <param name="Requests">Work items decoded (one per prompt of a request).</param>
/// <param name="Batches">Sampler batches run.</param>
/// <param name="Rows">Rows decoded over all batches (prompts × n).</param>
/// <param name="LargestBatch">Most rows in one batch.</param>
/// <param name="Rejected">Requests refused because the queue was full.</param>
/// <param name="Waiting">Work items waiting now.</param>
/// <param name="Failed">Work items whose batch failed.</param>
/// <param name="CompletionTokens">Tokens generated.</param>
public sealed record SchedulerStats(long Requests, long Batches, long Rows, int LargestBatch, long Rejected, int Waiting, long Failed, long CompletionTokens);

/// <summary>
/// Dynamic batching: requests wait in a bounded queue; a background thread takes the oldest, waits
/// <see cref="ServerOptions.BatchWindow"/> for company, and decodes it in one sampler batch together with every
/// waiting request that shares its sampling settings (<see cref="BatchGenerator.BatchKey"/>), up to
/// <see cref="ServerOptions.MaxBatchRows"/> rows, first come first served. Requests with other settings wait for a
/// later batch. Requests arriving during a batch join the next one (the KV cache of a running batch does not take
/// new rows). A client that disconnects ends its rows at their next token.
/// </summary>
public sealed class BatchScheduler : IDisposable
{
    private readonly BatchGenerator _generator;
    private readonly ServerOptions _options;
    private readonly Channel<WorkItem> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private int _waiting;
    private long _requests, _batches, _rows, _rejected, _failed, _tokens;
    private int _largest;
    private volatile bool _stopped;

    public BatchScheduler(BatchGenerator generator, ServerOptions options)
    {
        _generator = generator;
        _options = options;
        _queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(options.MaxQueuedRequests) { SingleReader = true });
        _thread = new Thread(Loop) { IsBackground = true, Name = "r1sharp-batch-scheduler" };
        _thread.Start();
    }

    public SchedulerStats Stats => new(Interlocked.Read(ref _requests), Interlocked.Read(ref _batches), Interlocked.Read(ref _rows),
        Volatile.Read(ref _largest), Interlocked.Read(ref _rejected), Volatile.Read(ref _waiting), Interlocked.Read(ref _failed),
        Interlocked.Read(ref _tokens));

    /// <summary>
    /// Queues <paramref name="items"/> (the prompts of one client request) all or none: null when the queue cannot
    /// take them all (the caller answers 429).
    /// </summary>
    /// <exception cref="ApiException">503 once the server is shutting down.</exception>
    public IReadOnlyList<WorkItem>? TrySubmit(IReadOnlyList<(EncodedRequest Request, Action<int, StreamedToken>? OnToken)> items, CancellationToken aborted)
    {
        if (_stopped) throw new ApiException(503, "the server is shutting down");
        int after = Interlocked.Add(ref _waiting, items.Count);
        if (after > _options.MaxQueuedRequests)
        {
            Interlocked.Add(ref _waiting, -items.Count);
            Interlocked.Increment(ref _rejected);
            return null;
        }
        var work = items.Select(i => new WorkItem(i.Request, i.OnToken, aborted)).ToList();
        foreach (var item in work)
            if (!_queue.Writer.TryWrite(item))
            {
                // Only when stopping (the counter keeps the channel below capacity).
                item.Done.TrySetException(new ApiException(503, "the server is shutting down"));
                Interlocked.Decrement(ref _waiting);
            }
        return work;
    }

    private void Loop()
    {
        var pending = new List<WorkItem>();
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (pending.Count == 0 && !_queue.Reader.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult()) break;
                Drain(pending);
                if (_options.BatchWindow > TimeSpan.Zero && pending.Sum(p => p.Request.N) < _options.MaxBatchRows)
                {
                    Thread.Sleep(_options.BatchWindow);
                    Drain(pending);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
            pending.RemoveAll(item =>
            {
                if (!item.Aborted.IsCancellationRequested) return false;
                Interlocked.Decrement(ref _waiting);
                item.Done.TrySetCanceled(item.Aborted);
                return true;
            });
            if (pending.Count == 0) continue;

            var key = pending[0].Key;
            var batch = new List<WorkItem>();
            int rows = 0;
            foreach (var item in pending)
            {
                if (item.Key != key || (batch.Count > 0 && rows + item.Request.N > _options.MaxBatchRows)) continue;
                batch.Add(item);
                rows += item.Request.N;
            }
            pending.RemoveAll(batch.Contains);
            Interlocked.Add(ref _waiting, -batch.Count);
            Run(batch, rows);
        }
        Drain(pending);
        foreach (var item in pending) item.Done.TrySetException(new ApiException(503, "the server is shutting down"));
    }

    private void Drain(List<WorkItem> pending)
    {
        while (_queue.Reader.TryRead(out var item)) pending.Add(item);
    }

    private void Run(List<WorkItem> batch, int rows)
    {
        try
        {
            var results = _generator.Run([.. batch.Select(b => b.Request)], new Observer(batch), _stop.Token);
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _rows, rows);
            Interlocked.Add(ref _requests, batch.Count);
            Interlocked.Add(ref _tokens, results.Sum(r => (long)r.CompletionTokens));
            int largest;
            while (rows > (largest = Volatile.Read(ref _largest)) && Interlocked.CompareExchange(ref _largest, rows, largest) != largest) { }
            for (int i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(results[i]);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            foreach (var item in batch) item.Done.TrySetException(new ApiException(503, "the server is shutting down"));
        }
        catch (Exception e)
        {
            Interlocked.Add(ref _failed, batch.Count);
            _options.Log?.Invoke($"batch of {batch.Count} requests failed: {e}");
            // The exception (libtorch's text names its C++ sources) stays in the log; clients learn only that it failed.
            foreach (var item in batch) item.Done.TrySetException(ApiException.Internal("generation failed"));
        }
    }

    private sealed class Observer(List<WorkItem> batch) : IBatchObserver
    {
        public bool IsCancelled(int request) => batch[request].Aborted.IsCancellationRequested;

        public void OnToken(int request, int sample, in StreamedToken token) => batch[request].OnToken?.Invoke(sample, token);
    }

    /// <summary>Refuses new requests, ends the running batch, fails waiting requests with 503.</summary>
    public void Stop()
    {
        if (_stopped) return;
        _stopped = true;
        _queue.Writer.TryComplete();
        _stop.Cancel();
        _thread.Join();
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
    }
}
