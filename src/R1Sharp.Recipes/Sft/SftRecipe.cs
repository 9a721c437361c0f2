// r1sharp sft --model runs/base/model --data cold_start.jsonl --output runs/cold-start [--config configs/sft.yaml] [--resume]
//
// Supervised fine-tuning: R1's cold start (stage 2), rejection-sampling SFT (stage 4) and distillation (stage 6):
//     L(θ) = −(1/N) Σ_{i,t} m_{i,t} log p_θ(x_{i,t} | x_{i,<t}),      N = Σ_{i,t} m_{i,t} over the optimiser step,
// with m = 1 on completion / assistant tokens only: the prompt is context, not a target (SftEncoder).
// An optional ISftLossTerm mixes a per-token term into it (distillation's KL to a teacher, DistillRecipe):
//     L(θ) = (1/N) Σ_{i,t} m_{i,t} [(1 − w)·(−log p_θ(x_{i,t} | x_{i,<t})) + w·term_{i,t}].
// Rows are packed (best-fit decreasing into rows of MaxLength tokens; block-diagonal causal attention and positions
// restarting at 0, so packed examples never see each other) or padded (one example per row, right padding).
// Deliberate choices:
//  - Gradient accumulation normalises by the target tokens of the whole optimiser step, not per micro-batch: each
//    micro-batch back-propagates Σ m·(−log p) / N, so the step's gradient is that of the token mean over every
//    micro-batch, however the batch is split (transformers ≥ 4.46, "num_items_in_batch").
//  - The head runs only on positions that have a target (TokenBatch.TargetLogits).
//  - bfloat16 runs forward/backward in bf16 and keeps float32 master weights and optimiser state (MasterWeights);
//    checkpoints hold the float32 master, the final model is saved in the training dtype.
//  - Packing is done once, deterministically; the packed rows are shuffled per epoch from (seed, epoch), so the data
//    position alone says where a resumed run continues.
//  - Examples longer than MaxLength keep their first MaxLength tokens (counted) or are dropped; examples left without
//    a target token are dropped.
using System.Diagnostics;
using System.Text.Json;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Data;
using R1Sharp.Rewards.Tasks;
using R1Sharp.Rewards.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Optim;
using R1Sharp.Training.State;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Sft;

/// <summary>What to do with an example longer than the row length.</summary>
public enum OverlongExamples { Truncate, Drop }

public sealed record SftOptions
{
    // ---- data ----
    /// <summary>A JSONL or Parquet file of {prompt, completion} or {messages} rows; or <c>cold-start</c> / <c>general</c>, the embedded task's sets. Ignored when examples are passed in code.</summary>
    public string? Data { get; init; }
    /// <summary>Examples drawn from an embedded set.</summary>
    public int DataExamples { get; init; } = 2000;
    public string PromptField { get; init; } = "prompt";
    public string CompletionField { get; init; } = "completion";
    public string MessagesField { get; init; } = "messages";
    /// <summary><c>plain</c> (prompt as it is + completion + EOS), <c>chat</c> (the tokenizer's chat template) or a text preset such as <c>r1-zero</c>.</summary>
    public string Template { get; init; } = SftEncoder.Plain;
    /// <summary>Row length in tokens (packed) or the longest example kept (padded).</summary>
    public int MaxLength { get; init; } = 1024;
    /// <summary>Pack several examples into each row (best-fit decreasing); false: one example per row, right-padded.</summary>
    public bool Packing { get; init; } = true;
    public OverlongExamples Overlong { get; init; } = OverlongExamples.Truncate;
    /// <summary>Share of the examples held out for the evaluation loss (when no evaluation examples are passed in code).</summary>
    public double EvalShare { get; init; } = 0.02;

    // ---- optimisation ----
    /// <summary>Rows per forward/backward pass.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Micro-batches per optimiser step: the step sees BatchSize × GradientAccumulationSteps rows.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;
    /// <summary>Passes over the data (R1 fine-tunes for two epochs in stage 4).</summary>
    public double Epochs { get; init; } = 2;
    /// <summary>Optimiser steps; 0 = as many as <see cref="Epochs"/> take.</summary>
    public int MaxSteps { get; init; }
    /// <summary>Peak learning rate (TRL's SFT default).</summary>
    public double LearningRate { get; init; } = 2e-5;
    /// <summary>Linear warm-up over this share of the steps, then cosine decay.</summary>
    public double WarmupRatio { get; init; } = 0.03;
    /// <summary>The cosine ends at this share of the peak (0, as transformers' cosine schedule).</summary>
    public double MinLearningRateRatio { get; init; }
    /// <summary>AdamW weight decay on matrices (none on biases and norms); transformers' default is 0.</summary>
    public double WeightDecay { get; init; }
    public double AdamBeta1 { get; init; } = 0.9;
    public double AdamBeta2 { get; init; } = 0.999;
    public double MaxGradNorm { get; init; } = 1.0;

    // ---- evaluation, logging, checkpoints ----
    /// <summary>Evaluation loss every N steps (0: only at the end).</summary>
    public int EvalEvery { get; init; } = 100;
    public int LogEvery { get; init; } = 10;
    public int CheckpointEvery { get; init; } = 200;
    public long Seed { get; init; }
    /// <summary>float32 or bfloat16 (bf16 compute with float32 master weights).</summary>
    public string Dtype { get; init; } = "float32";
    public string Device { get; init; } = "cpu";

    /// <summary>Checks every option; the message names the option.</summary>
    public void Validate()
    {
        static void Check(bool ok, string option, string rule, object value)
        {
            if (!ok) throw new ArgumentException($"SFT option {option}: {rule} (got {value})");
        }
        Check(MaxLength >= 2, nameof(MaxLength), "must be at least 2", MaxLength);
        Check(BatchSize >= 1, nameof(BatchSize), "must be at least 1", BatchSize);
        Check(GradientAccumulationSteps >= 1, nameof(GradientAccumulationSteps), "must be at least 1", GradientAccumulationSteps);
        Check(MaxSteps > 0 || (Epochs > 0 && double.IsFinite(Epochs)), nameof(Epochs), "must be positive when MaxSteps is 0", Epochs);
        Check(MaxSteps >= 0, nameof(MaxSteps), "must not be negative", MaxSteps);
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), "must be positive", LearningRate);
        Check(WarmupRatio is >= 0 and < 1, nameof(WarmupRatio), "must be in [0, 1)", WarmupRatio);
        Check(MinLearningRateRatio is >= 0 and <= 1, nameof(MinLearningRateRatio), "must be in [0, 1]", MinLearningRateRatio);
        Check(WeightDecay >= 0, nameof(WeightDecay), "must not be negative", WeightDecay);
        Check(AdamBeta1 is >= 0 and < 1, nameof(AdamBeta1), "must be in [0, 1)", AdamBeta1);
        Check(AdamBeta2 is >= 0 and < 1, nameof(AdamBeta2), "must be in [0, 1)", AdamBeta2);
        Check(EvalShare is >= 0 and < 1, nameof(EvalShare), "must be in [0, 1)", EvalShare);
        Check(DataExamples >= 1, nameof(DataExamples), "must be at least 1", DataExamples);
        Check(EvalEvery >= 0, nameof(EvalEvery), "must not be negative", EvalEvery);
        Check(LogEvery >= 1, nameof(LogEvery), "must be at least 1", LogEvery);
        Check(CheckpointEvery >= 1, nameof(CheckpointEvery), "must be at least 1", CheckpointEvery);
        Precision.Parse(Dtype);
    }
}

public sealed record SftResult(string ModelDirectory, int Steps, double TrainLoss, double EvalLoss, double EvalTokenAccuracy,
    double TokensPerSecond, double Seconds, int Examples, int Truncated, int Dropped);

public static class SftRecipe
{
    /// <param name="examples">Training examples built in code (e.g. rejection-sampled traces); replaces <see cref="SftOptions.Data"/>.</param>
    /// <param name="evalExamples">Held-out examples for the evaluation loss; replaces <see cref="SftOptions.EvalShare"/>.</param>
    /// <param name="lossTerm">A term mixed into the training loss (the evaluation loss stays the cross-entropy); metrics then
    /// show <c>loss</c> (the objective), <c>ce_loss</c> and the term by its name.</param>
    public static SftResult Run(SftOptions o, string modelDir, string output, RunSettings? settings = null,
        IReadOnlyList<SftRecord>? examples = null, IReadOnlyList<SftRecord>? evalExamples = null, ISftLossTerm? lossTerm = null)
    {
        settings ??= new RunSettings();
        var ct = settings.Cancel;
        var early = new List<string>(); // messages before the run log exists
        Action<string> log = early.Add;
        o.Validate();
        var clock = Stopwatch.StartNew();
        var device = o.Device == "cpu" ? CPU : new Device(o.Device);
        var dtype = Precision.Parse(o.Dtype);
        manual_seed(o.Seed);

        // ---- data: records → token sequences → rows (all errors surface here, before any training) ----
        var tokenizer = HfTokenizer.Load(modelDir);
        var encoder = SftEncoder.Create(tokenizer, o.Template, modelDir);
        var (trainRecords, evalRecords) = Split(examples ?? LoadRecords(o, ct), evalExamples, o);
        var train = Encode(trainRecords, encoder, o, "train", log);
        var evalSet = evalRecords.Count == 0 ? [] : Encode(evalRecords, encoder, o, "eval", log).Sequences;
        var rows = Rows(train.Sequences, o);
        var evalRows = Rows(evalSet, o);
        int rowsPerStep = o.BatchSize * o.GradientAccumulationSteps;
        int steps = o.MaxSteps > 0 ? o.MaxSteps : (int)Math.Ceiling(o.Epochs * rows.Count / rowsPerStep);
        log($"data: {train.Sequences.Count:N0} examples ({train.Sequences.Sum(s => (long)s.TargetCount):N0} target tokens) in {rows.Count:N0} " +
            $"{(o.Packing ? $"packed rows of {o.MaxLength}" : "rows")}, {evalSet.Count:N0} held out; {steps} steps of {rowsPerStep} rows" +
            (train.Truncated + train.Dropped > 0 ? $"; {train.Truncated} truncated, {train.Dropped} dropped" : ""));

        // ---- model and optimiser (fresh, or from the last complete checkpoint) ----
        Directory.CreateDirectory(output);
        var checkpointDir = Path.Combine(output, "checkpoint");
        var resumeFrom = settings.Resume ? TrainingCheckpoint.Find(checkpointDir) : null;
        bool mixed = dtype != ScalarType.Float32;
        using var master = Checkpoint.Load(resumeFrom ?? modelDir, mixed ? ScalarType.Float32 : dtype, device);
        using var bf16 = mixed ? new CausalLM(master.Config, dtype, device) : null;
        var model = bf16 ?? master; // runs forward and backward
        var masterWeights = bf16 is null ? null : new MasterWeights(bf16, master);
        if (o.MaxLength > master.Config.MaxPositionEmbeddings)
            log($"warning: MaxLength {o.MaxLength} exceeds the model's max_position_embeddings {master.Config.MaxPositionEmbeddings}");
        var optimizer = Optimizers.AdamW(master, o.LearningRate, o.WeightDecay, o.AdamBeta1, o.AdamBeta2);
        var schedule = new LearningRateSchedule(o.LearningRate, (int)Math.Ceiling(o.WarmupRatio * steps), steps, o.MinLearningRateRatio);
        var state = new TrainerState(0, 0);
        if (resumeFrom is not null)
        {
            state = TrainingCheckpoint.Restore(resumeFrom, optimizer);
            log($"resumed from {resumeFrom} at step {state.Step}");
        }
        log($"model: {master.Config.ParameterCount() / 1e6:F2}M parameters, {o.Dtype}{(mixed ? " with float32 master weights" : "")}, template '{o.Template}'");
        if (lossTerm is not null) log($"loss: (1 − {lossTerm.Weight})·CE + {lossTerm.Weight}·{lossTerm.Name}, {lossTerm.Name} = {lossTerm.Description}");
        using var runLog = new RunLog(output, "sft", steps, resumeFrom is null ? null : state.Step, settings,
            ["loss", .. (lossTerm is null ? Array.Empty<string>() : [lossTerm.Name]), "token_accuracy", "learning_rate", "tokens_per_second"]);
        early.ForEach(runLog.Say);
        log = runLog.Say;

        // ---- the loop ----
        var guard = new NonFiniteGuard(warn: log);
        var order = new EpochOrder(rows.Count, o.Seed, "sft");
        double lastLoss = double.NaN, windowTerm = 0, windowLoss = 0, windowCorrect = 0, windowTargets = 0, windowTokens = 0, windowSeconds = 0, gradNorm = 0;
        double tokensTotal = 0, secondsTotal = 0;
        optimizer.zero_grad();
        for (int step = state.Step; step < steps; step++)
        {
            ct.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            model.train();
            var stepRows = Enumerable.Range(0, rowsPerStep).Select(k => rows[order.At(state.DataPosition + k)]).ToList();
            long n = stepRows.Sum(r => r.Sum(s => (long)s.TargetCount)); // N: target tokens of the whole step
            double nll = 0, term = 0, correct = 0, tokens = 0;
            using (var scope = NewDisposeScope())
            {
                for (int m = 0; m < o.GradientAccumulationSteps; m++)
                {
                    using var microScope = NewDisposeScope();
                    var batch = MakeBatch(stepRows.GetRange(m * o.BatchSize, o.BatchSize), o, device);
                    var logits = batch.TargetLogits(model);                                       // (N_m, V)
                    var sum = -TokenLosses.TargetLogProbs(logits, batch.TargetIds).sum();         // Σ m·(−log p) over the micro-batch
                    var termSum = lossTerm?.PerToken(batch, logits).sum();                        // Σ m·term
                    var objective = termSum is null ? sum : (1 - lossTerm!.Weight) * sum + lossTerm.Weight * termSum;
                    (objective / (double)Math.Max(1, n)).backward();
                    masterWeights?.AccumulateGradients();
                    using var noGrad = no_grad();
                    nll += sum.item<float>();
                    if (termSum is not null) term += termSum.item<float>();
                    correct += (logits.argmax(-1) == batch.TargetIds).sum().item<long>();
                    tokens += batch.Tokens;
                }
                double lossValue = Objective(nll, term, lossTerm) / Math.Max(1, n);
                gradNorm = Optimizers.ClipGradients(master, o.MaxGradNorm);
                if (guard.Allow(step + 1, lossValue, gradNorm))
                {
                    Optimizers.SetLearningRate(optimizer, schedule.At(step));
                    optimizer.step();
                    masterWeights?.CopyWeights();
                }
                optimizer.zero_grad();
                lastLoss = lossValue;
            }
            state = state with { Step = step + 1, DataPosition = state.DataPosition + rowsPerStep };
            double seconds = watch.Elapsed.TotalSeconds;
            (windowLoss, windowTerm, windowCorrect, windowTargets, windowTokens, windowSeconds) =
                (windowLoss + nll, windowTerm + term, windowCorrect + correct, windowTargets + n, windowTokens + tokens, windowSeconds + seconds);
            (tokensTotal, secondsTotal) = (tokensTotal + tokens, secondsTotal + seconds);

            var metrics = new Dictionary<string, double>();
            if ((step + 1) % o.LogEvery == 0 || step + 1 == steps)
            {
                metrics["loss"] = Objective(windowLoss, windowTerm, lossTerm) / Math.Max(1, windowTargets);
                if (lossTerm is not null)
                {
                    metrics["ce_loss"] = windowLoss / Math.Max(1, windowTargets);
                    metrics[lossTerm.Name] = windowTerm / Math.Max(1, windowTargets);
                }
                metrics["token_accuracy"] = windowCorrect / Math.Max(1, windowTargets);
                metrics["learning_rate"] = schedule.At(step);
                metrics["grad_norm"] = gradNorm;
                metrics["tokens_per_second"] = windowTokens / Math.Max(1e-9, windowSeconds);
                metrics["epoch"] = (double)state.DataPosition / rows.Count;
                (windowLoss, windowTerm, windowCorrect, windowTargets, windowTokens, windowSeconds) = (0, 0, 0, 0, 0, 0);
            }
            if (o.EvalEvery > 0 && (step + 1) % o.EvalEvery == 0 && step + 1 < steps && evalRows.Count > 0)
                (metrics["eval_loss"], metrics["eval_token_accuracy"]) = Evaluate(model, evalRows, o, device);
            if (metrics.Count > 0)
            {
                runLog.Step(step + 1, metrics, $"step {step + 1}/{steps}  " + string.Join("  ", metrics.Select(kv => $"{kv.Key} {Format(kv.Key, kv.Value)}")));
            }
            if ((step + 1) % o.CheckpointEvery == 0 && step + 1 < steps)
                TrainingCheckpoint.Save(checkpointDir, master, optimizer, state, companionsFrom: modelDir);
        }

        // ---- evaluate, save ----
        var (evalLoss, evalAccuracy) = evalRows.Count > 0 ? Evaluate(model, evalRows, o, device) : (double.NaN, double.NaN);
        if (evalRows.Count > 0)
        {
            runLog.Step(state.Step, new Dictionary<string, double> { ["eval_loss"] = evalLoss, ["eval_token_accuracy"] = evalAccuracy },
                $"eval: loss {evalLoss:F4}, token accuracy {evalAccuracy:P1} on {evalSet.Count} held-out examples");
        }
        TrainingCheckpoint.Save(checkpointDir, master, optimizer, state, companionsFrom: modelDir);
        var modelOut = Path.Combine(output, "model");
        Checkpoint.Save(model, modelOut, companionsFrom: modelDir);
        var result = new SftResult(modelOut, state.Step, lastLoss, evalLoss, evalAccuracy, tokensTotal / Math.Max(1e-9, secondsTotal),
            clock.Elapsed.TotalSeconds, train.Sequences.Count, train.Truncated, train.Dropped);
        File.WriteAllText(Path.Combine(output, "summary.json"), JsonSerializer.Serialize(result, new JsonSerializerOptions
        {
            WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        log($"done: {state.Step} steps, loss {lastLoss:F4}, eval loss {evalLoss:F4}; model saved to {modelOut} ({clock.Elapsed.TotalSeconds:F0} s)");
        return result;
    }

    /// <summary>(1 − w)·Σ(−log p) + w·Σ term, or the cross-entropy sum alone without a term.</summary>
    static double Objective(double nll, double term, ISftLossTerm? lossTerm)
        => lossTerm is null ? nll : (1 - lossTerm.Weight) * nll + lossTerm.Weight * term;

    static IReadOnlyList<SftRecord> LoadRecords(SftOptions o, CancellationToken ct) => o.Data switch
    {
        null => throw new ArgumentException("SFT option Data: no data file given (and no examples passed in code)"),
        "cold-start" => SftRecord.FromExamples(EmbeddedTask.ColdStartExamples(o.DataExamples, (int)o.Seed)),
        "general" => SftRecord.FromExamples(EmbeddedTask.GeneralSftExamples(o.DataExamples, (int)o.Seed)),
        _ => SftData.Load(o.Data, new SftFields(o.PromptField, o.CompletionField, o.MessagesField), ct),
    };

    /// <summary>Holds out <see cref="SftOptions.EvalShare"/> of the records (a seeded choice) unless evaluation records are given.</summary>
    static (IReadOnlyList<SftRecord> Train, IReadOnlyList<SftRecord> Eval) Split(IReadOnlyList<SftRecord> records, IReadOnlyList<SftRecord>? eval, SftOptions o)
    {
        if (records.Count == 0) throw new ArgumentException("SFT: no training examples");
        if (eval is not null) return (records, eval);
        int held = o.EvalShare > 0 ? Math.Clamp((int)Math.Round(records.Count * o.EvalShare), 1, records.Count - 1) : 0;
        if (held == 0) return (records, []);
        var indices = Enumerable.Range(0, records.Count).ToArray();
        new DeterministicRandom(o.Seed, "sft-eval-split").Shuffle(indices);
        var heldOut = indices.Take(held).ToHashSet();
        return (records.Where((_, i) => !heldOut.Contains(i)).ToList(), records.Where((_, i) => heldOut.Contains(i)).ToList());
    }

    sealed record Encoded(List<TokenSequence> Sequences, int Truncated, int Dropped);

    static Encoded Encode(IReadOnlyList<SftRecord> records, SftEncoder encoder, SftOptions o, string split, Action<string> log)
    {
        var sequences = new List<TokenSequence>(records.Count);
        int truncated = 0, dropped = 0, empty = 0;
        foreach (var r in records)
        {
            var s = encoder.Encode(r);
            if (s.Length > o.MaxLength)
            {
                if (o.Overlong == OverlongExamples.Drop) { dropped++; continue; }
                s = s.Truncate(o.MaxLength);
                truncated++;
            }
            if (s.TargetCount == 0) { empty++; continue; } // e.g. a prompt that fills the whole row
            sequences.Add(s);
        }
        if (empty > 0) log($"{split}: {empty} example(s) have no target token within {o.MaxLength} tokens and are skipped");
        if (sequences.Count == 0) throw new InvalidDataException($"SFT {split} data: no example has a target token within MaxLength {o.MaxLength}");
        return new Encoded(sequences, truncated, dropped + empty);
    }

    /// <summary>Rows of sequences: best-fit decreasing packing, or one sequence per row.</summary>
    static List<TokenSequence[]> Rows(List<TokenSequence> sequences, SftOptions o)
        => o.Packing
            ? SequencePacking.BestFitDecreasing(sequences.Select(s => s.Length).ToList(), o.MaxLength).Select(r => r.Select(i => sequences[i]).ToArray()).ToList()
            : sequences.Select(s => new[] { s }).ToList();

    static TokenBatch MakeBatch(IReadOnlyList<TokenSequence[]> rows, SftOptions o, Device device)
        => o.Packing ? TokenBatch.Packed(rows, o.MaxLength, device) : TokenBatch.Padded(rows.Select(r => r[0]).ToList(), device);

    /// <summary>Token-weighted mean loss and token accuracy over the held-out rows.</summary>
    static (double Loss, double Accuracy) Evaluate(CausalLM model, List<TokenSequence[]> rows, SftOptions o, Device device)
    {
        model.eval();
        using var noGrad = no_grad();
        double nll = 0, correct = 0, targets = 0;
        for (int start = 0; start < rows.Count; start += o.BatchSize)
        {
            using var scope = NewDisposeScope();
            var batch = MakeBatch(rows.GetRange(start, Math.Min(o.BatchSize, rows.Count - start)), o, device);
            var logits = batch.TargetLogits(model);
            nll += -TokenLosses.TargetLogProbs(logits, batch.TargetIds).sum().item<float>();
            correct += (logits.argmax(-1) == batch.TargetIds).sum().item<long>();
            targets += batch.TargetTokens;
        }
        model.train();
        return (nll / Math.Max(1, targets), correct / Math.Max(1, targets));
    }

    static string Format(string key, double value) => key switch
    {
        "learning_rate" => value.ToString("E2"),
        "tokens_per_second" => value.ToString("N0"),
        "token_accuracy" or "eval_token_accuracy" => value.ToString("P1"),
        _ => value.ToString("F4"),
    };

}
