// Evaluation, DeepSeek-R1's protocol (paper §3, "Evaluation Setup"):
//   dotnet run --project src/R1Sharp.Cli -c Release -- eval --model DIR --benchmark gsm8k --samples 4 --output runs/gsm8k
//
// For each problem, k samples at temperature 0.6 / top-p 0.95 (greedy decoding makes long chains of thought
// repeat themselves). pass@1 = mean over problems of (correct samples / k); cons@k = majority vote over the k
// extracted answers; pass@k by the unbiased estimator. Correctness is the task's metric reward (Math-Verify's
// rules for math, or the task's own grader), the same grader its training rewards use. Generation goes through
// IGenerationBackend, so the same run works on the local model, on `r1sharp serve`, or on a vLLM/SGLang fleet. This is
// the one evaluation path: `r1sharp eval`, GRPO's before/after evaluation and the pipeline's eval stage all call it.
using System.Diagnostics;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Config;
using R1Sharp.Tasks;
using R1Sharp.Text.Templates;

namespace R1Sharp.Recipes.Eval;

public static class Evaluation
{
    /// <summary>
    /// Evaluates <paramref name="task"/> on <paramref name="backend"/>. With <paramref name="outputDirectory"/>, writes
    /// config.json, results.jsonl (as problems finish) and summary.json there, and resumes an interrupted run in the
    /// same folder. The GRPO recipe evaluates before and after training with it, on its policy.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, or duplicate problem ids.</exception>
    /// <exception cref="InvalidOperationException">The output folder holds a run with other settings.</exception>
    /// <exception cref="GenerationException">A request the backend could not complete (results so far are kept).</exception>
    public static async Task<EvalSummary> RunAsync(IGenerationBackend backend, TaskDefinition task, EvalOptions options,
        string? outputDirectory = null, IProgress<EvalProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ConfigBinder.Check(options, "eval");
        options.Sampling.Validate();
        var examples = task.Examples.Take(options.Limit ?? int.MaxValue).ToList();
        if (examples.Count == 0) throw new ArgumentException($"task '{task.Name}' has no problems");
        if (examples.GroupBy(e => e.Id).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
            throw new ArgumentException($"task '{task.Name}': problem id '{duplicate.Key}' appears {duplicate.Count()} times");

        var settings = Settings(task, options);
        using var folder = outputDirectory is null ? null : ResultsFolder.Open(outputDirectory, settings);
        var done = new Dictionary<string, ProblemResult>(StringComparer.Ordinal);
        foreach (var e in examples)
            if (folder?.Existing.TryGetValue(e.Id, out var previous) == true) done[e.Id] = previous;
        int resumed = done.Count;

        var scorer = new ProblemScorer(task);
        var todo = examples.Where(e => !done.ContainsKey(e.Id)).ToList();
        var requests = todo.Select(e => new GenerationRequest(Prompt(e.Prompt, options), options.Sampling, options.Samples) { Id = e.Id }).ToList();

        var clock = Stopwatch.StartNew();
        long tokens = 0;
        double correctSum = done.Values.Sum(p => p.PassAt1);
        progress?.Report(new EvalProgress(done.Count, examples.Count, done.Count == 0 ? 0 : correctSum / done.Count, 0, clock.Elapsed));
        if (requests.Count > 0)
        {
            await foreach (var (index, result) in backend.GenerateAsync(requests, cancellationToken).ConfigureAwait(false))
            {
                var problem = scorer.Score(todo[index], result, options.KeepText);
                done[problem.Id] = problem;
                folder?.Append(problem);
                tokens += result.CompletionTokens;
                correctSum += problem.PassAt1;
                progress?.Report(new EvalProgress(done.Count, examples.Count, correctSum / done.Count, tokens, clock.Elapsed));
            }
        }

        var summary = Summarize(task, options, backend.Description, [.. examples.Select(e => done[e.Id])], resumed, settings,
            clock.Elapsed.TotalSeconds, tokens);
        folder?.WriteSummary(summary);
        return summary;
    }

    /// <summary>As <see cref="RunAsync"/>, blocking.</summary>
    public static EvalSummary Run(IGenerationBackend backend, TaskDefinition task, EvalOptions options, string? outputDirectory = null,
        IProgress<EvalProgress>? progress = null, CancellationToken cancellationToken = default) =>
        RunAsync(backend, task, options, outputDirectory, progress, cancellationToken).GetAwaiter().GetResult();

    /// <summary>The request prompt for a problem's text under <see cref="EvalOptions.Template"/>.</summary>
    public static GenerationPrompt Prompt(string problem, EvalOptions options)
    {
        if (options.Template is null) return GenerationPrompt.FromText(problem);
        if (options.Template.Kind == PromptTemplateKind.Text) return GenerationPrompt.FromText(options.Template.Format(problem));
        return GenerationPrompt.FromChat(options.SystemPrompt is null
            ? [ChatMessage.User(problem)]
            : [ChatMessage.System(options.SystemPrompt), ChatMessage.User(problem)]);
    }

    /// <summary>The metrics over the problems of a run (see <see cref="EvalSummary"/>).</summary>
    public static EvalSummary Summarize(TaskDefinition task, EvalOptions options, string backend, IReadOnlyList<ProblemResult> problems,
        int resumed, EvalSettings settings, double wallSeconds, long completionTokens)
    {
        int k = options.Samples;
        var samples = problems.SelectMany(p => p.Samples).ToList();
        var perProblem = problems.Select(p => p.PassAt1).ToList();
        double mean = perProblem.Average();
        double stderr = perProblem.Count < 2 ? 0
            : Math.Sqrt(perProblem.Sum(x => (x - mean) * (x - mean)) / (perProblem.Count - 1) / perProblem.Count);
        var languages = samples.Where(s => s.Language is not null).Select(s => s.Language!.Value).ToList();
        var correct = samples.Where(s => s.Correct).ToList();
        var wrong = samples.Where(s => !s.Correct).ToList();
        return new EvalSummary
        {
            Task = task.Name,
            Model = options.ModelName,
            Backend = backend,
            Problems = problems.Count,
            K = k,
            PassAt1 = mean,
            PassAt1StdErr = stderr,
            ConsAtK = problems.Average(p => p.ConsCorrect ? 1.0 : 0.0),
            PassAtK = problems.Average(p => PassAtK.Estimate(k, p.Correct, k)),
            PassAtKCurve = PassAtK.Curve(k).ToDictionary(x => $"pass@{x}", x => problems.Average(p => PassAtK.Estimate(k, p.Correct, x))),
            FormatRate = samples.Average(s => s.Format ? 1.0 : 0.0),
            AnswerRate = samples.Average(s => s.Answer is null ? 0.0 : 1.0),
            MeanLength = samples.Average(s => (double)s.Tokens),
            MeanLengthCorrect = correct.Count == 0 ? null : correct.Average(s => (double)s.Tokens),
            MeanLengthIncorrect = wrong.Count == 0 ? null : wrong.Average(s => (double)s.Tokens),
            TruncatedRate = samples.Average(s => s.FinishReason == "length" ? 1.0 : 0.0),
            LanguageConsistency = languages.Count == 0 ? null : languages.Average(),
            SampleCount = samples.Count,
            CorrectSamples = correct.Count,
            SolvedProblems = problems.Count(p => p.Correct > 0),
            ResumedProblems = resumed,
            GeneratedProblems = problems.Count - resumed,
            WallSeconds = wallSeconds,
            CompletionTokens = completionTokens,
            TokensPerSecond = wallSeconds > 0 ? completionTokens / wallSeconds : 0,
            Settings = settings,
        };
    }

    private static EvalSettings Settings(TaskDefinition task, EvalOptions o) => new(
        task.Name, o.ModelName, o.Samples, o.Sampling.Temperature, o.Sampling.TopP, o.Sampling.TopK, o.Sampling.MinP, o.Sampling.MaxNewTokens,
        TemplateName(o.Template), o.SystemPrompt, o.Sampling.Stop, o.Sampling.Seed);

    private static string TemplateName(PromptTemplate? t) =>
        t is null ? "raw"
        : PromptTemplate.Presets.TryGetValue(t.Name, out var preset) && preset == t ? t.Name
        : $"{t.Name}: {t.Text}";
}
