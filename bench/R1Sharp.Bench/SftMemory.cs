using R1Sharp.Training.Runs;
// Resident memory over a long SFT run (the recipe end to end, packed rows of 512, batch 8, on the 1m preset):
//   dotnet run --project bench/R1Sharp.Bench -c Release -- sft-memory [steps]
// Prints the resident set every 10 steps. Native tensors per step are checked exactly by
// tests/R1Sharp.Recipes.Tests (SftRecipeTests.Native_tensors_stay_flat_across_steps); this shows the process as a whole:
// it grows while the allocator warms up, then should stay level.
using System.Diagnostics;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Sft;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;

static class SftMemory
{
    public static void Run(int steps)
    {
        var dir = Directory.CreateTempSubdirectory("r1sharp-sft-memory-").FullName;
        try
        {
            TinyModel.Save(dir);
            var resident = new List<(int Step, double Megabytes)>();
            SftRecipe.Run(new SftOptions
            {
                MaxLength = 512, BatchSize = 8, MaxSteps = steps, LogEvery = 10, EvalEvery = 50, CheckpointEvery = 100, Optimizer = new() { LearningRate = 1e-3, WarmupRatio = 0.03 },
            }, dir, Path.Combine(dir, "out"), examples: SftRecord.FromExamples(EmbeddedTask.ColdStartExamples(400)), settings: RunSettings.Quiet(line =>
            {
                if (!line.StartsWith("step ")) return;
                int step = int.Parse(line[5..line.IndexOf('/')]);
                double mb = Process.GetCurrentProcess().WorkingSet64 / 1e6;
                resident.Add((step, mb));
                Console.WriteLine($"step {step,5}: resident {mb:F0} MB");
            }));
            var late = resident.Where(r => r.Step > steps / 2).ToList();
            if (late.Count > 0)
                Console.WriteLine($"second half: resident {late.Min(r => r.Megabytes):F0}–{late.Max(r => r.Megabytes):F0} MB " +
                                  $"(first logged {resident[0].Megabytes:F0} MB, last {resident[^1].Megabytes:F0} MB)");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
