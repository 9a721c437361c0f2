using System.Runtime.InteropServices;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Training.Distributed;

/// <summary>
/// Collectives over MPI_COMM_WORLD through the MPI C API of an MPICH-ABI library (<see cref="MpiNative"/>). MPI is
/// initialised once per process (MPI_THREAD_SERIALIZED: calls are serialised here) and finalised by
/// <see cref="Collectives.Exit"/> or at process exit; an unhandled exception or a failing exit code calls MPI_Abort so
/// that the launcher ends every rank. Tensors travel through host buffers: no MPI build this targets is CUDA-aware.
/// </summary>
public sealed unsafe class MpiCollective : ICollective
{
    readonly object gate = new();
    float[] bucket = [];
    bool ended;

    MpiCollective(int rank, int size, int localRank)
    {
        (Rank, Size, LocalRank) = (rank, size, localRank);
    }

    public string Backend => "mpi";
    public int Rank { get; }
    public int Size { get; }
    public int LocalRank { get; }
    public long BucketBytes { get; set; } = Collectives.DefaultBucketBytes;

    /// <summary>Loads the library, initialises MPI (once) and reads rank and size from MPI_COMM_WORLD.</summary>
    internal static MpiCollective Start(int? localRank)
    {
        MpiNative.Load();
        int flag = 0, provided = 0, rank = 0, size = 0;
        MpiNative.Check(MpiNative.Initialized(&flag), "MPI_Initialized");
        if (flag == 0) MpiNative.Check(MpiNative.InitThread(null, IntPtr.Zero, MpiNative.ThreadSerialized, &provided), "MPI_Init_thread");
        MpiNative.Check(MpiNative.CommRank(MpiNative.CommWorld, &rank), "MPI_Comm_rank");
        MpiNative.Check(MpiNative.CommSize(MpiNative.CommWorld, &size), "MPI_Comm_size");
        var mpi = new MpiCollective(rank, size, localRank ?? 0);
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            mpi.Abort(1, $"unhandled {e.ExceptionObject.GetType().Name}: {(e.ExceptionObject as Exception)?.Message}");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => mpi.End(Environment.ExitCode);
        return mpi;
    }

    public void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOp op = ReduceOp.Sum)
    {
        if (tensors.Count == 0) return;
        lock (gate)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            // Host float32 views: the tensor itself when it is one, else a copy that is written back at the end.
            var hosts = tensors.Select(t => t.device_type == DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous()
                ? t : t.detach().to(ScalarType.Float32, CPU).contiguous()).ToArray();
            long total = hosts.Sum(h => h.numel());
            int capacity = (int)Math.Clamp(Math.Min(BucketBytes / sizeof(float), total), 1, Array.MaxLength);
            if (bucket.Length < capacity) bucket = new float[capacity];
            var pending = new List<(int Tensor, long Offset, int Count, int At)>();
            int used = 0;
            for (int i = 0; i < hosts.Length; i++)
            {
                long numel = hosts[i].numel();
                for (long pos = 0; pos < numel;)
                {
                    int take = (int)Math.Min(numel - pos, capacity - used);
                    Elements(hosts[i], pos, take).CopyTo(bucket.AsSpan(used, take));
                    pending.Add((i, pos, take, used));
                    (used, pos) = (used + take, pos + take);
                    if (used == capacity) Flush();
                }
            }
            if (used > 0) Flush();
            for (int i = 0; i < hosts.Length; i++)
                if (!ReferenceEquals(hosts[i], tensors[i])) tensors[i].copy_(hosts[i]);

            void Flush()
            {
                fixed (float* p = bucket)
                    MpiNative.Check(MpiNative.Allreduce(MpiNative.InPlace, (IntPtr)p, used, MpiNative.Float, Op(op), MpiNative.CommWorld), "MPI_Allreduce");
                var values = bucket.AsSpan(0, used);
                if (op == ReduceOp.Average)
                {
                    float scale = 1f / Size;
                    for (int k = 0; k < values.Length; k++) values[k] *= scale;
                }
                foreach (var (t, offset, count, at) in pending) values.Slice(at, count).CopyTo(Elements(hosts[t], offset, count));
                pending.Clear();
                used = 0;
            }
        }
    }

    static Span<float> Elements(Tensor host, long offset, int count) => MemoryMarshal.Cast<byte, float>(host.bytes).Slice(checked((int)offset), count);

    public void AllReduce(double[] values, ReduceOp op = ReduceOp.Sum)
    {
        if (values.Length == 0) return;
        lock (gate)
        {
            fixed (double* p = values)
                MpiNative.Check(MpiNative.Allreduce(MpiNative.InPlace, (IntPtr)p, values.Length, MpiNative.Double, Op(op), MpiNative.CommWorld), "MPI_Allreduce");
            if (op == ReduceOp.Average)
                for (int k = 0; k < values.Length; k++) values[k] /= Size;
        }
    }

    static int Op(ReduceOp op) => op == ReduceOp.Max ? MpiNative.OpMax : MpiNative.OpSum;

    public void Broadcast(IReadOnlyList<Tensor> tensors, int root = 0)
    {
        CheckRoot(root);
        lock (gate)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            foreach (var t in tensors)
            {
                var host = t.device_type == DeviceType.CPU && t.is_contiguous() ? t : t.detach().cpu().contiguous();
                var bytes = host.bytes;
                for (int pos = 0; pos < bytes.Length; pos += 1 << 30)
                {
                    var chunk = bytes.Slice(pos, Math.Min(1 << 30, bytes.Length - pos));
                    fixed (byte* p = chunk)
                        MpiNative.Check(MpiNative.Bcast((IntPtr)p, chunk.Length, MpiNative.Byte, root, MpiNative.CommWorld), "MPI_Bcast");
                }
                if (!ReferenceEquals(host, t)) t.copy_(host);
            }
        }
    }

    public T BroadcastObject<T>(T value, int root = 0)
    {
        CheckRoot(root);
        lock (gate)
        {
            var bytes = Rank == root ? JsonSerializer.SerializeToUtf8Bytes(value) : [];
            int length = bytes.Length;
            MpiNative.Check(MpiNative.Bcast((IntPtr)(&length), 1, MpiNative.Int, root, MpiNative.CommWorld), "MPI_Bcast");
            if (Rank != root) bytes = new byte[length];
            fixed (byte* p = bytes)
                MpiNative.Check(MpiNative.Bcast((IntPtr)p, length, MpiNative.Byte, root, MpiNative.CommWorld), "MPI_Bcast");
            return Rank == root ? value : JsonSerializer.Deserialize<T>(bytes)!;
        }
    }

    public IReadOnlyList<T> AllGather<T>(T value)
    {
        lock (gate)
        {
            var mine = JsonSerializer.SerializeToUtf8Bytes(value);
            int length = mine.Length;
            var lengths = new int[Size];
            fixed (int* l = lengths)
                MpiNative.Check(MpiNative.Allgather((IntPtr)(&length), 1, MpiNative.Int, (IntPtr)l, 1, MpiNative.Int, MpiNative.CommWorld), "MPI_Allgather");
            var offsets = new int[Size];
            for (int r = 1; r < Size; r++) offsets[r] = checked(offsets[r - 1] + lengths[r - 1]);
            var all = new byte[offsets[^1] + lengths[^1]];
            fixed (byte* send = mine, receive = all)
            fixed (int* counts = lengths, displacements = offsets)
                MpiNative.Check(MpiNative.Allgatherv((IntPtr)send, length, MpiNative.Byte, (IntPtr)receive, counts, displacements, MpiNative.Byte,
                    MpiNative.CommWorld), "MPI_Allgatherv");
            return Enumerable.Range(0, Size).Select(r => JsonSerializer.Deserialize<T>(all.AsSpan(offsets[r], lengths[r]))!).ToList();
        }
    }

    public void Barrier()
    {
        lock (gate) MpiNative.Check(MpiNative.Barrier(MpiNative.CommWorld), "MPI_Barrier");
    }

    void CheckRoot(int root)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"the job has ranks 0 to {Size - 1}");
    }

    /// <summary>Ends MPI for this process: MPI_Finalize after a clean exit (code 0), else MPI_Abort so the launcher ends every rank.</summary>
    internal void End(int exitCode)
    {
        if (exitCode != 0) { Abort(exitCode, $"exit code {exitCode}"); return; }
        lock (gate)
        {
            if (ended) return;
            ended = true;
            int finalized = 0;
            MpiNative.Finalized(&finalized);
            if (finalized == 0) MpiNative.Finalize();
        }
    }

    /// <summary>Says which rank failed and why on standard error, then MPI_Abort(MPI_COMM_WORLD): every rank of the job ends.</summary>
    internal void Abort(int exitCode, string why)
    {
        if (ended) return;
        ended = true; // no lock: another thread may be blocked inside a collective
        Console.Out.Flush();
        Console.Error.WriteLine($"r1sharp: rank {Rank} of {Size} failed ({why}); aborting the MPI job");
        Console.Error.Flush();
        // The launcher forwards each rank's output through a pipe and stops forwarding once the abort ends the job: give
        // it a moment, so that this rank's error message reaches the user.
        Thread.Sleep(1000);
        MpiNative.Abort(MpiNative.CommWorld, exitCode == 0 ? 1 : exitCode);
    }
}
