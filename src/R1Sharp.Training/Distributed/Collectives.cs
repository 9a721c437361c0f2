using System.Collections;
using System.Globalization;

namespace R1Sharp.Training.Distributed;

/// <summary>
/// The process's collective backend, chosen once from the environment (docs/distributed.md):
/// <c>R1SHARP_COLLECTIVE=single|mpi|auto</c> (default auto); auto takes <c>mpi</c> when an MPI launcher started the
/// process (Hydra's <c>mpiexec</c> sets <c>PMI_RANK</c>, <c>PMI_SIZE</c>, <c>MPI_LOCALRANKID</c>; PMIx launchers
/// <c>PMIX_RANK</c>), else <c>single</c>. <c>RANK</c>, <c>WORLD_SIZE</c> and <c>LOCAL_RANK</c> (torchrun-style launchers)
/// are read when set: they must agree with MPI, and a <c>WORLD_SIZE</c> above 1 without MPI is an error rather than
/// several processes silently training alone.
/// </summary>
public static class Collectives
{
    /// <summary>
    /// 16 MiB: the all-reduce bucket unless <c>R1SHARP_BUCKET_MB</c> says otherwise (on two ranks of one machine MPICH
    /// reduced 64 MiB 2.7× faster in 16 MiB buckets than in one: bench/README.md, "MPI").
    /// </summary>
    public const long DefaultBucketBytes = 16L << 20;

    static readonly object Gate = new();
    static ICollective? current;

    /// <summary>The backend of this process (created, and MPI initialised, on first use).</summary>
    public static ICollective Current
    {
        get
        {
            lock (Gate) return current ??= Create(Environment.GetEnvironmentVariables());
        }
    }

    /// <summary>Ends the backend with the process's exit code: MPI_Finalize after success, MPI_Abort after a failure. Returns the code.</summary>
    public static int Exit(int exitCode)
    {
        ICollective? c;
        lock (Gate) c = current;
        if (c is null && exitCode != 0)
        {
            // A rank that fails before its first collective still has to end the job: mpiexec waits for ranks that exit
            // with an error code, and the others would wait for this one at their first collective.
            try
            {
                if (Choose(Environment.GetEnvironmentVariables()) == "mpi") c = Current;
            }
            catch (Exception e) when (e is ArgumentException or DllNotFoundException or InvalidOperationException)
            {
                // Nothing to abort: MPI cannot start (the error was reported) or is not in use.
            }
        }
        if (c is MpiCollective mpi) mpi.End(exitCode);
        return exitCode;
    }

    /// <summary>The launcher variables that mean "started by an MPI launcher of the MPICH family".</summary>
    public static readonly IReadOnlyList<string> MpiVariables = ["PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "PMIX_RANK"];

    /// <summary>Which backend <paramref name="environment"/> asks for: "single" or "mpi" (throws a clear error for a launch that cannot work).</summary>
    public static string Choose(IDictionary environment)
    {
        string? Get(string name) => environment[name] as string is { Length: > 0 } v ? v : null;
        string choice = Get("R1SHARP_COLLECTIVE")?.ToLowerInvariant() ?? "auto";
        if (choice is not ("auto" or "single" or "mpi"))
            throw new ArgumentException($"R1SHARP_COLLECTIVE={choice}: expected single, mpi or auto");
        bool underMpi = MpiVariables.Any(v => Get(v) is not null);
        if (choice == "auto" && !underMpi && Get("OMPI_COMM_WORLD_SIZE") is { } ompi && Get("R1SHARP_MPI_LIBRARY") is null)
            throw new ArgumentException($"started by Open MPI's mpirun (OMPI_COMM_WORLD_SIZE={ompi}): R1Sharp's MPI backend uses the MPICH ABI; " +
                                        "launch with MPICH's mpiexec (Hydra), or set R1SHARP_MPI_LIBRARY to an MPICH-ABI libmpi");
        if (choice == "auto") choice = underMpi || Get("OMPI_COMM_WORLD_SIZE") is not null ? "mpi" : "single";
        if (choice == "single" && Int(Get("WORLD_SIZE"), "WORLD_SIZE") is > 1 and var world)
            throw new ArgumentException($"WORLD_SIZE={world} is set but this process was not started by an MPI launcher: R1Sharp's data-parallel " +
                                        "runs use MPI (mpiexec -n N r1sharp …, docs/distributed.md); unset WORLD_SIZE to train in one process");
        return choice;
    }

    static ICollective Create(IDictionary environment)
    {
        string? Get(string name) => environment[name] as string is { Length: > 0 } v ? v : null;
        var localRank = Int(Get("MPI_LOCALRANKID"), "MPI_LOCALRANKID") ?? Int(Get("OMPI_COMM_WORLD_LOCAL_RANK"), "OMPI_COMM_WORLD_LOCAL_RANK")
                        ?? Int(Get("LOCAL_RANK"), "LOCAL_RANK") ?? Int(Get("SLURM_LOCALID"), "SLURM_LOCALID");
        ICollective c = Choose(environment) == "single" ? SingleProcess.Instance : MpiCollective.Start(localRank);
        if (c is MpiCollective)
        {
            if (Int(Get("WORLD_SIZE"), "WORLD_SIZE") is { } world && world != c.Size)
                throw new ArgumentException($"WORLD_SIZE={world} disagrees with MPI's world size {c.Size}");
            if (Int(Get("RANK"), "RANK") is { } rank && rank != c.Rank)
                throw new ArgumentException($"RANK={rank} disagrees with MPI's rank {c.Rank}");
        }
        if (Get("R1SHARP_BUCKET_MB") is { } mb)
            c.BucketBytes = double.TryParse(mb, NumberStyles.Float, CultureInfo.InvariantCulture, out double m) && m > 0
                ? Math.Max(4, (long)(m * (1 << 20)))
                : throw new ArgumentException($"R1SHARP_BUCKET_MB={mb}: expected a positive number of MiB");
        return c;
    }

    static int? Int(string? value, string name) => value is null ? null
        : int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0 ? v
        : throw new ArgumentException($"{name}={value}: expected a non-negative integer");
}
