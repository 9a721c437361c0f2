using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using System.Security.Cryptography;
using R1Sharp.Model;
using R1Sharp.Training.Distributed;
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
    bool started;
    long totalSteps;

    TrainingRun(string output, string recipe, RunSettings settings)
    {
        Output = output;
        Recipe = recipe;
        Settings = settings;
        Collective = settings.Collective;
        ResumeFrom = settings.Resume ? Collective.BroadcastObject(IsMain ? TrainingCheckpoint.Find(CheckpointDirectory) : null) : null;
    }

    /// <summary>
    /// Opens <paramref name="output"/> for <paramref name="recipe"/>: refuses a folder that holds a run unless resuming
    /// (<see cref="CheckFolder"/>), seeds torch's generator, and finds the checkpoint to resume from. Nothing is written
    /// before <see cref="StartLog"/>, so errors in the data leave no folder behind.
    /// </summary>
    /// <param name="dataParallel">The recipe splits each global batch across ranks (see <see cref="Shard(int)"/>); a recipe that
    /// does not is refused under a launcher with more than one rank.</param>
    public static TrainingRun Open(string output, string recipe, RunSettings? settings, long seed, bool dataParallel = false)
    {
        settings ??= new RunSettings();
        var collective = settings.Collective;
        if (collective.Size > 1 && !dataParallel)
            throw new NotSupportedException($"{recipe} does not run data-parallel yet: run it as one process (without mpiexec); " +
                                            "sft, distill and pretrain run under MPI (docs/distributed.md)");
        // Rank 0 looks at the folder for every rank (the others would see the files rank 0 is about to write).
        string? refusal = null;
        if (collective.Rank == 0)
            try { CheckFolder(output, settings.Resume, recipe); }
            catch (RunFolderException e) { refusal = e.Message; }
        refusal = collective.BroadcastObject(refusal);
        if (refusal is not null) throw new RunFolderException(refusal);
        manual_seed(seed);
        NativeHeap.KeepFreedMemory(); // a step's activations reused, not faulted in again every step
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

    /// <summary>The ranks of a data-parallel job (one rank, no-op collectives, outside a launcher).</summary>
    public ICollective Collective { get; }

    /// <summary>Rank 0: the one process that writes the run folder.</summary>
    public bool IsMain => Collective.Rank == 0;

    /// <summary>
    /// This rank's share of a global batch of <paramref name="count"/> items: contiguous, in order, the first
    /// <c>count mod size</c> ranks one more. The global batch (which items, in which order) never depends on the world
    /// size; only who computes which part does.
    /// </summary>
    public (int Start, int Count) Shard(int count) => Shard(count, Collective.Rank, Collective.Size);

    /// <summary><see cref="Shard(int)"/> for rank <paramref name="rank"/> of <paramref name="size"/>.</summary>
    public static (int Start, int Count) Shard(int count, int rank, int size)
    {
        int share = count / size, extra = count % size;
        return (rank * share + Math.Min(rank, extra), share + (rank < extra ? 1 : 0));
    }
    public Stopwatch Clock { get; } = Stopwatch.StartNew();
    public string CheckpointDirectory => Path.Combine(Output, "checkpoint");
    public string ModelDirectory => Path.Combine(Output, "model");
    /// <summary>Where a LoRA run's final adapter goes (PEFT's layout).</summary>
    public string AdapterDirectory => Path.Combine(Output, "adapter");
    public string SummaryPath => Path.Combine(Output, "summary.json");

    /// <summary>The last complete checkpoint when resuming and one exists; else null (a fresh start).</summary>
    public string? ResumeFrom { get; }

    /// <summary>
    /// Loads the float32 master (from the checkpoint when resuming, else from <paramref name="directory"/>) and its working copy.
    /// With <paramref name="lora"/>: the base from <paramref name="directory"/> in the run's dtype, frozen, with new adapters
    /// (or, when resuming, the checkpoint's), which are all that trains (docs/lora.md); <paramref name="seed"/> draws their A.
    /// </summary>
    public Trainable<CausalLM> LoadCausalLM(string directory, LoraOptions? lora = null, long seed = 0)
    {
        if (lora is null)
            return new(Checkpoint.Load(ResumeFrom ?? directory, ScalarType.Float32, Device), Dtype, (c, dtype) => new CausalLM(c, dtype, Device));
        var model = Checkpoint.Load(directory, Dtype, Device);
        try
        {
            if (ResumeFrom is not null) Lora.Load(model, ResumeFrom, trainable: true);
            else Lora.Attach(model, lora, seed);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        int trainable = Lora.Adapters(model).Sum(a => (int)(a.Adapter.A.weight.numel() + a.Adapter.B.weight.numel()));
        Say($"LoRA: {Lora.Adapters(model).Count} adapted layers, r {model.LoraSettings!.R}, scaling {model.LoraSettings.Scaling:G4}, " +
            $"{trainable:N0} trainable parameters of {model.parameters().Sum(p => p.numel()):N0}");
        return Trainable<CausalLM>.Adapted(model);
    }

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
        var step = new OptimizerStep<T>(model, options, totalSteps, Say, Collective);
        state = new TrainerState(0, 0);
        if (Collective.Size > 1)
        {
            // Every rank starts from rank 0's weights (loaded or initialised alike, but one source is what counts).
            Collective.Broadcast(model.Master.parameters().ToList());
            model.Sync?.CopyWeights();
        }
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
        if (!IsMain) Settings.Log?.Invoke(message);
        else if (log is null) early.Add(message);
        else log.Say(message);
    }

    /// <summary>Starts the console, metrics.jsonl and TensorBoard for <paramref name="steps"/> steps (cut back to <paramref name="doneSteps"/> when resuming).</summary>
    public void StartLog(long steps, int doneSteps, IReadOnlyList<string> consoleMetrics)
    {
        totalSteps = steps;
        started = true;
        if (!IsMain) return;
        Directory.CreateDirectory(Output);
        log = new RunLog(Output, Recipe, steps, ResumeFrom is null ? null : doneSteps, Settings, consoleMetrics);
        early.ForEach(log.Say);
        early.Clear();
    }

    /// <summary>Logs one step's metrics; <paramref name="line"/> is the one-line summary (default: every metric, formatted).</summary>
    public void Log(long step, IReadOnlyDictionary<string, double> metrics, string? line = null)
    {
        if (!started) throw new InvalidOperationException("StartLog first");
        if (log is null) return; // not rank 0
        log.Step(step, metrics, line ?? $"step {step}/{totalSteps}  " + string.Join("  ", metrics.Select(kv => $"{kv.Key} {Format(kv.Key, kv.Value)}")));
    }

    /// <summary>A metric as the console shows it: rates in scientific notation, accuracies as percentages, speeds as whole numbers.</summary>
    public static string Format(string key, double value) =>
        key.EndsWith("learning_rate", StringComparison.Ordinal) ? value.ToString("E2", CultureInfo.InvariantCulture)
        : key.EndsWith("per_second", StringComparison.Ordinal) ? value.ToString("N0", CultureInfo.InvariantCulture)
        : key.EndsWith("accuracy", StringComparison.Ordinal) ? value.ToString("P1", CultureInfo.InvariantCulture)
        : value.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>
    /// Saves a resumable checkpoint of the master weights, the optimiser and the generators (rank 0; the other ranks
    /// first check that their weights are rank 0's, then wait until it is written).
    /// </summary>
    public void SaveCheckpoint<T>(Trainable<T> model, OptimizerStep<T> optimizer, TrainerState state, string companionsFrom,
        Generator? sampling = null) where T : nn.Module, IPretrainedModel
    {
        CheckSameWeights(model, state.Step);
        if (IsMain) TrainingCheckpoint.Save(CheckpointDirectory, model.Master, optimizer.Optimizer, state, sampling, companionsFrom);
        Collective.Barrier();
    }

    /// <summary>SHA-256 of the master weights' bytes, in parameter order (hex).</summary>
    public static string WeightsChecksum(nn.Module master)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var scope = NewDisposeScope();
        foreach (var p in master.parameters())
        {
            var host = p.device_type == DeviceType.CPU && p.is_contiguous() ? p : p.detach().cpu().contiguous();
            hash.AppendData(host.bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>In a job of several ranks, throws unless every rank holds bit-identical master weights (they apply the same steps).</summary>
    void CheckSameWeights<T>(Trainable<T> model, int step) where T : nn.Module, IPretrainedModel
    {
        if (Collective.Size == 1) return;
        var sums = Collective.AllGather(WeightsChecksum(model.Master));
        var differing = Enumerable.Range(1, sums.Count - 1).Where(r => sums[r] != sums[0]).ToList();
        if (differing.Count > 0)
            throw new InvalidOperationException($"data-parallel ranks diverged at step {step}: the weights of rank(s) {string.Join(", ", differing)} differ from rank 0's");
        Say($"step {step}: weights identical on all {sums.Count} ranks (sha256 {sums[0][..16]})");
    }

    /// <summary>
    /// Ends the run: the last checkpoint, the model in the run's dtype in <c>model/</c>, and <c>summary.json</c> (the common
    /// fields, then <paramref name="results"/> as snake_case JSON). Returns the model folder.
    /// </summary>
    public string Finish<T, TResults>(Trainable<T> model, OptimizerStep<T> optimizer, TrainerState state, string companionsFrom,
        TResults results, Generator? sampling = null) where T : nn.Module, IPretrainedModel
    {
        CheckSameWeights(model, state.Step);
        if (IsMain)
        {
            TrainingCheckpoint.Save(CheckpointDirectory, model.Master, optimizer.Optimizer, state, sampling, companionsFrom);
            Checkpoint.Save(model.Model, ModelDirectory, companionsFrom: companionsFrom); // LoRA: the merged model
            if (model.Model is CausalLM adapted && Lora.IsAdapted(adapted)) Lora.Save(adapted, AdapterDirectory, companionsFrom);
            WriteSummary(state.Step, results);
        }
        Collective.Barrier();
        return ModelDirectory;
    }

    /// <summary>Writes <c>summary.json</c>: <c>recipe</c>, <c>steps</c>, <c>seconds</c>, <c>model</c>, <c>device</c>, <c>dtype</c>, then <paramref name="results"/>.</summary>
    public void WriteSummary<TResults>(int steps, TResults results)
    {
        if (!IsMain) return;
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
