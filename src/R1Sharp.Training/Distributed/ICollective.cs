using static TorchSharp.torch;

namespace R1Sharp.Training.Distributed;

/// <summary>How <see cref="ICollective.AllReduce(IReadOnlyList{Tensor}, ReduceOp)"/> combines the ranks' values.</summary>
public enum ReduceOp
{
    /// <summary>The sum over ranks.</summary>
    Sum,

    /// <summary>The sum over ranks divided by the world size (summed first, then scaled).</summary>
    Average,

    /// <summary>The largest value over ranks (doubles only).</summary>
    Max,
}

/// <summary>
/// The collectives a data-parallel run needs, over every process of the job (docs/distributed.md): ranks 0 … Size − 1,
/// all calling the same operations in the same order. <see cref="SingleProcess"/> is the default (one process; every
/// operation is a no-op); <see cref="MpiCollective"/> runs on the MPI C library of an MPICH-ABI MPI under <c>mpiexec</c>.
/// <see cref="Collectives.Current"/> picks one from the launcher's environment.
/// </summary>
public interface ICollective
{
    /// <summary>"single" or "mpi".</summary>
    string Backend { get; }

    /// <summary>This process's rank, 0-based.</summary>
    int Rank { get; }

    /// <summary>The number of processes in the job.</summary>
    int Size { get; }

    /// <summary>The rank among the processes on this machine (which GPU to take, later).</summary>
    int LocalRank { get; }

    /// <summary>
    /// Reduces float tensors in place over all ranks (any device; non-float32 and non-CPU tensors go through a float32
    /// host copy). The values travel in flat host buckets of <see cref="BucketBytes"/>: one call per bucket, whatever the
    /// number and shapes of the tensors. Every rank must pass tensors of the same shapes in the same order.
    /// </summary>
    void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOp op = ReduceOp.Sum);

    /// <summary>Reduces a few doubles (metrics, counts) in place over all ranks.</summary>
    void AllReduce(double[] values, ReduceOp op = ReduceOp.Sum);

    /// <summary>Overwrites the tensors on every rank with <paramref name="root"/>'s (bytes, any dtype and device).</summary>
    void Broadcast(IReadOnlyList<Tensor> tensors, int root = 0);

    /// <summary><paramref name="root"/>'s value on every rank, sent as JSON (small objects: settings, a decision, a path).</summary>
    T BroadcastObject<T>(T value, int root = 0);

    /// <summary>Every rank's value, in rank order, on every rank (sent as JSON; small objects).</summary>
    IReadOnlyList<T> AllGather<T>(T value);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>The size of one all-reduce bucket in bytes (default 16 MiB; <c>R1SHARP_BUCKET_MB</c> sets it).</summary>
    long BucketBytes { get; set; }
}
