// r1sharp sft --model runs/base/model --output runs/cold-start --set data=cold_start.jsonl [--config FILE.yaml] [--resume]
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
//  - Packing is done once, deterministically; the packed rows are shuffled per epoch from (seed, epoch), so the data
//    position alone says where a resumed run continues.
//  - Data-parallel (mpiexec, docs/distributed.md): each step's rows are chosen as in one process; rank r takes its
//    contiguous share (TrainingRun.Shard) in micro-batches of BatchSize rows and back-propagates Σ m·(−log p) / N with
//    the global N, so the gradients summed over ranks are the one-process step's; metrics are summed over ranks.
//  - Examples longer than MaxLength keep their first MaxLength tokens (counted) or are dropped; examples left without
//    a target token are dropped.
// Opening the run, bf16 master weights, the optimiser step, checkpoints and summary.json are TrainingRun's and
// OptimizerStep's (docs/architecture.md); this file is the data and the loop.
using System.Diagnostics;
using System.Text.Json.Serialization;
using R1Sharp.Data;
using R1Sharp.Model;
using R1Sharp.Recipes.Config;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Distributed;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Sft;

/// <summary>What an SFT run produced (summary.json holds these after the common fields).</summary>
public sealed record SftResult([property: JsonIgnore] string ModelDirectory, int Steps, double TrainLoss, double EvalLoss,
    double EvalTokenAccuracy, double TokensPerSecond, double Seconds, int Examples, int Truncated, int Dropped);

public static class SftRecipe
{
    /// <param name="examples">Training examples built in code (e.g. rejection-sampled traces); replaces <see cref="SftOptions.Data"/>.</param>
    /// <param name="evalExamples">Held-out examples for the evaluation loss; replaces <see cref="SftOptions.EvalShare"/>.</param>
    /// <param name="lossTerm">A term mixed into the training loss (the evaluation loss stays the cross-entropy); metrics then
    /// show <c>loss</c> (the objective), <c>ce_loss</c> and the term by its name.</param>
    public static SftResult Run(SftOptions o, string modelDir, string output, RunSettings? settings = null,
        IReadOnlyList<SftRecord>? examples = null, IReadOnlyList<SftRecord>? evalExamples = null, ISftLossTerm? lossTerm = null)
    {
        ConfigBinder.Check(o, "sft");
        modelDir = ModelLocation.Resolve(modelDir);
        using var run = TrainingRun.Open(output, "sft", settings, o.Seed, dataParallel: true);

        // ---- data: records → token sequences → rows (all errors surface here, before any training) ----
        var encoder = SftEncoder.Create(HfTokenizer.Load(modelDir), o.Template, modelDir, o.ChatTemplatePath, run.Say);
        var records = examples ?? LoadRecords(o, run.Cancel);
        if (records.Count == 0) throw new ArgumentException("SFT: no training examples");
        var (trainRecords, evalRecords) = evalExamples is null ? DataSplit.HoldOut(records, o.EvalShare, o.Seed, "sft-eval-split") : (records, evalExamples);
        var train = Encode(trainRecords, encoder, o, "train", run.Say);
        var rows = Rows(train.Sequences, o);
        var evalRows = evalRecords.Count == 0 ? [] : Rows(Encode(evalRecords, encoder, o, "eval", run.Say).Sequences, o);
        int rowsPerStep = o.BatchSize * o.GradientAccumulationSteps;
        int steps = o.MaxSteps > 0 ? o.MaxSteps : (int)Math.Ceiling(o.Epochs * rows.Count / rowsPerStep);
        run.Say($"data: {train.Sequences.Count:N0} examples ({train.Sequences.Sum(s => (long)s.TargetCount):N0} target tokens) in {rows.Count:N0} " +
                $"{(o.Packing ? $"packed rows of {o.MaxLength}" : "rows")}, {evalRecords.Count:N0} held out; {steps} steps of {rowsPerStep} rows" +
                (train.Truncated + train.Dropped > 0 ? $"; {train.Truncated} truncated, {train.Dropped} dropped" : ""));

        // ---- model and optimiser (fresh, or from the last complete checkpoint) ----
        using var model = run.LoadCausalLM(modelDir, o.Lora, o.Seed);
        var optimizer = run.Optimizer(model, o.Optimizer, steps, out var state);
        optimizer.Reduction = ReduceOp.Sum; // each rank back-propagates its share of the step's token sum / the global N
        if (o.MaxLength > model.Config.MaxPositionEmbeddings)
            run.Say($"warning: MaxLength {o.MaxLength} exceeds the model's max_position_embeddings {model.Config.MaxPositionEmbeddings}");
        run.Say($"model: {model.Config.ParameterCount() / 1e6:F2}M parameters, {Precision.Name(run.Dtype)}" +
                $"{(run.Dtype != ScalarType.Float32 ? " with float32 master weights" : "")}, template '{o.Template}'");
        if (lossTerm is not null) run.Say($"loss: (1 − {lossTerm.Weight})·CE + {lossTerm.Weight}·{lossTerm.Name}, {lossTerm.Name} = {lossTerm.Description}");
        run.StartLog(steps, state.Step, ["loss", .. (lossTerm is null ? Array.Empty<string>() : [lossTerm.Name]), "token_accuracy", "learning_rate", "tokens_per_second"]);

        // ---- the loop ----
        var order = new EpochOrder(rows.Count, o.Seed, "sft");
        var window = new MetricWindow();
        double lastLoss = double.NaN, tokensTotal = 0, secondsTotal = 0;
        for (int step = state.Step; step < steps; step++)
        {
            run.Cancel.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            model.Model.train();
            var stepRows = Enumerable.Range(0, rowsPerStep).Select(k => rows[order.At(state.DataPosition + k)]).ToList();
            long n = stepRows.Sum(r => r.Sum(s => (long)s.TargetCount)); // N: target tokens of the whole step (all ranks)
            var (first, count) = run.Shard(rowsPerStep);                          // this rank's rows of the step
            double nll = 0, term = 0, correct = 0, tokens = 0;
            for (int start = first; start < first + count; start += o.BatchSize)
            {
                using var scope = NewDisposeScope();
                var batch = MakeBatch(stepRows.GetRange(start, Math.Min(o.BatchSize, first + count - start)), o, run.Device);
                var logits = batch.TargetLogits(model.Model);                                   // (N_m, V)
                var sum = -TokenLosses.TargetLogProbs(logits, batch.TargetIds).sum();           // Σ m·(−log p) over the micro-batch
                var termSum = lossTerm?.PerToken(batch, logits).sum();                          // Σ m·term
                var objective = termSum is null ? sum : (1 - lossTerm!.Weight) * sum + lossTerm.Weight * termSum;
                optimizer.Backward(objective / (double)Math.Max(1, n), share: (double)batch.Rows / rowsPerStep);
                using var noGrad = no_grad();
                nll += sum.item<float>();
                if (termSum is not null) term += termSum.item<float>();
                correct += (logits.argmax(-1) == batch.TargetIds).sum().item<long>();
                tokens += batch.Tokens;
            }
            if (run.Collective.Size > 1)
            {
                double[] sums = [nll, term, correct, tokens];
                run.Collective.AllReduce(sums);
                (nll, term, correct, tokens) = (sums[0], sums[1], sums[2], sums[3]);
            }
            lastLoss = Objective(nll, term, lossTerm) / Math.Max(1, n);
            var applied = optimizer.Apply(step, lastLoss);
            state = state with { Step = step + 1, DataPosition = state.DataPosition + rowsPerStep };

            double seconds = watch.Elapsed.TotalSeconds;
            (tokensTotal, secondsTotal) = (tokensTotal + tokens, secondsTotal + seconds);
            window.Add("loss", Objective(nll, term, lossTerm), n);
            if (lossTerm is not null) { window.Add("ce_loss", nll, n); window.Add(lossTerm.Name, term, n); }
            window.Add("token_accuracy", correct, n);
            window.Add("tokens_per_second", tokens, seconds);
            var metrics = new Dictionary<string, double>();
            if ((step + 1) % o.LogEvery == 0 || step + 1 == steps)
            {
                metrics = window.Flush();
                (metrics["learning_rate"], metrics["grad_norm"], metrics["epoch"]) = (applied.LearningRate, applied.GradNorm, (double)state.DataPosition / rows.Count);
                if (optimizer.ExpertLoad is { } expertLoad) metrics["expert_load_max_over_mean"] = expertLoad; // mixture-of-experts models
            }
            if (o.EvalEvery > 0 && (step + 1) % o.EvalEvery == 0 && step + 1 < steps && evalRows.Count > 0)
                (metrics["eval_loss"], metrics["eval_token_accuracy"]) = Evaluate(model.Model, evalRows, o, run.Device);
            if (metrics.Count > 0) run.Log(step + 1, metrics);
            if ((step + 1) % o.CheckpointEvery == 0 && step + 1 < steps) run.SaveCheckpoint(model, optimizer, state, modelDir);
        }

        // ---- evaluate, save ----
        var (evalLoss, evalAccuracy) = evalRows.Count > 0 ? Evaluate(model.Model, evalRows, o, run.Device) : (double.NaN, double.NaN);
        if (evalRows.Count > 0)
            run.Log(state.Step, new Dictionary<string, double> { ["eval_loss"] = evalLoss, ["eval_token_accuracy"] = evalAccuracy },
                $"eval: loss {evalLoss:F4}, token accuracy {evalAccuracy:P1} on {evalRecords.Count} held-out examples");
        var result = new SftResult(run.ModelDirectory, state.Step, lastLoss, evalLoss, evalAccuracy, tokensTotal / Math.Max(1e-9, secondsTotal),
            run.Clock.Elapsed.TotalSeconds, train.Sequences.Count, train.Truncated, train.Dropped);
        run.Finish(model, optimizer, state, modelDir, result);
        run.Say($"done: {state.Step} steps, loss {lastLoss:F4}, eval loss {evalLoss:F4}; model saved to {run.ModelDirectory} ({run.Clock.Elapsed.TotalSeconds:F0} s)");
        return result;
    }

    /// <summary>(1 − w)·Σ(−log p) + w·Σ term, or the cross-entropy sum alone without a term.</summary>
    static double Objective(double nll, double term, ISftLossTerm? lossTerm)
        => lossTerm is null ? nll : (1 - lossTerm.Weight) * nll + lossTerm.Weight * term;

    static IReadOnlyList<SftRecord> LoadRecords(SftOptions o, CancellationToken ct) => o.Data switch
    {
        null => throw new ArgumentException("SFT option data: no data file given (and no examples passed in code)"),
        "cold-start" => SftRecord.FromExamples(EmbeddedTask.ColdStartExamples(o.DataExamples, (int)o.Seed)),
        "general" => SftRecord.FromExamples(EmbeddedTask.GeneralSftExamples(o.DataExamples, (int)o.Seed)),
        _ => SftData.Load(o.Data, new SftFields(o.PromptField, o.CompletionField, o.MessagesField, o.TextField), ct),
    };

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
        if (sequences.Count == 0) throw new InvalidDataException($"SFT {split} data: no example has a target token within max_length {o.MaxLength}");
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
}
