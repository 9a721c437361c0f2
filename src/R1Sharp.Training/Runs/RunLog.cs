using R1Sharp.Training.Distributed;
using R1Sharp.Training.Logging;
using static TorchSharp.torch;

namespace R1Sharp.Training.Runs;

/// <summary>
/// How a recipe is run, apart from its options: where it computes (device and dtype, given once on the command line or at
/// the pipeline's top), whether it resumes, what the console shows, where messages go.
/// </summary>
/// <param name="Resume">Continue from the run folder's last complete checkpoint (start fresh when there is none).</param>
/// <param name="Display">Live progress in a terminal, plain lines otherwise (Auto), or nothing (None, for tests).</param>
/// <param name="Log">Also receives every message and each step's one-line summary.</param>
public sealed record RunSettings(bool Resume = false, ConsoleDisplay Display = ConsoleDisplay.Auto, Action<string>? Log = null,
    CancellationToken Cancel = default)
{
    /// <summary>Where tensors live (default: the CPU).</summary>
    public Device Device { get; init; } = CPU;

    /// <summary>
    /// The dtype models run forward and backward in. bfloat16 and float16 train with float32 master weights and optimiser
    /// state (<see cref="Trainable{T}"/>); checkpoints hold the float32 master, the final model is saved in this dtype.
    /// </summary>
    public ScalarType Dtype { get; init; } = ScalarType.Float32;

    ICollective? collective;

    /// <summary>The ranks of the job (default: <see cref="Collectives.Current"/>, chosen from the launcher's environment).</summary>
    public ICollective Collective
    {
        get => collective ??= Collectives.Current;
        init => collective = value;
    }

    public static RunSettings Quiet(Action<string>? log = null, bool resume = false, CancellationToken cancel = default)
        => new(resume, ConsoleDisplay.None, log, cancel);

    /// <summary><c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> as a device; CUDA only where this build and machine have it.</summary>
    /// <exception cref="ArgumentException">Another name, or CUDA where it is not available (the message says how to get it).</exception>
    public static Device ParseDevice(string name)
    {
        if (name == "cpu") return CPU;
        if (name == "cuda" || (name.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(name[5..], out int index) && index >= 0))
        {
            if (!cuda.is_available())
                throw new ArgumentException($"device '{name}': CUDA is not available (this build uses TorchSharp-cpu, or no GPU is visible). " +
                                            "Rebuild with -p:TorchBackend=cuda (docs/gpu.md) or use cpu.");
            return name == "cuda" ? CUDA : new Device(name);
        }
        throw new ArgumentException($"device '{name}' is not cpu, cuda or cuda:N");
    }
}

/// <summary>A run's reporting: messages, and per-step metrics to the console, metrics.jsonl and TensorBoard.</summary>
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
