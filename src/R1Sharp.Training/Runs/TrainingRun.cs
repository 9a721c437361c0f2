using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Model;
using R1Sharp.Training.Logging;
using R1Sharp.Training.State;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Training.Runs;

/// <summary>A run folder that cannot be used as asked (e.g. a finished run, without --resume).</summary>
public sealed class RunFolderException(string message) : Exception(message);

/// <summary>
/// Everything around a trainer's loop, written once: opening the run folder (refusing one that holds another run unless
/// resuming, seeding, finding the last complete checkpoint), the run log (console, metrics.jsonl, TensorBoard; messages
/// before it starts are kept and written first), checkpoints, and finishing (last checkpoint, the Hugging Face model in
/// <c>model/</c>, <c>summary.json</c>). Each recipe keeps its own loop in its own file and calls these.
/// </summary>
/// <remarks>
/// A run folder holds <c>config.yaml</c> (written by the CLI), <c>metrics.jsonl</c>, TensorBoard events, <c>checkpoint/</c>
/// (resumable: weights, optimiser, generators, <c>trainer_state.json</c>), <c>model/</c> and <c>summary.json</c>, whose
/// schema is in docs/architecture.md: snake_case keys; <c>recipe</c>, <c>steps</c>, <c>seconds</c>, <c>model</c>,
/// <c>device</c>, <c>dtype</c>, then the recipe's own results; non-finite numbers are null.
/// </remarks>
public sealed class TrainingRun : IDisposable
{
    /// <summary>The files whose presence means a folder holds a run.</summary>
    public static readonly IReadOnlyList<string> RunFiles = ["summary.json", "checkpoint", "model", MetricsLogger.JsonlFileName];

    readonly List<string> early = [];
    RunLog? log;
    long totalSteps;

    TrainingRun(string output, string recipe, RunSettings settings)
    {
        Output = output;
        Recipe = recipe;
        Settings = settings;
        ResumeFrom = settings.Resume ? TrainingCheckpoint.Find(CheckpointDirectory) : null;
    }

    /// <summary>
    /// Opens <paramref name="output"/> for <paramref name="recipe"/>: refuses a folder that holds a run unless resuming
    /// (<see cref="CheckFolder"/>), seeds torch's generator, and finds the checkpoint to resume from. Nothing is written
    /// before <see cref="StartLog"/>, so errors in the data leave no folder behind.
    /// </summary>
    public static TrainingRun Open(string output, string recipe, RunSettings? settings, long seed)
    {
        settings ??= new RunSettings();
        CheckFolder(output, settings.Resume, recipe);
        manual_seed(seed);
        return new TrainingRun(output, recipe, settings);
    }

    /// <summary>
    /// Throws <see cref="RunFolderException"/> when <paramref name="output"/> holds a run (any of <see cref="RunFiles"/>)
    /// and <paramref name="resume"/> is false: a fresh run there would replace its model and append to its metrics.
    /// Call it before writing anything into the folder.
    /// </summary>
    public static void CheckFolder(string output, bool resume, string recipe)
    {
        if (resume || !Directory.Exists(output)) return;
        var found = RunFiles.Where(f => File.Exists(Path.Combine(output, f)) || Directory.Exists(Path.Combine(output, f))).ToList();
        if (found.Count == 0) return;
        bool finished = found.Contains("summary.json");
        throw new RunFolderException(
            $"{output} already holds a{(finished ? " finished" : "n unfinished")} run ({string.Join(", ", found)}): pass --resume to " +
            $"{(finished ? "reuse it" : "continue it")}, or choose another --output for a new {recipe} run. Nothing was changed.");
    }

    public string Output { get; }
    public string Recipe { get; }
    public RunSettings Settings { get; }
    public Device Device => Settings.Device;
    public ScalarType Dtype => Settings.Dtype;
    public CancellationToken Cancel => Settings.Cancel;
    public Stopwatch Clock { get; } = Stopwatch.StartNew();
    public string CheckpointDirectory => Path.Combine(Output, "checkpoint");
    public string ModelDirectory => Path.Combine(Output, "model");
    public string SummaryPath => Path.Combine(Output, "summary.json");

    /// <summary>The last complete checkpoint when resuming and one exists; else null (a fresh start).</summary>
    public string? ResumeFrom { get; }

    /// <summary>Loads the float32 master (from the checkpoint when resuming, else from <paramref name="directory"/>) and its working copy.</summary>
    public Trainable<CausalLM> LoadCausalLM(string directory) =>
        new(Checkpoint.Load(ResumeFrom ?? directory, ScalarType.Float32, Device), Dtype, (c, dtype) => new CausalLM(c, dtype, Device));

    /// <summary>A new causal LM of <paramref name="config"/>, initialised from <paramref name="seed"/> (pretraining from scratch).</summary>
    public Trainable<CausalLM> InitCausalLM(ModelConfig config, long seed)
    {
        var master = new CausalLM(config, ScalarType.Float32, Device);
        master.InitializeWeights(seed);
        return new(master, Dtype, (c, dtype) => new CausalLM(c, dtype, Device));
    }

    /// <summary>As <see cref="LoadCausalLM"/> for a reward model (a causal LM gets a new score head seeded by <paramref name="headSeed"/>).</summary>
    public Trainable<SequenceScorer> LoadScorer(string directory, long headSeed) =>
        new(Checkpoint.LoadScorer(ResumeFrom ?? directory, ScalarType.Float32, Device, headSeed), Dtype, (c, dtype) => new SequenceScorer(c, dtype, Device));

    /// <summary>The optimiser step over <paramref name="model"/>; when resuming, its state and the generators are restored.</summary>
    public OptimizerStep<T> Optimizer<T>(Trainable<T> model, Optim.OptimizerOptions options, int totalSteps, out TrainerState state,
        Generator? sampling = null) where T : nn.Module, IPretrainedModel
    {
        var step = new OptimizerStep<T>(model, options, totalSteps, Say);
        state = new TrainerState(0, 0);
        if (ResumeFrom is not null)
        {
            state = step.Restore(ResumeFrom, sampling);
            Say($"resumed from {ResumeFrom} at step {state.Step}");
        }
        return step;
    }

    /// <summary>A message for the run log; kept until <see cref="StartLog"/> and then written in order.</summary>
    public void Say(string message)
    {
        if (log is null) early.Add(message);
        else log.Say(message);
    }

    /// <summary>Starts the console, metrics.jsonl and TensorBoard for <paramref name="steps"/> steps (cut back to <paramref name="doneSteps"/> when resuming).</summary>
    public void StartLog(long steps, int doneSteps, IReadOnlyList<string> consoleMetrics)
    {
        totalSteps = steps;
        Directory.CreateDirectory(Output);
        log = new RunLog(Output, Recipe, steps, ResumeFrom is null ? null : doneSteps, Settings, consoleMetrics);
        early.ForEach(log.Say);
        early.Clear();
    }

    /// <summary>Logs one step's metrics; <paramref name="line"/> is the one-line summary (default: every metric, formatted).</summary>
    public void Log(long step, IReadOnlyDictionary<string, double> metrics, string? line = null)
    {
        if (log is null) throw new InvalidOperationException("StartLog first");
        log.Step(step, metrics, line ?? $"step {step}/{totalSteps}  " + string.Join("  ", metrics.Select(kv => $"{kv.Key} {Format(kv.Key, kv.Value)}")));
    }

    /// <summary>A metric as the console shows it: rates in scientific notation, accuracies as percentages, speeds as whole numbers.</summary>
    public static string Format(string key, double value) =>
        key.EndsWith("learning_rate", StringComparison.Ordinal) ? value.ToString("E2", CultureInfo.InvariantCulture)
        : key.EndsWith("per_second", StringComparison.Ordinal) ? value.ToString("N0", CultureInfo.InvariantCulture)
        : key.EndsWith("accuracy", StringComparison.Ordinal) ? value.ToString("P1", CultureInfo.InvariantCulture)
        : value.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>Saves a resumable checkpoint of the master weights, the optimiser and the generators.</summary>
    public void SaveCheckpoint<T>(Trainable<T> model, OptimizerStep<T> optimizer, TrainerState state, string companionsFrom,
        Generator? sampling = null) where T : nn.Module, IPretrainedModel
        => TrainingCheckpoint.Save(CheckpointDirectory, model.Master, optimizer.Optimizer, state, sampling, companionsFrom);

    /// <summary>
    /// Ends the run: the last checkpoint, the model in the run's dtype in <c>model/</c>, and <c>summary.json</c> (the common
    /// fields, then <paramref name="results"/> as snake_case JSON). Returns the model folder.
    /// </summary>
    public string Finish<T, TResults>(Trainable<T> model, OptimizerStep<T> optimizer, TrainerState state, string companionsFrom,
        TResults results, Generator? sampling = null) where T : nn.Module, IPretrainedModel
    {
        SaveCheckpoint(model, optimizer, state, companionsFrom, sampling);
        Checkpoint.Save(model.Model, ModelDirectory, companionsFrom: companionsFrom);
        WriteSummary(state.Step, results);
        return ModelDirectory;
    }

    /// <summary>Writes <c>summary.json</c>: <c>recipe</c>, <c>steps</c>, <c>seconds</c>, <c>model</c>, <c>device</c>, <c>dtype</c>, then <paramref name="results"/>.</summary>
    public void WriteSummary<TResults>(int steps, TResults results)
    {
        var summary = new JsonObject
        {
            ["recipe"] = Recipe, ["steps"] = steps, ["seconds"] = Math.Round(Clock.Elapsed.TotalSeconds, 3), ["model"] = "model",
            ["device"] = Device.ToString(), ["dtype"] = Precision.Name(Dtype),
        };
        if (JsonSerializer.SerializeToNode(results, JsonFormat.Indented) is JsonObject fields)
            foreach (var (key, value) in fields.ToList())
            {
                fields.Remove(key);
                if (!summary.ContainsKey(key)) summary[key] = value;
            }
        AtomicFile.WriteAllText(SummaryPath, summary.ToJsonString(JsonFormat.Indented) + "\n");
    }

    public void Dispose() => log?.Dispose();
}
