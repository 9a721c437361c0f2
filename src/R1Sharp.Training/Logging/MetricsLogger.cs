namespace R1Sharp.Training.Logging;

/// <summary>Where and how <see cref="MetricsLogger"/> writes.</summary>
public sealed record MetricsLoggerOptions
{
    /// <summary>The run folder: <c>metrics.jsonl</c> and the TensorBoard event file go here. Null: console only.</summary>
    public string? RunDirectory { get; init; }

    /// <summary>Total steps of the run, for the progress bar and "step 12/100"; null when unknown.</summary>
    public long? TotalSteps { get; init; }

    /// <summary>Console display; <see cref="ConsoleDisplay.Auto"/> picks live or plain by whether stdout is a terminal.</summary>
    public ConsoleDisplay Console { get; init; } = ConsoleDisplay.Auto;

    /// <summary>Plain mode prints every this many logged steps (and the last step).</summary>
    public int PlainEvery { get; init; } = 1;

    /// <summary>Metrics shown on the console, in this order; null shows all. Files always get every metric.</summary>
    public IReadOnlyList<string>? ConsoleMetrics { get; init; }

    /// <summary>Write a TensorBoard event file in <see cref="RunDirectory"/>.</summary>
    public bool TensorBoard { get; init; } = true;

    /// <summary>Write <c>metrics.jsonl</c> in <see cref="RunDirectory"/>.</summary>
    public bool Jsonl { get; init; } = true;

    /// <summary>
    /// Resuming from a checkpoint taken after this step: <c>metrics.jsonl</c> is cut back to it
    /// (<see cref="MetricsJsonl.TruncateAfter"/>) and TensorBoard is told to hide the old run's later steps
    /// (<see cref="TensorBoardWriter.Purge"/>). Null: a fresh run (an existing metrics.jsonl is appended to).
    /// </summary>
    public long? ResumeAfterStep { get; init; }

    /// <summary>Label of the progress bar before the first step.</summary>
    public string Description { get; init; } = "training";

    /// <summary>Where plain lines go (default: standard output).</summary>
    public TextWriter? PlainOutput { get; init; }

    /// <summary>Clock for wall times (tests pass a fixed one).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>
/// Per-step training metrics (name → value) to the console, <c>metrics.jsonl</c> and TensorBoard at once:
/// <list type="bullet">
/// <item>console: a live Spectre.Console progress bar with the latest metrics when standard output is a terminal,
/// plain lines otherwise (Spectre's progress prints nothing when output is redirected);</item>
/// <item><c>metrics.jsonl</c> in the run folder: one object per step, appended and flushed every step
/// (<see cref="MetricsJsonl"/>);</item>
/// <item>a TensorBoard event file in the run folder, one event per step (<see cref="TensorBoardWriter"/>):
/// <c>tensorboard --logdir runs/</c>.</item>
/// </list>
/// A recipe makes one per run, calls <see cref="Log"/> once per step (steps must not decrease) and disposes it at the
/// end. TensorBoard groups the metrics by <see cref="TensorBoardTag"/>: use <c>/</c> to name a group (<c>rewards/accuracy</c>).
/// </summary>
public sealed class MetricsLogger : IDisposable
{
    /// <summary>The metrics file's name in the run folder.</summary>
    public const string JsonlFileName = "metrics.jsonl";

    private readonly MetricsLoggerOptions _options;
    private readonly MetricsJsonl? _jsonl;
    private readonly TensorBoardWriter? _tensorBoard;
    private readonly IConsoleProgress? _console;
    private readonly object _gate = new();
    private long? _lastStep;
    private long _lastTimestamp;
    private bool _disposed;

    /// <summary>Opens the files (creating the run folder) and starts the console display.</summary>
    public MetricsLogger(MetricsLoggerOptions? options = null)
    {
        _options = options ?? new MetricsLoggerOptions();
        if (_options.PlainEvery < 1) throw new ArgumentOutOfRangeException(nameof(options), "PlainEvery must be at least 1.");
        if (_options.RunDirectory is { } dir)
        {
            Directory.CreateDirectory(dir);
            if (_options.Jsonl)
            {
                string path = Path.Combine(dir, JsonlFileName);
                if (_options.ResumeAfterStep is long resume) MetricsJsonl.TruncateAfter(path, resume);
                _jsonl = new MetricsJsonl(path);
            }
            if (_options.TensorBoard)
            {
                _tensorBoard = new TensorBoardWriter(dir, _options.Clock);
                if (_options.ResumeAfterStep is long resume) _tensorBoard.Purge(resume + 1);
            }
        }
        _lastStep = _options.ResumeAfterStep;
        _console = ResolveDisplay(_options.Console) switch
        {
            ConsoleDisplay.Live => new LiveProgress(_options.Description, _options.TotalSteps),
            ConsoleDisplay.Plain => new PlainProgress(_options.PlainOutput ?? System.Console.Out, _options.TotalSteps, _options.PlainEvery),
            _ => null,
        };
        _lastTimestamp = _options.Clock.GetTimestamp();
    }

    /// <summary>The display in use after <see cref="ConsoleDisplay.Auto"/> was resolved.</summary>
    public ConsoleDisplay Display => _console switch { LiveProgress => ConsoleDisplay.Live, PlainProgress => ConsoleDisplay.Plain, _ => ConsoleDisplay.None };

    /// <summary>The metrics.jsonl path, or null.</summary>
    public string? JsonlPath => _jsonl?.Path;

    /// <summary>The TensorBoard event file, or null.</summary>
    public string? TensorBoardPath => _tensorBoard?.Path;

    /// <summary>Records the metrics of <paramref name="step"/> everywhere and flushes the files.</summary>
    /// <exception cref="ArgumentException">The step is lower than the previous one, or a metric is named step or wall_time.</exception>
    public void Log(long step, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        foreach (var key in metrics.Keys)
        {
            if (MetricsJsonl.ReservedKeys.Contains(key)) throw new ArgumentException($"'{key}' is not a metric name: every line has it already.", nameof(metrics));
            if (string.IsNullOrWhiteSpace(key)) throw new ArgumentException("A metric name is empty.", nameof(metrics));
        }
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (step < _lastStep) throw new ArgumentException($"Step {step} comes after step {_lastStep}: steps must not decrease.", nameof(step));
            double wallTime = (_options.Clock.GetUtcNow() - DateTimeOffset.UnixEpoch).TotalSeconds;
            long now = _options.Clock.GetTimestamp();
            double secondsPerStep = _lastStep is long previous && step > previous
                ? _options.Clock.GetElapsedTime(_lastTimestamp, now).TotalSeconds / (step - previous)
                : double.NaN;
            _lastStep = step;
            _lastTimestamp = now;

            _jsonl?.Append(step, wallTime, metrics);
            _tensorBoard?.AddScalars(step, metrics.Select(kv => KeyValuePair.Create(TensorBoardTag(kv.Key), kv.Value)));
            if (_console is not null)
            {
                var shown = _options.ConsoleMetrics is { } keys
                    ? keys.Where(metrics.ContainsKey).Select(k => new KeyValuePair<string, double>(k, metrics[k])).ToList()
                    : metrics.ToList();
                _console.Step(step, shown, secondsPerStep);
            }
        }
    }

    /// <summary>
    /// The TensorBoard tag of a metric, so that TensorBoard shows it in a group: a name with a <c>/</c> keeps its group
    /// (<c>rewards/accuracy</c>, <c>rollout/staleness_max</c>), <c>eval_x</c> becomes <c>eval/x</c>, any other name
    /// <c>train/name</c> (<c>train/loss</c>). metrics.jsonl keeps the names as they are.
    /// </summary>
    public static string TensorBoardTag(string metric) =>
        metric.Contains('/') ? metric
            : metric.StartsWith("eval_", StringComparison.Ordinal) ? "eval/" + metric["eval_".Length..]
            : "train/" + metric;

    /// <summary>A line of text for the console (above the live bar, or between the plain lines); not written to files.</summary>
    public void Message(string text)
    {
        lock (_gate) _console?.Message(text);
    }

    private static ConsoleDisplay ResolveDisplay(ConsoleDisplay requested) => requested switch
    {
        ConsoleDisplay.Auto => IsInteractiveTerminal() ? ConsoleDisplay.Live : ConsoleDisplay.Plain,
        _ => requested,
    };

    private static bool IsInteractiveTerminal() =>
        !System.Console.IsOutputRedirected && Spectre.Console.AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Stops the display and closes the files.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _console?.Dispose();
            _jsonl?.Dispose();
            _tensorBoard?.Dispose();
        }
    }
}
