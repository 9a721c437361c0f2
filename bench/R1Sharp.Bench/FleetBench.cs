using System.Diagnostics;
using System.Text.Json.Nodes;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;
// GRPO with its rollouts on an `r1sharp serve` process (docs/distributed.md), measured in one run:
//   dotnet build R1Sharp.slnx -c Release && dotnet run --project bench/R1Sharp.Bench -c Release -- fleet [--quick]
//
// 1. Asynchronous (k = 1) against synchronous GRPO, same config, the trainer (this process) and one server each on one
//    libtorch thread: steps per minute of both. With G and U the rollout and the training time of a synchronous step
//    (G: waiting for the batch, the weight update of the server included; U: the rest of the step), overlapping the two can
//    at best reach (G + U) / max(G, U); printed with the measured speed-up. Run for a balanced config (the ideal ≥ 1.6×) and
//    for the embedded R1-Zero stage's batch (16 prompts × G 8 × 96 tokens).
// 2. One weight sync (publish the checkpoint + the server's update + a first token from it) for the 1m, 6m and 25m presets,
//    and its share of a synchronous step of the R1-Zero stage's batch.
// Models are randomly initialised (an untrained model rarely stops early: completions run to their token limit, so every
// step does the same work); the task is the embedded arithmetic one.

static class FleetBench
{
    sealed class Server : IDisposable
    {
        readonly Process process;
        public Uri Url { get; }

        public Server(string modelDir)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            psi.ArgumentList.Add(CliDll());
            foreach (var a in new[] { "serve", "--model", modelDir, "--port", "0", "--enable-weight-updates", "--quiet", "--max-batch", "256" })
                psi.ArgumentList.Add(a);
            psi.Environment["OMP_NUM_THREADS"] = "1";
            process = Process.Start(psi)!;
            string line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("serve did not start: " + process.StandardError.ReadToEnd());
            Url = new Uri(line.Split(' ')[2]);
            _ = process.StandardError.ReadToEndAsync();
        }

        public void Dispose()
        {
            if (!process.HasExited) process.Kill();
            process.Dispose();
        }
    }

    /// <summary>The built r1sharp.dll of this repository (the benchmarks start it as a process).</summary>
    internal static string CliDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "R1Sharp.slnx")))
            {
                string dll = Path.Combine(dir.FullName, "src", "R1Sharp.Cli", "bin", "Release", "net10.0", "r1sharp.dll");
                return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll}: build the solution first (dotnet build R1Sharp.slnx -c Release)");
            }
        throw new DirectoryNotFoundException("R1Sharp.slnx not found above the bench's folder");
    }

    /// <summary>A randomly initialised model of <paramref name="preset"/> with a tokenizer trained on the embedded corpus.</summary>
    static string Model(string root, string preset)
    {
        string dir = Path.Combine(root, "model-" + preset);
        TinyModel.Save(dir, preset);
        return dir;
    }

    /// <summary>Per-step metrics of a GRPO run on <paramref name="server"/>, the first <paramref name="skip"/> steps left out (warm-up).</summary>
    static List<JsonNode> Run(GrpoOptions o, string model, Uri server, string output, int skip)
    {
        GrpoRecipe.Run(o with { Rollout = o.Rollout with { Endpoints = [server.ToString()] } }, model, output, RunSettings.Quiet());
        return [.. File.ReadAllLines(Path.Combine(output, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Skip(skip)];
    }

    /// <summary>The mean of <paramref name="key"/> over the steps that logged it (the last step publishes nothing, for one).</summary>
    static double Mean(List<JsonNode> steps, string key) => steps.Where(m => m[key] is not null).Select(m => (double)m[key]!).DefaultIfEmpty(0).Average();

    /// <summary>Synchronous then asynchronous on the same server and config; prints G, U, the ideal and the measured speed-up.</summary>
    static void Overlap(string label, GrpoOptions o, string root, int steps)
    {
        string model = Model(root, "1m");
        using var server = new Server(model);
        o = o with { Steps = steps, EvalPrompts = 0, CheckpointEvery = 1000, Seed = 1, Optimizer = new() { LearningRate = 1e-4, Schedule = ScheduleKind.Constant } };
        // Interleaved: sync, async, sync, async — machine noise hits both alike.
        var sync = new List<JsonNode>();
        var async = new List<JsonNode>();
        for (int round = 0; round < 2; round++)
        {
            sync.AddRange(Run(o, model, server.Url, Path.Combine(root, $"{label}-sync-{round}"), skip: 1));
            async.AddRange(Run(o with { Rollout = o.Rollout with { MaxOffPolicySteps = 1 } }, model, server.Url, Path.Combine(root, $"{label}-async-{round}"), skip: 2));
        }
        double step = Mean(sync, "time/step"), g = Mean(sync, "time/generation"), u = step - g;
        double asyncStep = Mean(async, "time/step");
        double ideal = (g + u) / Math.Max(g, u), speedup = step / asyncStep;
        Console.WriteLine($"{label}: {o.PromptsPerStep} prompts × G {o.Generations} × {o.Sampling.MaxNewTokens} tokens, {steps} steps × 2 rounds per mode");
        Console.WriteLine($"  synchronous:  {60 / step:F2} steps/min (step {step:F2} s: G {g:F2} s rollouts incl. sync {Mean(sync, "time/sync_update") + Mean(sync, "time/sync_probe"):F2} s, " +
                          $"U {u:F2} s training incl. publish {Mean(sync, "time/publish"):F2} s)");
        Console.WriteLine($"  asynchronous: {60 / asyncStep:F2} steps/min (step {asyncStep:F2} s: waiting for rollouts {Mean(async, "time/rollout_wait"):F2} s, " +
                          $"staleness ≤ {async.Max(m => (double)m["rollout/staleness_max"]!):F0})");
        Console.WriteLine($"  ideal (G + U) / max(G, U) = {ideal:F2}×; measured {speedup:F2}× = {speedup / ideal:P0} of the ideal");
    }

    static void Sync(string root, string preset, int steps)
    {
        string model = Model(root, preset);
        using var server = new Server(model);
        var o = RecipePresets.R1ZeroEmbedded with
        {
            Steps = steps, EvalPrompts = 0, CheckpointEvery = 1000, Seed = 1,
            Rollout = new() { ProbeTokens = 1 },
        };
        var m = Run(o, model, server.Url, Path.Combine(root, "sync-" + preset), skip: 1);
        double publish = Mean(m, "time/publish"), update = Mean(m, "time/sync_update"), first = Mean(m, "time/sync_probe"), step = Mean(m, "time/step");
        double total = publish + update + first;
        long bytes = Directory.GetFiles(Path.Combine(root, "sync-" + preset, "rollout-weights"), "*.safetensors", SearchOption.AllDirectories).Max(f => new FileInfo(f).Length);
        Console.WriteLine($"  {preset,-4} ({bytes / 1e6:F1} MB of safetensors): publish {publish:F3} s + update {update:F3} s + first token {first:F3} s = {total:F3} s " +
                          $"of a {step:F1} s step ({total / step:P1})");
    }

    /// <param name="part">null: everything; <c>overlap</c>: the asynchronous speed-up only; <c>sync</c>: the weight-sync times only.</param>
    public static void Run(bool quick, string? part = null)
    {
        set_num_threads(1);
        string root = Directory.CreateTempSubdirectory("r1sharp-fleet-bench-").FullName;
        try
        {
            Console.WriteLine($"trainer: this process, libtorch {get_num_threads()} thread; server: r1sharp serve, OMP_NUM_THREADS=1; model: 1m preset (random init)");
            Console.WriteLine($"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores");
            if (part is null or "overlap")
            {
                Overlap("balanced", RecipePresets.R1ZeroEmbedded with { PromptsPerStep = 4, Generations = 8, Sampling = new() { MaxNewTokens = 128 } },
                    root, quick ? 4 : 6);
                Overlap("R1-Zero stage batch", RecipePresets.R1ZeroEmbedded, root, quick ? 4 : 6);
            }
            if (part is null or "sync")
            {
                Console.WriteLine("one weight sync (R1-Zero stage batch; mean of the steps after the first):");
                foreach (var preset in quick ? ["1m", "6m"] : new[] { "1m", "6m", "25m" }) Sync(root, preset, quick ? 3 : 3);
            }
            Console.WriteLine($"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
