using System.CommandLine;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Training.Logging;
using R1Sharp.Training.Runs;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp demo [--output runs/demo] [--quick]</c>: DeepSeek-R1-Zero on a laptop CPU. Pretrains a ~1M-parameter
/// base model on the embedded arithmetic task, then trains it with GRPO and rule-checked rewards alone, and shows
/// what the paper reports: accuracy up, responses longer (the model learns to work before answering), format kept.
/// Rerunning resumes: finished stages are skipped, an interrupted one continues from its checkpoint.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--output", "-o") { Description = "Run folder (base/ and r1-zero/ inside).", DefaultValueFactory = _ => Path.Combine("runs", "demo") };
        var quick = new Option<bool>("--quick") { Description = "A smoke run in about a minute: every stage, a few steps each (the numbers mean nothing)." };
        var command = new Command("demo", "Run the embedded demo: pretrain a tiny base model, then R1-Zero GRPO from it, and report pass@1, length and format before and after.")
        {
            output, quick,
        };
        command.SetAction((r, ct) =>
        {
            var root = r.GetValue(output)!;
            bool q = r.GetValue(quick);
            var settings = new RunSettings(Resume: true, ConsoleDisplay.Auto, null, ct);

            var pretrain = new PretrainOptions();
            if (q) pretrain = pretrain with { Steps = 40, CorpusDocuments = 2000, CheckpointEvery = 20 };
            var baseDir = Path.Combine(root, "base");
            Console.WriteLine($"[1/2] pretraining the base model ({pretrain.Preset}, {pretrain.Steps} steps) → {baseDir}");
            string baseModel = File.Exists(Path.Combine(baseDir, "summary.json"))
                ? Path.Combine(baseDir, "model")
                : PretrainRecipe.Run(pretrain, baseDir, settings).ModelDirectory;

            var grpo = RecipePresets.R1ZeroEmbedded;
            if (q) grpo = grpo with { Steps = 4, EvalPrompts = 8, EvalSamples = 2, CheckpointEvery = 2 };
            var zeroDir = Path.Combine(root, "r1-zero");
            Console.WriteLine($"[2/2] R1-Zero: GRPO with accuracy + format rewards, {grpo.Steps} steps → {zeroDir}");
            var result = GrpoRecipe.Run(grpo, baseModel, zeroDir, settings);

            Console.WriteLine();
            Console.WriteLine($"{"",-12} {"pass@1",8} {"length",8} {"format",8}");
            Console.WriteLine($"{"base",-12} {result.Before.PassAt1,8:P1} {result.Before.MeanLength,8:F1} {result.Before.FormatRate,8:P0}");
            Console.WriteLine($"{"R1-Zero",-12} {result.After.PassAt1,8:P1} {result.After.MeanLength,8:F1} {result.After.FormatRate,8:P0}");
            Console.WriteLine($"(pass@1 over {grpo.EvalSamples} samples × {grpo.EvalPrompts} held-out prompts at T {grpo.EvalSampling.Temperature}, top-p {grpo.EvalSampling.TopP}; length in tokens)");
            Console.WriteLine($"model: {result.ModelDirectory}; metrics: {Path.Combine(zeroDir, "metrics.jsonl")}, samples: {Path.Combine(zeroDir, "completions.jsonl")}");
            return Task.FromResult(0);
        });
        return command;
    }
}
