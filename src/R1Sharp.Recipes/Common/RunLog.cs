using R1Sharp.Training.Logging;

namespace R1Sharp.Recipes.Common;

/// <summary>How a recipe is run, apart from its options: resume or start fresh, what the console shows, where messages go.</summary>
/// <param name="Resume">Continue from the run folder's last complete checkpoint (start fresh when there is none).</param>
/// <param name="Display">Live progress in a terminal, plain lines otherwise (Auto), or nothing (None, for tests).</param>
/// <param name="Log">Also receives every message and each step's one-line summary.</param>
public sealed record RunSettings(bool Resume = false, ConsoleDisplay Display = ConsoleDisplay.Auto, Action<string>? Log = null,
    CancellationToken Cancel = default)
{
    public static RunSettings Quiet(Action<string>? log = null, bool resume = false, CancellationToken cancel = default)
        => new(resume, ConsoleDisplay.None, log, cancel);
}

/// <summary>A recipe's reporting: messages, and per-step metrics to the console, metrics.jsonl and TensorBoard.</summary>
public sealed class RunLog : IDisposable
{
    readonly MetricsLogger metrics;
    readonly Action<string>? callback;

    public RunLog(string output, string description, long totalSteps, long? resumedAfterStep, RunSettings settings,
        IReadOnlyList<string>? consoleMetrics = null)
    {
        callback = settings.Log;
        metrics = new MetricsLogger(new MetricsLoggerOptions
        {
            RunDirectory = output, TotalSteps = totalSteps, Console = settings.Display, ResumeAfterStep = resumedAfterStep,
            Description = description, ConsoleMetrics = consoleMetrics,
        });
    }

    public void Say(string text)
    {
        callback?.Invoke(text);
        metrics.Message(text);
    }

    public void Step(long step, IReadOnlyDictionary<string, double> values, string summary)
    {
        metrics.Log(step, values);
        callback?.Invoke(summary);
    }

    public void Dispose() => metrics.Dispose();
}
