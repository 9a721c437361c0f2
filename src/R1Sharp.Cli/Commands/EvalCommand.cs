using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Eval;
using R1Sharp.Text.Templates;

namespace R1Sharp.Cli.Commands;

/// <summary>
/// <c>r1sharp eval (--model DIR | --endpoint URL --served-model NAME) --benchmark gsm8k|math500|aime24|countdown|FILE.jsonl</c>:
/// DeepSeek-R1's evaluation protocol (k samples, pass@1, cons@k, pass@k) through <see cref="Evaluation"/>.
/// </summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var backend = new BackendOptions();
        var benchmark = new Option<string>("--benchmark", "-b") { Description = "gsm8k, math500, aime24, countdown, or a .jsonl/.parquet file with a question and an 'answer' per row.", Required = true };
        var samples = new Option<int>("--samples", "-k", "--num-samples", "--num_samples", "--num-generations", "--num_generations") { Description = "k: samples per problem (pass@1 is their mean correctness; cons@k their majority vote).", DefaultValueFactory = _ => 1 };
        var temperature = new Option<double>("--temperature", "-t") { Description = "Sampling temperature (R1: 0.6; 0 is greedy).", DefaultValueFactory = _ => 0.6 };
        var topP = new Option<double>("--top-p") { Description = "Nucleus sampling (R1: 0.95).", DefaultValueFactory = _ => 0.95 };
        var topK = new Option<int>("--top-k") { Description = "Keep the K most probable tokens (0 = off)." };
        var maxNew = Shared.MaxNewTokens(32768, "Most tokens per sample (R1: 32768); a local model also stops at its context.");
        var promptField = new Option<string?>("--prompt-field", "--prompt_field") { Description = "For a data file: the column holding the question (default: the first of prompt, question, problem, input)." };
        var answerField = new Option<string?>("--answer-field", "--answer_field") { Description = "For a data file: the column holding the gold answer (default: answer)." };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N problems." };
        var output = new Option<string?>("--output", "-o") { Description = "Folder for config.json, results.jsonl and summary.json; rerunning with the same folder resumes." };
        var template = new Option<string>("--template")
        {
            Description = "How the prompt is presented: auto (chat when the model has a chat template or an endpoint is used, else plain), " +
                          "chat, plain, r1-zero, raw (as is), or a file holding a text template with {prompt}.",
            DefaultValueFactory = _ => "auto",
        };
        var instruction = new Option<string?>("--instruction")
        {
            Description = "Text after each math question (default: \"Please reason step by step, and put your final answer within \\boxed{}.\"; " +
                          "none with --template r1-zero; \"\" for none).",
        };
        var system = new Option<string?>("--system") { Description = "A system message (chat template only). R1 recommends none." };
        var stop = new Option<string[]>("--stop") { Description = "Stop string (repeatable).", AllowMultipleArgumentsPerToken = false };
        var seed = new Option<long?>("--seed") { Description = "Random seed sent with every request." };
        var json = Shared.Json();
        var command = new Command("eval", "Evaluate a model on a benchmark the way DeepSeek-R1 does: k samples per problem, pass@1, cons@k, pass@k.")
        {
            benchmark, promptField, answerField, samples, temperature, topP, topK, maxNew, limit, output, template, instruction, system, stop, seed, json,
        };
        foreach (var option in backend.All) command.Options.Add(option);
        command.SetAction((r, ct) => Task.FromResult(Run(r, ct)));
        return command;

        int Run(ParseResult r, CancellationToken ct)
        {
            string templateName = r.GetValue(template)!;
            string? instructionText = r.GetValue(instruction) ?? (templateName == "r1-zero" ? null : EvalTasks.MathInstruction);
            R1Sharp.Tasks.TaskDefinition task;
            try
            {
                task = EvalTasks.Load(r.GetValue(benchmark)!, instructionText, ct, r.GetValue(promptField), r.GetValue(answerField));
            }
            catch (R1Sharp.Data.DatasetFormatException e)
            {
                throw new UserError(e.Message);
            }
            var (generator, modelName) = backend.Create(r);
            using var _ = generator;
            var chosen = Template(templateName, generator);
            var options = new EvalOptions
            {
                Samples = r.GetValue(samples),
                Sampling = new GenerationOptions
                {
                    Temperature = r.GetValue(temperature), TopP = r.GetValue(topP), TopK = r.GetValue(topK), MaxNewTokens = r.GetValue(maxNew),
                    Seed = r.GetValue(seed), Stop = r.GetValue(stop) ?? [],
                },
                Limit = r.GetValue(limit),
                Template = chosen,
                SystemPrompt = r.GetValue(system),
                ModelName = modelName,
            };
            int total = Math.Min(task.Examples.Count, options.Limit ?? int.MaxValue);
            Console.Error.WriteLine($"[eval] {task.Name}: {total} problems × {options.Samples} samples on {generator.Description}, " +
                                    $"template {chosen?.Name ?? "raw"}, temperature {options.Sampling.Temperature}, top-p {options.Sampling.TopP}, max {options.Sampling.MaxNewTokens} new tokens");
            EvalSummary summary;
            try
            {
                summary = Evaluation.Run(generator, task, options, r.GetValue(output), new ProgressLines(), ct);
            }
            catch (Exception e) when (e is InvalidOperationException or GenerationException)
            {
                throw new UserError(e.Message);
            }

            if (r.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(summary, ResultsFolder.JsonOptions));
            else Print(summary, r.GetValue(output));
            return 0;
        }
    }

    private static PromptTemplate? Template(string name, IGenerationBackend backend)
    {
        if (name == "auto")
            return backend is LocalGenerationBackend local && local.Model.ChatTemplate is null ? PromptTemplate.Plain : PromptTemplate.Chat;
        if (name == "raw") return null;
        if (PromptTemplate.Presets.TryGetValue(name, out var preset)) return preset;
        if (File.Exists(name)) return PromptTemplate.FromText(Path.GetFileName(name), File.ReadAllText(name));
        throw new UserError($"--template: '{name}' is not auto, raw, {string.Join(", ", PromptTemplate.Presets.Keys)} or an existing file");
    }

    private static void Print(EvalSummary s, string? output)
    {
        var c = CultureInfo.InvariantCulture;
        Console.WriteLine($"{s.Task}: {s.Problems} problems × {s.K} samples ({s.Model})");
        Console.WriteLine(string.Create(c, $"  pass@1        {s.PassAt1:F4} ± {s.PassAt1StdErr:F4}"));
        Console.WriteLine(string.Create(c, $"  cons@{s.K,-8} {s.ConsAtK:F4}"));
        Console.WriteLine(string.Create(c, $"  pass@{s.K,-8} {s.PassAtK:F4}"));
        Console.WriteLine(string.Create(c, $"  format        {s.FormatRate:F4}   answered {s.AnswerRate:F4}   truncated {s.TruncatedRate:F4}"));
        Console.WriteLine(string.Create(c, $"  mean length   {s.MeanLength:F1} tokens (correct {Opt(s.MeanLengthCorrect)}, incorrect {Opt(s.MeanLengthIncorrect)})"));
        if (s.LanguageConsistency is { } l) Console.WriteLine(string.Create(c, $"  language      {l:F4}"));
        string resumed = s.ResumedProblems > 0 ? $" ({s.ResumedProblems} problems resumed)" : "";
        Console.WriteLine(string.Create(c, $"  {s.CompletionTokens:N0} tokens generated in {s.WallSeconds:F1} s = {s.TokensPerSecond:F1} tokens/s{resumed}"));
        if (output is not null) Console.WriteLine($"results: {Path.Combine(output, ResultsFolder.ResultsFile)}, {Path.Combine(output, ResultsFolder.SummaryFile)}");
        static string Opt(double? x) => x is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) : "—";
    }

    /// <summary>Plain progress lines on stderr (at most every 2 s, and at the end): they read well in terminals and logs alike.</summary>
    private sealed class ProgressLines : IProgress<EvalProgress>
    {
        private readonly Stopwatch _since = Stopwatch.StartNew();

        public void Report(EvalProgress p)
        {
            if (p.Done < p.Total && _since.Elapsed < TimeSpan.FromSeconds(2)) return;
            _since.Restart();
            double rate = p.TokensPerSecond;
            string eta = p.Done == 0 || p.Done == p.Total || p.Elapsed.TotalSeconds < 1 ? "" : $", eta {Format(TimeSpan.FromSeconds(p.Elapsed.TotalSeconds / Math.Max(1, p.Done) * (p.Total - p.Done)))}";
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[eval] {p.Done}/{p.Total} problems, pass@1 {p.PassAt1:F3}, {rate:F0} tokens/s, {Format(p.Elapsed)}{eta}"));
        }

        private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{(int)t.TotalMinutes}m{t.Seconds:D2}s";
    }
}
