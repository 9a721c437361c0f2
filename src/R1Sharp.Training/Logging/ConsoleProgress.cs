using System.Globalization;
using Spectre.Console;

namespace R1Sharp.Training.Logging;

/// <summary>How <see cref="MetricsLogger"/> shows progress on the console.</summary>
public enum ConsoleDisplay
{
    /// <summary>A live progress bar when standard output is an interactive terminal, plain lines otherwise.</summary>
    Auto,

    /// <summary>A live Spectre.Console progress bar whose description holds the latest metrics.</summary>
    Live,

    /// <summary>One line per logged step (every <see cref="MetricsLoggerOptions.PlainEvery"/> steps).</summary>
    Plain,

    /// <summary>Nothing on the console.</summary>
    None,
}

/// <summary>The console side of the metrics logger.</summary>
internal interface IConsoleProgress : IDisposable
{
    void Step(long step, IReadOnlyList<KeyValuePair<string, double>> metrics, double secondsPerStep);

    void Message(string text);
}

/// <summary>Formats a step's metrics as one short line: <c>step 12/100 | loss 1.2346 | lr 3e-06 | 2.10 s/step</c>.</summary>
internal static class MetricsText
{
    public static string Line(long step, long? total, IReadOnlyList<KeyValuePair<string, double>> metrics, double secondsPerStep)
    {
        var parts = new List<string> { total is long t ? $"step {step}/{t}" : $"step {step}" };
        parts.AddRange(metrics.Select(kv => $"{kv.Key} {Number(kv.Value)}"));
        if (double.IsFinite(secondsPerStep) && secondsPerStep > 0) parts.Add($"{secondsPerStep.ToString("F2", CultureInfo.InvariantCulture)} s/step");
        return string.Join(" | ", parts);
    }

    /// <summary><c>42s</c>, <c>7m05s</c>, <c>3h12m</c>: a time left, to the precision that matters.</summary>
    public static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, Math.Round(seconds)));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }

    /// <summary>Four decimals in the usual range, scientific notation for very small or large values.</summary>
    public static string Number(double v)
    {
        if (!double.IsFinite(v)) return v.ToString(CultureInfo.InvariantCulture);
        double a = Math.Abs(v);
        if (a == 0 || (a >= 1e-3 && a < 1e6)) return v.ToString("0.####", CultureInfo.InvariantCulture);
        return v.ToString("0.###e+0", CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Plain lines, for logs, pipes and CI (Spectre's live display prints nothing there): one per printed step, with the seconds
/// per step and, when the total is known, the time left (from a moving average of the step time). A step logged again (an
/// evaluation after the last training step) prints only the metrics its earlier line did not show, never the same line twice.
/// </summary>
internal sealed class PlainProgress(TextWriter output, long? total, int every) : IConsoleProgress
{
    private long _count;
    private long? _printedStep;
    private HashSet<string> _printedKeys = [];
    private double _averageSeconds = double.NaN;

    public void Step(long step, IReadOnlyList<KeyValuePair<string, double>> metrics, double secondsPerStep)
    {
        if (double.IsFinite(secondsPerStep) && secondsPerStep > 0)
            _averageSeconds = double.IsNaN(_averageSeconds) ? secondsPerStep : 0.8 * _averageSeconds + 0.2 * secondsPerStep;
        if (step == _printedStep)
        {
            var fresh = metrics.Where(kv => !_printedKeys.Contains(kv.Key)).ToList();
            if (fresh.Count == 0) return;
            _printedKeys.UnionWith(fresh.Select(kv => kv.Key));
            output.WriteLine(MetricsText.Line(step, total, fresh, double.NaN));
            output.Flush();
            return;
        }
        if (_count++ % every != 0 && step != total) return;
        string line = MetricsText.Line(step, total, metrics, secondsPerStep);
        if (total is long t && step < t && double.IsFinite(_averageSeconds))
            line += " | ETA " + MetricsText.Duration(_averageSeconds * (t - step));
        output.WriteLine(line);
        output.Flush();
        _printedStep = step;
        _printedKeys = [.. metrics.Select(kv => kv.Key)];
    }

    public void Message(string text)
    {
        output.WriteLine(text);
        output.Flush();
    }

    public void Dispose() => output.Flush();
}

/// <summary>
/// A Spectre.Console progress bar (description = latest metrics, bar, percentage, elapsed and remaining time) that
/// renders on its own thread while training calls <see cref="Step"/>; messages print above the bar.
/// </summary>
internal sealed class LiveProgress : IConsoleProgress
{
    private readonly ManualResetEventSlim _ready = new();
    private readonly ManualResetEventSlim _done = new();
    private readonly Thread _thread;
    private readonly long? _total;
    private ProgressTask? _task;
    private Exception? _failure;

    public LiveProgress(string description, long? total)
    {
        _total = total;
        _thread = new Thread(() =>
        {
            try
            {
                AnsiConsole.Progress()
                    .AutoClear(false)
                    .HideCompleted(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                             new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .Start(ctx =>
                    {
                        _task = ctx.AddTask(Markup.Escape(description), autoStart: true, maxValue: total ?? 1);
                        _task.IsIndeterminate = total is null;
                        _ready.Set();
                        _done.Wait();
                        ctx.Refresh();
                    });
            }
            catch (Exception e)
            {
                _failure = e;
            }
            finally
            {
                _ready.Set();
            }
        })
        { IsBackground = true, Name = "metrics-progress" };
        _thread.Start();
        _ready.Wait();
        if (_failure is not null) throw new InvalidOperationException($"Live progress display failed: {_failure.Message}", _failure);
    }

    public void Step(long step, IReadOnlyList<KeyValuePair<string, double>> metrics, double secondsPerStep)
    {
        if (_task is null) return;
        _task.Description = Markup.Escape(MetricsText.Line(step, _total, metrics, secondsPerStep));
        _task.Value = _total is null ? 0 : step;
    }

    public void Message(string text) => AnsiConsole.WriteLine(text);

    public void Dispose()
    {
        _done.Set();
        _thread.Join();
        _ready.Dispose();
        _done.Dispose();
    }
}
