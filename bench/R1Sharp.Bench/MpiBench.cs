// Data-parallel training on MPI, measured side by side in one run (bench/README.md, "Data-parallel on MPI"):
//   dotnet run --project bench/R1Sharp.Bench -c Release -- mpi [--quick]
// 1. All-reduce: 1–256 MiB of float32 summed over 2 ranks (mpiexec -n 2 of this program, `mpi-allreduce`): R1Sharp's
//    ICollective path (tensor → 64 MiB host bucket → MPI_Allreduce in place → tensor), MPI_Allreduce alone on a managed
//    buffer (no copies), and a same-size memcpy (tensor copy_) in one process, each the median of several calls.
// 2. Scaling: the step time of `r1sharp sft` on the 25m preset and of `r1sharp grpo` (rollouts + update) on the 6m preset,
//    2 ranks × 1 thread against 1 rank × 1 thread on the same global batch, alternated (one, two, one, two) so that the
//    machine's load hits both alike; step time = the gap between consecutive lines of metrics.jsonl, first step left out.
//    Efficiency = T(1 rank) / (2 · T(2 ranks)).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using R1Sharp.Training.Distributed;
using static TorchSharp.torch;

static class MpiBench
{
    static readonly int[] SizesMiB = [1, 4, 16, 64, 256];

    /// <summary>Under mpiexec: the all-reduce timings; rank 0 prints one line per size.</summary>
    public static void AllReduce(bool quick)
    {
        var c = Collectives.Current;
        if (c.Size < 2) throw new InvalidOperationException("run under mpiexec -n 2");
        set_num_threads(1);
        foreach (int mib in quick ? SizesMiB[..3] : SizesMiB)
        {
            int reps = mib >= 64 ? 3 : 7;
            long floats = (long)mib << 18; // MiB / 4 bytes
            using var t = ones(floats);
            var doubles = new double[floats / 2];
            double Time(Action a)
            {
                a(); // warm-up (buffers allocated, pages touched)
                var times = new List<double>();
                for (int i = 0; i < reps; i++)
                {
                    c.Barrier();
                    var w = Stopwatch.StartNew();
                    a();
                    times.Add(w.Elapsed.TotalSeconds);
                }
                double[] slowest = [times.Order().ElementAt(reps / 2)];
                c.AllReduce(slowest, ReduceOp.Max); // the median of the slower rank
                return slowest[0];
            }
            double tensorPath = Time(() => c.AllReduce([t]));
            double raw = Time(() => c.AllReduce(doubles));
            double copy;
            using (var dst = empty(floats))
            {
                dst.copy_(t);
                var w = Stopwatch.StartNew();
                for (int i = 0; i < reps; i++) dst.copy_(t);
                copy = w.Elapsed.TotalSeconds / reps;
            }
            double bytes = floats * 4.0;
            if (c.Rank == 0)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{mib,4} MiB  all-reduce {tensorPath * 1e3,8:F2} ms {bytes / tensorPath / 1e9,6:F2} GB/s  |  MPI_Allreduce alone {raw * 1e3,8:F2} ms {bytes / raw / 1e9,6:F2} GB/s  |  memcpy {copy * 1e3,7:F2} ms {bytes / copy / 1e9,6:F2} GB/s  |  all-reduce / memcpy {tensorPath / copy,5:F1}×"));
        }
    }

    /// <summary>Not under mpiexec: runs the all-reduce part on 2 ranks, then the scaling runs of the CLI.</summary>
    public static void Run(bool quick)
    {
        Console.WriteLine($"load average {Load()} on {Environment.ProcessorCount} cores (start)");
        Console.WriteLine("all-reduce between 2 ranks (one machine, MPICH ch3:nemesis shared memory), median of several calls:");
        var r = Start("mpiexec", ["-n", "2", "dotnet", typeof(MpiBench).Assembly.Location, "mpi-allreduce", .. quick ? ["--quick"] : Array.Empty<string>()]);
        Console.Write(r);

        string root = Path.Combine(Path.GetTempPath(), "r1sharp-mpi-bench-" + Environment.ProcessId);
        try
        {
            string m25 = Path.Combine(root, "model-25m"), m6 = Path.Combine(root, "model-6m");
            TinyModel.Save(m25, "25m");
            TinyModel.Save(m6, "6m");
            int steps = quick ? 3 : 5;
            string[] sft = ["sft", "--model", m25, "--threads", "1", "--data", "cold-start", "--data-examples", "200", "--max-length", "256",
                "--batch-size", "4", "--gradient-accumulation-steps", "2", "--set", $"max_steps={steps}", "--set", "log_every=1",
                "--set", "checkpoint_every=1000", "--set", "eval_share=0", "--set", "packing=true"];
            string[] grpo = ["grpo", "--model", m6, "--threads", "1", "--set", $"steps={steps}", "--set", "prompts_per_step=8", "--set", "generations=4",
                "--set", "sampling.max_new_tokens=48", "--set", "eval_prompts=0", "--set", "micro_batch_size=16", "--set", "checkpoint_every=1000",
                "--set", "learning_rate=1e-4"];
            foreach (var (name, args) in new[] { ("SFT step, 25m preset, 8 packed rows of 256 tokens", sft), ("GRPO step, 6m preset, 8 prompts × 4 samples × ≤ 48 tokens", grpo) })
            {
                var one = new List<double>();
                var two = new List<double>();
                for (int round = 0; round < 2; round++)
                {
                    one.AddRange(StepTimes(root, args, 1));
                    two.AddRange(StepTimes(root, args, 2));
                }
                double t1 = Median(one), t2 = Median(two);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name}: 1 rank × 1 thread {t1:F3} s, 2 ranks × 1 thread {t2:F3} s (medians of {one.Count} and {two.Count} steps): speed-up {t1 / t2:F2}×, scaling efficiency {t1 / (2 * t2):P0}"));
            }
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
        Console.WriteLine($"load average {Load()} (end)");
    }

    static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

    /// <summary>Runs the CLI on <paramref name="ranks"/> ranks; the seconds between consecutive steps of its metrics.jsonl (first step left out).</summary>
    static List<double> StepTimes(string root, string[] args, int ranks)
    {
        string output = Path.Combine(root, $"run-{Guid.NewGuid():N}");
        string dll = FleetBench.CliDll();
        if (ranks == 1) Start("dotnet", [dll, .. args, "--output", output]);
        else Start("mpiexec", ["-n", ranks.ToString(CultureInfo.InvariantCulture), "dotnet", dll, .. args, "--output", output]);
        var walls = File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Where(j => j["wall_time"] is not null && j["learning_rate"] is not null).Select(j => (double)j["wall_time"]!).ToList();
        Directory.Delete(output, recursive: true);
        return [.. walls.Skip(1).Zip(walls.Skip(2), (a, b) => b - a)];
    }

    static string Start(string program, string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({p.ExitCode}):\n{stdout}\n{stderr.Result}");
        return stdout;
    }
}
