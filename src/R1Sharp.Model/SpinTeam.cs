using System.Diagnostics;

namespace R1Sharp.Model;

/// <summary>
/// A few threads that share a range of work units with the calling thread (<see cref="VectorDecoder"/>'s parallel regions).
/// A region costs a few atomic increments, where an OpenMP fork/join around a libtorch operation costs microseconds; between
/// regions the workers spin for <see cref="SpinMicroseconds"/>, then sleep until the next one.
/// </summary>
public sealed class SpinTeam : IDisposable
{
    /// <summary>How long an idle worker spins before it sleeps (a decode step's gaps between regions are far shorter).</summary>
    public const int SpinMicroseconds = 50;

    readonly Thread[] workers;
    readonly SemaphoreSlim[] wake;
    readonly int[] sleeping;
    readonly object running = new();
    Region? current;
    int generation;
    volatile bool disposed;

    /// <param name="threads">Threads in all, the caller included (1: everything runs on the caller).</param>
    public SpinTeam(int threads)
    {
        Threads = Math.Max(1, threads);
        workers = new Thread[Threads - 1];
        wake = new SemaphoreSlim[Threads - 1];
        sleeping = new int[Threads - 1];
        for (int w = 0; w < workers.Length; w++)
        {
            int index = w;
            wake[w] = new SemaphoreSlim(0);
            workers[w] = new Thread(() => Work(index)) { IsBackground = true, Name = $"R1Sharp decode {index + 1}" };
            workers[w].Start();
        }
    }

    /// <summary>One team for the process, as many threads as libtorch uses (at most the processor count), made on first use.</summary>
    public static SpinTeam Shared => shared.Value;
    static readonly Lazy<SpinTeam> shared = new(() => new SpinTeam(Math.Min(TorchSharp.torch.get_num_threads(), Environment.ProcessorCount)));

    public int Threads { get; }

    /// <summary>
    /// Runs <paramref name="work"/>(first, end, thread) over chunks of [0, <paramref name="count"/>) and returns when all are
    /// done. Threads claim chunks as they come (the caller too), so a worker the system has not scheduled yet holds nothing
    /// up; <c>thread</c> (0 … Threads − 1) tells concurrent chunks apart. Regions from different callers run one after another.
    /// </summary>
    public void Run(int count, Action<int, int, int> work)
    {
        if (workers.Length == 0 || count < 2) { work(0, count, 0); return; }
        lock (running)
        {
            var region = new Region(work, count, Math.Max(1, count / (4 * Threads)));
            Volatile.Write(ref current, region);
            Interlocked.Increment(ref generation);
            for (int w = 0; w < workers.Length; w++)
                if (Interlocked.Exchange(ref sleeping[w], 0) == 1) wake[w].Release();
            region.Help(0);
            var spin = new SpinWait();
            while (Volatile.Read(ref region.Done) < count) spin.SpinOnce(sleep1Threshold: -1);
            if (region.Failure is { } e) throw new AggregateException(e);
        }
    }

    /// <summary>One parallel region: its work, and the chunks claimed and finished so far.</summary>
    sealed class Region(Action<int, int, int> body, int units, int chunk)
    {
        public int Next, Done;
        public Exception? Failure;

        /// <summary>Claims and runs chunks until none is left.</summary>
        public void Help(int thread)
        {
            while (true)
            {
                int first = Interlocked.Add(ref Next, chunk) - chunk;
                if (first >= units) return;
                int end = Math.Min(first + chunk, units);
                try { body(first, end, thread); }
                catch (Exception e) { Interlocked.CompareExchange(ref Failure, e, null); }
                finally { Interlocked.Add(ref Done, end - first); }
            }
        }
    }

    void Work(int index)
    {
        int seen = 0;
        long spinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
        while (true)
        {
            long idleSince = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref generation) == seen)
            {
                if (disposed) return;
                if (Stopwatch.GetTimestamp() - idleSince < spinTicks) { Thread.SpinWait(16); continue; }
                Interlocked.Exchange(ref sleeping[index], 1); // a full fence: the leader sees the flag or this sees the new generation
                if (Volatile.Read(ref generation) == seen && !disposed) wake[index].Wait();
                Volatile.Write(ref sleeping[index], 0);
                idleSince = Stopwatch.GetTimestamp();
            }
            seen = Volatile.Read(ref generation);
            Volatile.Read(ref current)?.Help(index + 1); // a region already finished has nothing left to claim
        }
    }

    public void Dispose()
    {
        disposed = true;
        Interlocked.Increment(ref generation);
        foreach (var w in wake) w.Release();
    }
}
