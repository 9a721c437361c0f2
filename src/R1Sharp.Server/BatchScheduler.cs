using System.Threading.Channels;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Server;

/// <summary>One prompt × n of a client request, waiting for a batch or being decoded.</summary>
public sealed class WorkItem
{
    internal WorkItem(EncodedRequest request, Action<int, StreamedToken>? onToken, CancellationToken aborted, long sequence)
    {
        Sequence = sequence;
        Request = request;
        Key = BatchGenerator.KeyOf(request.Options);
        OnToken = onToken;
        Aborted = aborted;
    }

    public EncodedRequest Request { get; }
    /// <summary>Order of arrival (a pause in abort mode ends the requests that arrived before it).</summary>
    internal long Sequence { get; }
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
/// What a pause does with requests in flight (SGLang's <c>/pause_generation</c> modes and vLLM's <c>/pause?mode=</c>): the
/// pause returns once no batch is decoding, so the weights can change.
/// </summary>
public enum PauseMode
{
    /// <summary>End the running batch and every request that arrived before the pause, with 503 (SGLang, vLLM <c>abort</c>).</summary>
    Abort,
    /// <summary>End the running batch and queue its requests again, first: they are decoded from the start after the pause (SGLang <c>retract</c>).</summary>
    Retract,
    /// <summary>Freeze the running batch between two tokens; it goes on, with the weights of then, after the pause (SGLang <c>in_place</c>, vLLM <c>keep</c>).</summary>
    InPlace,
    /// <summary>Let the running batch finish, start no other (vLLM <c>wait</c>).</summary>
    Wait,
}

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
    private long _sequence;

    // Pausing (weight updates). _lock guards _paused and _idle: the decode thread marks itself busy (_idle reset) only while
    // not paused, so a pause that has seen it idle knows no forward pass runs until it continues.
    private readonly object _lock = new();
    private volatile bool _paused;
    private PauseMode _pauseMode;
    private long _abortBefore = -1;
    private CancellationTokenSource? _batchAbort;
    private readonly ManualResetEventSlim _running = new(true), _idle = new(true);

    private readonly Func<string?>? _weightVersion;

    /// <param name="generator">Decodes the batches.</param>
    /// <param name="options">Limits and batching window.</param>
    /// <param name="weightVersion">The name of the weights served, read as each batch ends and put on its samples (weight updates).</param>
    public BatchScheduler(BatchGenerator generator, ServerOptions options, Func<string?>? weightVersion = null)
    {
        _weightVersion = weightVersion;
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
        var work = items.Select(i => new WorkItem(i.Request, i.OnToken, aborted, Interlocked.Increment(ref _sequence))).ToList();
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
            if (!WaitWhilePaused()) break;
            Drain(pending);
            long abortBefore = Interlocked.Read(ref _abortBefore);
            pending.RemoveAll(item =>
            {
                if (item.Aborted.IsCancellationRequested)
                {
                    Interlocked.Decrement(ref _waiting);
                    item.Done.TrySetCanceled(item.Aborted);
                    return true;
                }
                if (item.Sequence > abortBefore) return false;
                Interlocked.Decrement(ref _waiting);
                item.Done.TrySetException(Paused());
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
            lock (_lock)
            {
                if (_paused)
                {
                    // Paused between the check above and now: the batch waits for the next round.
                    pending.InsertRange(0, batch);
                    Interlocked.Add(ref _waiting, batch.Count);
                    continue;
                }
                _idle.Reset();
                _batchAbort = new CancellationTokenSource();
            }
            var retracted = Run(batch, rows);
            lock (_lock)
            {
                _batchAbort?.Dispose();
                _batchAbort = null;
                _idle.Set();
            }
            if (retracted.Count > 0)
            {
                pending.InsertRange(0, retracted);
                Interlocked.Add(ref _waiting, retracted.Count);
            }
        }
        Drain(pending);
        foreach (var item in pending) item.Done.TrySetException(new ApiException(503, "the server is shutting down"));
    }

    private void Drain(List<WorkItem> pending)
    {
        while (_queue.Reader.TryRead(out var item)) pending.Add(item);
    }

    /// <summary>Decodes one batch; returns the requests a pause in retract mode sent back to the queue.</summary>
    private List<WorkItem> Run(List<WorkItem> batch, int rows)
    {
        var abort = _batchAbort!;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, abort.Token);
        try
        {
            var results = _generator.Run([.. batch.Select(b => b.Request)], new Observer(batch, this), cancel.Token);
            // Read while this batch still counts as decoding: no update can have ended since its last token.
            if (_weightVersion?.Invoke() is { } version)
                results = [.. results.Select(r => r with { Samples = [.. r.Samples.Select(x => x with { WeightVersion = version })] })];
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
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            if (_pauseMode == PauseMode.Retract) return batch;
            foreach (var item in batch) item.Done.TrySetException(Paused());
        }
        catch (Exception e)
        {
            Interlocked.Add(ref _failed, batch.Count);
            _options.Log?.Invoke($"batch of {batch.Count} requests failed: {e}");
            // The exception (libtorch's text names its C++ sources) stays in the log; clients learn only that it failed.
            foreach (var item in batch) item.Done.TrySetException(ApiException.Internal("generation failed"));
        }
        return [];
    }

    private static ApiException Paused() =>
        new(503, "the request was aborted: generation was paused (a weight update); send it again", code: "aborted");

    /// <summary>Blocks the decode thread while paused (it is idle meanwhile); false when the server stops.</summary>
    private bool WaitWhilePaused()
    {
        try
        {
            _running.Wait(_stop.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Called by the decode thread between two tokens: in in-place mode a pause freezes the batch here.</summary>
    private void Checkpoint()
    {
        if (!_paused) return;
        lock (_lock)
        {
            if (!_paused || _pauseMode is not PauseMode.InPlace) return;
            _idle.Set();
        }
        while (true)
        {
            _running.Wait(_stop.Token); // a stop ends the batch (the sampler sees the token)
            lock (_lock)
            {
                if (_paused) continue;
                _idle.Reset();
                return;
            }
        }
    }

    /// <summary>Whether generation is paused.</summary>
    public bool IsPaused
    {
        get { lock (_lock) return _paused; }
    }

    /// <summary>
    /// Pauses generation as <paramref name="mode"/> says and returns once no batch is decoding (the weights may then change).
    /// Requests that arrive while paused wait in the queue. Pausing a paused scheduler changes nothing but the mode.
    /// </summary>
    public async Task PauseAsync(PauseMode mode, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _paused = true;
            _pauseMode = mode;
            _running.Reset();
            if (mode == PauseMode.Abort) Interlocked.Exchange(ref _abortBefore, Interlocked.Read(ref _sequence));
            if (mode is PauseMode.Abort or PauseMode.Retract) _batchAbort?.Cancel();
        }
        while (!_idle.Wait(0))
            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends a pause: waiting and frozen requests go on.</summary>
    public void Continue()
    {
        lock (_lock)
        {
            _paused = false;
            _running.Set();
        }
    }

    private sealed class Observer(List<WorkItem> batch, BatchScheduler scheduler) : IBatchObserver
    {
        public bool IsCancelled(int request)
        {
            scheduler.Checkpoint();
            return batch[request].Aborted.IsCancellationRequested;
        }

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
        _idle.Set(); // a pause waiting for the decode thread returns
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
        _running.Dispose();
        _idle.Dispose();
    }
}
