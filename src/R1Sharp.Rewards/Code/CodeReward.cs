using System.Security.Cryptography;

namespace R1Sharp.Rewards.Code;

/// <summary>Options of <see cref="CodeReward"/>.</summary>
public sealed record CodeRewardOptions
{
    /// <summary>Language when the tests do not name one (open-r1's verification_info does).</summary>
    public string DefaultLanguage { get; init; } = "python";

    /// <summary>Numeric tolerance for output tokens; null compares tokens exactly.</summary>
    public FloatTolerance? Tolerance { get; init; }

    /// <summary>Reference fields read for the tests, first present wins.</summary>
    public IReadOnlyList<string> TestFields { get; init; } = ["tests", "verification_info"];
}

/// <summary>The outcome of one test case, for logging.</summary>
/// <param name="Index">Position in the problem's test list.</param>
/// <param name="Kind"><c>stdio</c> or <c>assert</c>.</param>
/// <param name="Passed">Whether the test passed.</param>
/// <param name="Status">How the run ended.</param>
/// <param name="Reason">Why it failed (the sandbox's reason, or the first output difference), or "passed".</param>
/// <param name="Duration">Wall time of the run.</param>
public sealed record CodeTestResult(int Index, string Kind, bool Passed, ExecutionStatus Status, string Reason, TimeSpan Duration);

/// <summary>The judgement of one completion: its score (null = cannot judge), the program run, a one-line summary
/// and per-test results.</summary>
public sealed record CodeEvaluation(double? Score, string Language, string? Program, string Summary, IReadOnlyList<CodeTestResult> Tests);

/// <summary>
/// The code reward (docs/code-sandbox.md): takes the last fenced program in the completion (see
/// <see cref="CodeExtractor"/>), runs it against every test case of the problem in the <see cref="CodeSandbox"/>
/// (all runs of the batch in parallel, bounded by the sandbox's workers), and scores the share of tests passed.
/// A stdin/stdout test passes when the program exits 0 and ALL output lines match (<see cref="OutputComparer"/>);
/// an assert test passes when program + snippet exits 0 and prints the run's random pass marker after the snippet
/// (<see cref="CodeLanguage.AppendTest"/>). No program → 0. No tests field, tests in a language
/// with no runner, or a sandbox failure → null (cannot judge). Malformed tests → null, with the parse error in
/// the summary.
/// </summary>
public sealed class CodeReward(CodeSandbox sandbox, CodeRewardOptions? options = null) : IReward
{
    private readonly CodeRewardOptions _options = options ?? new CodeRewardOptions();

    /// <inheritdoc />
    public string Name => "code";

    /// <summary>The sandbox the programs run in.</summary>
    public CodeSandbox Sandbox => sandbox;

    /// <inheritdoc />
    public IReadOnlyList<double?> Score(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) =>
        Evaluate(batch, cancellationToken).Select(e => e.Score).ToList();

    /// <summary>Scores with per-test details (for logs and reports).</summary>
    public IReadOnlyList<CodeEvaluation> Evaluate(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default) =>
        EvaluateAsync(batch, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Asynchronous <see cref="Evaluate"/>.</summary>
    public async Task<IReadOnlyList<CodeEvaluation>> EvaluateAsync(IReadOnlyList<RewardInput> batch, CancellationToken cancellationToken = default)
    {
        var parsed = new Dictionary<string, object>(); // tests JSON → CodeTests or error message (groups share tests)
        var jobs = batch.Select(input => EvaluateOneAsync(input, parsed, cancellationToken)).ToList();
        return await Task.WhenAll(jobs).ConfigureAwait(false);
    }

    private async Task<CodeEvaluation> EvaluateOneAsync(RewardInput input, Dictionary<string, object> parsed, CancellationToken cancellationToken)
    {
        string? field = _options.TestFields.FirstOrDefault(f => input.Field(f) is not null);
        if (field is null)
            return new(null, _options.DefaultLanguage, null, $"no tests (fields {string.Join(", ", _options.TestFields)} absent)", []);
        string json = input.Field(field)!;
        object entry;
        lock (parsed)
        {
            if (!parsed.TryGetValue(json, out entry!))
            {
                try { entry = CodeTests.Parse(json, field); }
                catch (CodeTestsFormatException e) { entry = e.Message; }
                parsed[json] = entry;
            }
        }
        if (entry is string error) return new(null, _options.DefaultLanguage, null, error, []);
        var tests = (CodeTests)entry;
        string languageName = tests.Language ?? _options.DefaultLanguage;
        var language = CodeLanguages.Find(languageName);
        if (language is null)
            return new(null, languageName, null, $"no runner for language '{languageName}'", []);
        if (tests.Cases.Count == 0)
            return new(null, language.Name, null, $"{field}: no test cases", []);

        string? program = CodeExtractor.LastProgram(input.Completion, language);
        if (program is null)
            return new(0.0, language.Name, null, $"no ```{language.Name} (or untagged) code block found", []);

        var runs = tests.Cases.Select((test, i) => RunTestAsync(i, test, language, program, cancellationToken));
        var results = await Task.WhenAll(runs).ConfigureAwait(false);
        var sandboxError = results.FirstOrDefault(r => r.Status == ExecutionStatus.SandboxError);
        if (sandboxError is not null)
            return new(null, language.Name, program, $"sandbox error: {sandboxError.Reason}", results);
        int passed = results.Count(r => r.Passed);
        return new((double)passed / results.Length, language.Name, program, $"{passed}/{results.Length} tests passed", results);
    }

    private async Task<CodeTestResult> RunTestAsync(int index, CodeTestCase test, CodeLanguage language, string program, CancellationToken cancellationToken)
    {
        switch (test)
        {
            case StdioTestCase stdio:
            {
                var run = await sandbox.RunAsync(language.Name, program, stdio.Input, cancellationToken).ConfigureAwait(false);
                if (run.Status != ExecutionStatus.Success)
                    return new(index, "stdio", false, run.Status, run.Reason, run.Duration);
                var comparison = OutputComparer.Compare(run.Stdout, stdio.ExpectedOutput, _options.Tolerance);
                return new(index, "stdio", comparison.Equal, run.Status, comparison.Difference ?? "passed", run.Duration);
            }
            case AssertTestCase assert:
            {
                // A fresh marker per run, printed after the snippet: exit code 0 alone is easy to forge.
                string marker = "r1sharp-asserts-passed-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
                var run = await sandbox.RunAsync(language.Name, language.AppendTest(program, assert.Code, marker), "", cancellationToken).ConfigureAwait(false);
                if (run.Status != ExecutionStatus.Success)
                    return new(index, "assert", false, run.Status, run.Reason, run.Duration);
                bool ok = CodeLanguage.PassedAsserts(run.Stdout, marker);
                return new(index, "assert", ok, run.Status,
                    ok ? "passed" : "exit code 0 but the asserts did not finish (the program ended before or while they ran)", run.Duration);
            }
            default:
                throw new ArgumentException($"unknown test case type {test.GetType().Name}", nameof(test));
        }
    }
}
