// Resident memory over a long GRPO run (the recipe end to end on the embedded arithmetic task, 1m preset,
// 4 prompts × G 4 × 32 new tokens per step, accuracy + format rewards, checkpoints every 100 steps):
//   dotnet run --project bench/R1Sharp.Bench -c Release -- grpo-memory [steps]
// Prints the resident set every 10 steps and its growth after warm-up (the first 20% of the steps): the largest
// resident set after warm-up against the one at the end of warm-up. Target ≤ 2% (no native tensor leaks).
using System.Diagnostics;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Rewards.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;

static class GrpoMemory
{
    public static void Run(int steps)
    {
        var dir = Directory.CreateTempSubdirectory("r1sharp-grpo-memory-").FullName;
        try
        {
            var corpus = EmbeddedTask.PretrainingCorpus(new PretrainingCorpusOptions(Documents: 300, Seed: 1));
            var tokenizer = new BpeTrainer(new BpeTrainerOptions
            {
                VocabSize = 1024, SpecialTokens = ["<|endoftext|>"], EosToken = "<|endoftext|>", PadToken = "<|endoftext|>",
            }).Train(corpus);
            tokenizer.Save(dir);
            int eos = tokenizer.EosTokenId!.Value;
            using (var model = new CausalLM(ModelPresets.Create("1m", tokenizer.VocabSize, 1024, null, eos, eos)))
            {
                model.InitializeWeights(1);
                Checkpoint.Save(model, dir, companionsFrom: dir);
            }
            var resident = new List<(int Step, double Megabytes)>();
            var clock = Stopwatch.StartNew();
            GrpoRecipe.Run(new GrpoOptions
            {
                PromptsPerStep = 4, Generations = 4, MaxCompletionLength = 32, Steps = steps, LearningRate = 1e-4,
                EvalPrompts = 4, EvalSamples = 2, LogEvery = 10, CheckpointEvery = 100, Seed = 1,
            }, dir, Path.Combine(dir, "out"), RunSettings.Quiet(line =>
            {
                if (!line.StartsWith("step ")) return;
                int step = int.Parse(line[5..line.IndexOf('/')]);
                double mb = Process.GetCurrentProcess().WorkingSet64 / 1e6;
                resident.Add((step, mb));
                Console.WriteLine($"step {step,5}: resident {mb:F1} MB   ({clock.Elapsed.TotalSeconds:F0} s)");
            }));
            int warmup = steps / 5;
            var atWarmup = resident.Where(r => r.Step <= warmup).DefaultIfEmpty(resident[0]).Last();
            var after = resident.Where(r => r.Step > warmup).ToList();
            if (after.Count > 0)
            {
                double peak = after.Max(r => r.Megabytes);
                Console.WriteLine($"{steps} GRPO steps in {clock.Elapsed.TotalSeconds:F0} s; resident after warm-up (step {atWarmup.Step}) {atWarmup.Megabytes:F1} MB, " +
                                  $"then {after.Min(r => r.Megabytes):F1}–{peak:F1} MB, last {resident[^1].Megabytes:F1} MB: " +
                                  $"growth {(peak - atWarmup.Megabytes) / atWarmup.Megabytes:P1} (target ≤ 2%); first logged {resident[0].Megabytes:F1} MB");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
