using R1Sharp.Engine.Generation;
using R1Sharp.Training.Runs;
// One GRPO step, R1Sharp against a minimal PyTorch eager GRPO step on the same weights:
//   dotnet run --project bench/R1Sharp.Bench -c Release -- grpo [--preset 6m|25m|...] [--quick]
//
// The step: 16 prompts (32 random tokens each) × G = 8 completions of exactly 128 new tokens (no stop token on
// either side, so both do identical work), KV-cache decoding at temperature 1; then the recipe's policy update
// (GrpoRecipe.Update: completion log-probs with grad in micro-batches of 32, clipped surrogate with μ = 1, dapo
// aggregation, β = 0, backward, clip the gradient norm to 1, AdamW) with advantages normalised per group from
// random but fixed rewards. The PyTorch side (bench/pytorch/reference.py grpo) loads the same safetensors
// checkpoint, and its update also runs once on R1Sharp's own completions of round 1, so the gradient norms
// before clipping can be compared on identical inputs. Rounds are interleaved (ours, theirs, ours, theirs);
// each side warms up first with a small step. Target: R1Sharp ≤ 0.7× PyTorch's step time.
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Engine;
using R1Sharp.Model;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Tasks;
using R1Sharp.Training.Losses.Grpo;
using R1Sharp.Training.Optim;
using static TorchSharp.torch;

static class GrpoStep
{
    const int Prompts = 16, Group = 8, PromptLength = 32, NewTokens = 128, Vocab = 4096;

    public static void Run(string preset, bool quick)
    {
        Console.WriteLine($"libtorch threads: {get_num_threads()}");
        var dir = Directory.CreateTempSubdirectory("r1sharp-bench-grpo-").FullName;
        try
        {
            var modelDir = Path.Combine(dir, "model");
            var config = ModelPresets.Create(preset, Vocab, 1024, null, 0, 0);
            using (var init = new CausalLM(config))
            {
                init.InitializeWeights(seed: 1);
                Checkpoint.Save(init, modelDir);
            }
            Console.WriteLine($"model: preset {preset}, d {config.HiddenSize}, {config.NumLayers} layers, vocab {Vocab} (tied), " +
                              $"{config.ParameterCount() / 1e6:F1}M parameters, random init, saved once as safetensors and loaded by both sides");
            using var policy = Checkpoint.Load(modelDir);

            var rng = new Random(7);
            var prompts = Enumerable.Range(0, Prompts).Select(_ => Enumerable.Range(0, PromptLength).Select(_ => rng.Next(Vocab)).ToArray()).ToArray();
            var rewards = Enumerable.Range(0, Prompts * Group).Select(_ => (double)rng.Next(2) + rng.NextDouble() * 0.5).ToArray();
            var (advantages, _) = GroupAdvantages.Compute(rewards, Group, AdvantageScaling.Group);
            File.WriteAllText(Path.Combine(dir, "prompts.json"), JsonSerializer.Serialize(prompts));
            File.WriteAllText(Path.Combine(dir, "rewards.json"), JsonSerializer.Serialize(rewards));
            var options = new GrpoOptions
            {
                PromptsPerStep = Prompts, Generations = Group, Sampling = new() { MaxNewTokens = NewTokens, Temperature = 1.0, TopP = 1.0 },
                LossType = LossType.Dapo, Beta = 0, Optimizer = new() { LearningRate = 1e-6, MaxGradNorm = 1.0, Schedule = ScheduleKind.Constant },
                MicroBatchSize = 32,
            };
            var aggregation = LossAggregations.For(options.LossType);
            var trainable = new Trainable<CausalLM>(policy, ScalarType.Float32, (c, dtype) => new CausalLM(c, dtype)); // float32: no copy
            var sampler = new Sampler(new CausalLMLanguageModel(policy)) { MaxBatchSize = 128 };
            var dummy = new TaskExample("bench", "", "", new Dictionary<string, string>());

            (double Generation, double Update, double GradNorm, int[][] Completions) Ours(int prompts_, int group, int newTokens, long seed)
            {
                var sw = Stopwatch.StartNew();
                policy.eval();
                var completions = sampler.Generate(prompts.Take(prompts_).Select(p => (IReadOnlyList<int>)p).ToList(),
                    new GenerationOptions { MaxNewTokens = newTokens, Temperature = 1.0, TopP = 1.0, Seed = seed }, group);
                double generation = sw.Elapsed.TotalSeconds;
                if (completions.Any(c => c.Tokens.Length != newTokens)) throw new InvalidOperationException("a completion stopped early");
                var samples = completions.Select((c, i) => new GrpoRecipe.Sample(dummy, prompts[c.PromptIndex], c.Tokens, c.LogProbs, true, "",
                    rewards[i], new Dictionary<string, double?>()) { Advantage = advantages[i] }).ToList();
                var optimizer = new OptimizerStep<CausalLM>(trainable, options.Optimizer, 1, _ => { }); // fresh state each round, as the PyTorch process
                var t1 = sw.Elapsed.TotalSeconds;
                var stats = GrpoRecipe.Update(policy, null, optimizer, samples, options with { Generations = group }, aggregation, CPU,
                    new Dictionary<string, double>(), sw, step: 0);
                optimizer.Optimizer.Dispose();
                return (generation, sw.Elapsed.TotalSeconds - t1, stats.GradNorm, completions.Select(c => c.Tokens).ToArray());
            }

            JsonNode? Theirs(string? completionsFile)
            {
                var script = Path.Combine(AppContext.BaseDirectory, "pytorch", "reference.py");
                var psi = new ProcessStartInfo("/usr/bin/python3", [script, "grpo", modelDir, "--prompts", Path.Combine(dir, "prompts.json"),
                    "--rewards", Path.Combine(dir, "rewards.json"), "--group", Group.ToString(), "--new", NewTokens.ToString(),
                    "--micro-batch", options.MicroBatchSize.ToString(), "--threads", get_num_threads().ToString()])
                { RedirectStandardOutput = true, RedirectStandardError = true };
                if (completionsFile is not null) { psi.ArgumentList.Add("--completions"); psi.ArgumentList.Add(completionsFile); }
                try
                {
                    using var p = Process.Start(psi)!;
                    var error = p.StandardError.ReadToEndAsync();
                    var output = p.StandardOutput.ReadToEnd();
                    p.WaitForExit();
                    if (p.ExitCode != 0) { Console.WriteLine($"PyTorch reference failed: {error.Result.Trim()}"); return null; }
                    return JsonNode.Parse(output);
                }
                catch (System.ComponentModel.Win32Exception)
                {
                    Console.WriteLine("PyTorch reference skipped: /usr/bin/python3 not found (apt-get install python3-torch)");
                    return null;
                }
            }

            // warm-up: a small step (the PyTorch process warms itself up the same way before its timed step)
            Ours(2, 2, 4, 1);

            var ours = new List<(double Generation, double Update)>();
            var theirs = new List<(double Generation, double Update)>();
            double ourNorm = 0, theirNorm = double.NaN;
            string completionsFile = Path.Combine(dir, "completions.json");
            for (int round = 0; round < (quick ? 1 : 2); round++)
            {
                var o = Ours(Prompts, Group, NewTokens, 100 + round);
                ours.Add((o.Generation, o.Update));
                Console.WriteLine($"  R1Sharp: generation {o.Generation:F2} s, update {o.Update:F2} s, step {o.Generation + o.Update:F2} s" +
                                  $"   (resident {Process.GetCurrentProcess().WorkingSet64 / 1e6:F0} MB)");
                if (round == 0)
                {
                    ourNorm = o.GradNorm;
                    File.WriteAllText(completionsFile, JsonSerializer.Serialize(o.Completions));
                }
                if (Theirs(round == 0 ? completionsFile : null) is { } t)
                {
                    double g = t["generation_seconds"]!.GetValue<double>(), u = t["update_seconds"]!.GetValue<double>();
                    theirs.Add((g, u));
                    if (round == 0) theirNorm = t["grad_norm"]!.GetValue<double>();
                    Console.WriteLine($"  PyTorch: generation {g:F2} s, update {u:F2} s, step {g + u:F2} s   (torch {t["torch"]}, " +
                                      $"its GEMM rate {t["gemm_gflops"]!.GetValue<double>():F0} GFLOP/s)");
                }
            }
            var best = ours.MinBy(x => x.Generation + x.Update);
            Console.WriteLine($"GRPO step ({Prompts} prompts × G {Group} × {NewTokens} new tokens, prompt {PromptLength}, {preset}): " +
                              $"R1Sharp {best.Generation + best.Update:F2} s (generation {ours.Min(x => x.Generation):F2}, update {ours.Min(x => x.Update):F2})");
            if (theirs.Count > 0)
            {
                var tb = theirs.MinBy(x => x.Generation + x.Update);
                Console.WriteLine($"                    PyTorch eager {tb.Generation + tb.Update:F2} s (generation {theirs.Min(x => x.Generation):F2}, update {theirs.Min(x => x.Update):F2})");
                Console.WriteLine($"ratio R1Sharp / PyTorch (best of each): step {(best.Generation + best.Update) / (tb.Generation + tb.Update):F2}× (target ≤ 0.7×), " +
                                  $"generation {ours.Min(x => x.Generation) / theirs.Min(x => x.Generation):F2}×, update {ours.Min(x => x.Update) / theirs.Min(x => x.Update):F2}×");
                Console.WriteLine($"gradient norm before clipping on R1Sharp's round-1 completions: R1Sharp {ourNorm:G6}, PyTorch {theirNorm:G6}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
