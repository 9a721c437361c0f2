using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
// Resident memory over a long GRPO run (the recipe end to end on the embedded arithmetic task, 1m preset,
// 4 prompts × G 4 × 32 new tokens per step, accuracy + format rewards, β 0.04 as the pipeline's final RL: the reference
// model's forward runs every step; checkpoints every 100 steps):
//   OMP_NUM_THREADS=1 dotnet run --project bench/R1Sharp.Bench -c Release -- grpo-memory [steps]
// Prints the resident set every 10 steps and its growth after warm-up (the first 20% of the steps): the peak of the last
// fifth of the run against the peak of the second fifth. Target ≤ 2% (no native tensor leaks).
// OMP_NUM_THREADS=1 is the sensible setting for a model this small (and much faster on a busy machine).
using System.Diagnostics;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;

static class GrpoMemory
{
    public static void Run(int steps)
    {
        var dir = Directory.CreateTempSubdirectory("r1sharp-grpo-memory-").FullName;
        try
        {
            TinyModel.Save(dir);
            var resident = new List<(int Step, double Megabytes, long Live, double Managed)>();
            var clock = Stopwatch.StartNew();
            GrpoRecipe.Run(new GrpoOptions
            {
                PromptsPerStep = 4, Generations = 4, Sampling = new() { MaxNewTokens = 32 }, Steps = steps, Beta = 0.04,
                Optimizer = new() { LearningRate = 1e-4, Schedule = ScheduleKind.Constant },
                EvalPrompts = 4, EvalSamples = 2, EvalSampling = new() { MaxNewTokens = 32, Temperature = 0.6, TopP = 0.95 },
                LogEvery = 10, CheckpointEvery = 100, Seed = 1,
            }, dir, Path.Combine(dir, "out"), RunSettings.Quiet(line =>
            {
                if (!line.StartsWith("step ")) return;
                int step = int.Parse(line[5..line.IndexOf('/')]);
                double mb = Process.GetCurrentProcess().WorkingSet64 / 1e6;
                resident.Add((step, mb, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount, GC.GetTotalMemory(false) / 1e6));
                Console.WriteLine($"step {step,5}: resident {mb:F1} MB, {resident[^1].Live} live tensors, managed heap {resident[^1].Managed:F1} MB   ({clock.Elapsed.TotalSeconds:F0} s)");
            }));
            // The resident set swings by several percent with the GC and the allocator's free lists, so compare like with
            // like: the peak of the second fifth of the run (just after warm-up) against the peak of the last fifth.
            IEnumerable<double> Between(double from, double to, Func<(int Step, double Megabytes, long Live, double Managed), double> value) =>
                resident.Where(r => r.Step > from * steps && r.Step <= to * steps).Select(value);
            double Peak(double from, double to, Func<(int Step, double Megabytes, long Live, double Managed), double> value) =>
                Between(from, to, value).DefaultIfEmpty(double.NaN).Max();
            double Median(double from, double to)
            {
                var v = Between(from, to, r => r.Megabytes).Order().ToArray();
                return v.Length == 0 ? double.NaN : (v[(v.Length - 1) / 2] + v[v.Length / 2]) / 2;
            }
            double early = Peak(0.2, 0.4, r => r.Megabytes), late = Peak(0.8, 1.0, r => r.Megabytes);
            Console.WriteLine($"{steps} GRPO steps in {clock.Elapsed.TotalSeconds:F0} s; resident: first logged {resident[0].Megabytes:F1} MB; " +
                              $"steps {steps / 5}–{2 * steps / 5} peak {early:F1} MB (median {Median(0.2, 0.4):F1}), " +
                              $"last {steps / 5} steps peak {late:F1} MB (median {Median(0.8, 1.0):F1}): growth after warm-up {(late - early) / early:P1} (target ≤ 2%)");
            // Tensors left to the GC's finalizer would show here first (the reference forward's did, before β > 0 was measured).
            Console.WriteLine($"live tensors: first logged {resident[0].Live}, last {resident[^1].Live}, most {resident.Max(r => r.Live)}; managed heap: " +
                              $"steps {steps / 5}–{2 * steps / 5} peak {Peak(0.2, 0.4, r => r.Managed):F1} MB, last {steps / 5} steps peak {Peak(0.8, 1.0, r => r.Managed):F1} MB");
            // Each Scalar left to the finalizer can pin a freed activation block until a collection (DisposingAdamW.cs).
            Console.WriteLine($"Scalars left to the finalizer: {TorchSharpScalars.CountAfterCollection() / (double)steps:F0} a step (the evaluations' included)");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
