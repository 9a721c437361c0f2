using static TorchSharp.torch;

namespace R1Sharp.Training.Distributed;

/// <summary>One process, rank 0 of 1: every collective leaves its arguments as they are (the default backend).</summary>
public sealed class SingleProcess : ICollective
{
    public static readonly SingleProcess Instance = new();

    public string Backend => "single";
    public int Rank => 0;
    public int Size => 1;
    public int LocalRank => 0;
    public long BucketBytes { get; set; } = Collectives.DefaultBucketBytes;

    public void AllReduce(IReadOnlyList<Tensor> tensors, ReduceOp op = ReduceOp.Sum) { }
    public void AllReduce(double[] values, ReduceOp op = ReduceOp.Sum) { }
    public void Broadcast(IReadOnlyList<Tensor> tensors, int root = 0) => CheckRoot(root);
    public T BroadcastObject<T>(T value, int root = 0) { CheckRoot(root); return value; }
    public IReadOnlyList<T> AllGather<T>(T value) => [value];
    public void Barrier() { }

    static void CheckRoot(int root)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "a single process has only rank 0");
    }
}
