using System.Collections;
using R1Sharp.Training.Distributed;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Training.Tests.Distributed;

/// <summary>
/// Choosing the backend from a launcher's environment (the variables MPICH's Hydra sets, checked with
/// <c>mpiexec -n 2 env</c>), the single-process backend, and how a global batch is shared out over ranks. The MPI backend
/// itself runs under mpiexec in tests/R1Sharp.Cli.Tests/DistributedTests.cs.
/// </summary>
public class CollectivesTests
{
    static Hashtable Env(params (string Name, string Value)[] variables)
    {
        var table = new Hashtable();
        foreach (var (name, value) in variables) table[name] = value;
        return table;
    }

    [Fact]
    public void Hydra_variables_choose_mpi_and_none_choose_a_single_process()
    {
        Assert.Equal("single", Collectives.Choose(Env()));
        Assert.Equal("mpi", Collectives.Choose(Env(("PMI_RANK", "1"), ("PMI_SIZE", "2"), ("MPI_LOCALRANKID", "1"), ("PMI_FD", "6"))));
        Assert.Equal("mpi", Collectives.Choose(Env(("PMIX_RANK", "0"))));
        Assert.Equal("single", Collectives.Choose(Env(("PMI_RANK", "0"), ("R1SHARP_COLLECTIVE", "single"))));
        Assert.Equal("mpi", Collectives.Choose(Env(("R1SHARP_COLLECTIVE", "MPI"))));
        Assert.Equal("single", Collectives.Choose(Env(("WORLD_SIZE", "1"), ("RANK", "0"))));
    }

    [Fact]
    public void Launches_that_cannot_work_are_refused_with_the_variable_named()
    {
        var e = Assert.Throws<ArgumentException>(() => Collectives.Choose(Env(("WORLD_SIZE", "8"), ("RANK", "3"))));
        Assert.StartsWith("WORLD_SIZE=8 is set but this process was not started by an MPI launcher", e.Message);
        e = Assert.Throws<ArgumentException>(() => Collectives.Choose(Env(("OMPI_COMM_WORLD_SIZE", "2"))));
        Assert.Contains("Open MPI", e.Message);
        Assert.Equal("mpi", Collectives.Choose(Env(("OMPI_COMM_WORLD_SIZE", "2"), ("R1SHARP_MPI_LIBRARY", "/opt/mpi/lib/libmpi.so.12"))));
        Assert.Contains("R1SHARP_COLLECTIVE=nccl", Assert.Throws<ArgumentException>(() => Collectives.Choose(Env(("R1SHARP_COLLECTIVE", "nccl")))).Message);
        Assert.Contains("WORLD_SIZE=two", Assert.Throws<ArgumentException>(() => Collectives.Choose(Env(("WORLD_SIZE", "two")))).Message);
    }

    [Fact]
    public void A_single_process_leaves_tensors_and_values_as_they_are()
    {
        var c = SingleProcess.Instance;
        Assert.Equal((0, 1, 0, "single"), (c.Rank, c.Size, c.LocalRank, c.Backend));
        var t = tensor(new[] { 1f, 2f, 3f });
        c.AllReduce([t], ReduceOp.Average);
        c.Broadcast([t]);
        Assert.Equal([1f, 2f, 3f], t.data<float>().ToArray());
        double[] values = [4, 5];
        c.AllReduce(values);
        Assert.Equal([4.0, 5.0], values);
        Assert.Equal("x", c.BroadcastObject("x"));
        Assert.Equal(["y"], c.AllGather("y"));
        Assert.Throws<ArgumentOutOfRangeException>(() => c.BroadcastObject("x", root: 1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void Shares_of_a_batch_are_contiguous_in_rank_order_cover_it_once_and_differ_by_at_most_one(int size)
    {
        for (int count = 0; count <= 12; count++)
        {
            var shares = Enumerable.Range(0, size).Select(r => TrainingRun.Shard(count, r, size)).ToList();
            int next = 0;
            foreach (var (start, n) in shares)
            {
                Assert.Equal(next, start);
                next += n;
            }
            Assert.Equal(count, next);
            Assert.True(shares.Max(s => s.Count) - shares.Min(s => s.Count) <= 1);
            Assert.True(shares.Select(s => s.Count).SequenceEqual(shares.Select(s => s.Count).OrderByDescending(n => n)), "larger shares come first");
        }
    }
}
