// r1sharp rm --model runs/sft/model --output runs/reward-model --set data=preferences.jsonl [--config FILE.yaml] [--resume]
//
// A Bradley-Terry reward model (InstructGPT, Ouyang et al. 2022; TRL's RewardTrainer), for R1's final RL stage, where
// reward models judge general prompts (helpfulness on the summary, harmlessness on the whole response):
//     r(x, y) = score · h_last(x ++ y)                                   (SequenceScorer: a scalar head on the last token)
//     L(θ) = (1/P) Σ_i [ −log σ(r(x_i, y_c) − r(x_i, y_r) − m_i) + λ (r(x_i, y_c) + r(x_i, y_r))² ]   (BradleyTerryLoss)
// over the P pairs of the optimiser step; m_i is the pair's margin (0 without one, or with UseMargin = false), λ the
// reward-centering coefficient (Eisenstein et al. 2023). Started from a causal LM, the score head is new (N(0, 0.02)).
// Deliberate choices:
//  - The reward is read at the last token of prompt + response with no EOS appended (RewardEncoding): a checkpoint whose
//    pad id is its EOS id would make transformers skip an appended EOS and read a different token.
//  - Pairs longer than MaxLength are dropped, not truncated: a cut response's last token is not its end.
//  - Chosen and rejected responses run in one forward pass (2b right-padded rows, plain causal attention).
//  - Gradient accumulation normalises by the pairs of the whole step.
// Opening the run, bf16 master weights, the optimiser step, checkpoints and summary.json are TrainingRun's and
// OptimizerStep's (docs/architecture.md); this file is the data and the loop.
using System.Diagnostics;
using System.Text.Json.Serialization;
using R1Sharp.Data;
using R1Sharp.Model;
using R1Sharp.Recipes.Config;
using R1Sharp.Tasks.Arithmetic;
using R1Sharp.Text.Templates;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Distributed;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.RewardModel;

/// <summary>What a reward-model run produced (summary.json holds these after the common fields).</summary>
public sealed record RewardModelResult([property: JsonIgnore] string ModelDirectory, int Steps, double TrainLoss, double TrainAccuracy,
    double EvalLoss, double EvalAccuracy, double EvalMargin, double Seconds, int Pairs, int Dropped);

public static class RewardModelRecipe
{
    /// <param name="modelDir">A causal LM (the head starts fresh) or a reward model to train further.</param>
    /// <param name="pairs">Preference pairs built in code; replaces <see cref="RewardModelOptions.Data"/>.</param>
    /// <param name="evalPairs">Held-out pairs; replaces <see cref="RewardModelOptions.EvalShare"/>.</param>
    public static RewardModelResult Run(RewardModelOptions o, string modelDir, string output, RunSettings? settings = null,
        IReadOnlyList<PreferenceRecord>? pairs = null, IReadOnlyList<PreferenceRecord>? evalPairs = null)
    {
        ConfigBinder.Check(o, "rm");
        modelDir = ModelLocation.Resolve(modelDir);
        using var run = TrainingRun.Open(output, "reward-model", settings, o.Seed, dataParallel: true);

        // ---- data: pairs → token ids (all errors surface here, before any training) ----
        var tokenizer = HfTokenizer.Load(modelDir);
        var sourceConfig = ModelConfig.Load(Path.Combine(modelDir, Checkpoint.ConfigFile));
        int? pad = sourceConfig.PadTokenId ?? (sourceConfig.EosTokenIds.Count > 0 ? sourceConfig.EosTokenIds[0] : null); // as Checkpoint.LoadScorer
        var records = pairs ?? LoadPairs(o, modelDir, run.Say, run.Cancel);
        if (records.Count == 0) throw new ArgumentException("reward model: no training pairs");
        var (trainRecords, evalRecords) = evalPairs is null ? DataSplit.HoldOut(records, o.EvalShare, o.Seed, "reward-model-eval-split") : (records, evalPairs);
        var (train, dropped) = Encode(trainRecords, tokenizer, pad, o);
        var (evalSet, _) = Encode(evalRecords, tokenizer, pad, o);
        if (train.Count == 0) throw new InvalidDataException($"reward model: every training pair is longer than max_length {o.MaxLength}");
        int pairsPerStep = o.BatchSize * o.GradientAccumulationSteps;
        int steps = o.MaxSteps > 0 ? o.MaxSteps : (int)Math.Ceiling(o.Epochs * train.Count / pairsPerStep);
        run.Say($"data: {train.Count:N0} pairs{(dropped > 0 ? $" ({dropped} longer than {o.MaxLength} tokens dropped)" : "")}, {evalSet.Count:N0} held out; " +
                $"{steps} steps of {pairsPerStep} pairs" + (train.Any(p => p.Margin != 0) ? "; with margins" : ""));

        // ---- model and optimiser ----
        using var model = run.LoadScorer(modelDir, headSeed: o.Seed);
        var optimizer = run.Optimizer(model, o.Optimizer, steps, out var state);
        optimizer.Reduction = ReduceOp.Sum; // each rank back-propagates Σ over its pairs / the step's pairs (all ranks)
        run.Say($"model: {model.Config.ParameterCount() / 1e6:F2}M parameters, {(sourceConfig.Head == ModelHead.CausalLM && run.ResumeFrom is null ? "new score head on " : "")}" +
                $"{Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd(Path.DirectorySeparatorChar))}, {Precision.Name(run.Dtype)}");
        run.StartLog(steps, state.Step, ["loss", "accuracy", "margin", "learning_rate"]);

        // ---- the loop ----
        var order = new EpochOrder(train.Count, o.Seed, "reward-model");
        var window = new MetricWindow();
        double lastLoss = double.NaN, lastAccuracy = double.NaN;
        for (int step = state.Step; step < steps; step++)
        {
            run.Cancel.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            model.Model.train();
            var stepPairs = Enumerable.Range(0, pairsPerStep).Select(k => train[order.At(state.DataPosition + k)]).ToList();
            var stats = new MetricWindow();
            // Rank r of N takes its contiguous share of the step's pairs (TrainingRun.Shard; all of them in one process), in
            // micro-batches of batch_size; the loss of each is its pairs' sum over the step's pairs, so the gradients summed
            // over the ranks are the one-process step's.
            var (first, count) = run.Shard(pairsPerStep);
            for (int start = first; start < first + count; start += o.BatchSize)
            {
                using var scope = NewDisposeScope();
                var part = stepPairs.GetRange(start, Math.Min(o.BatchSize, first + count - start));
                var (chosen, rejected, margin) = Rewards(model.Model, part, run.Device);
                var perPair = BradleyTerryLoss.PerPair(chosen, rejected, margin, o.CenterRewardsCoefficient);
                optimizer.Backward(perPair.sum() / (double)pairsPerStep, share: (double)part.Count / pairsPerStep);
                AddPairStats(stats, perPair, chosen, rejected, part);
            }
            if (run.Collective.Size > 1) stats = Summed(stats, count, run.Collective, pairsPerStep);
            (lastLoss, lastAccuracy) = (stats.Mean("loss"), stats.Mean("accuracy"));
            var applied = optimizer.Apply(step, lastLoss);
            state = state with { Step = step + 1, DataPosition = state.DataPosition + pairsPerStep };

            AddPairStats(window, stepPairs, stats);
            window.Add("tokens_per_second", stepPairs.Sum(p => p.Chosen.Length + p.Rejected.Length), watch.Elapsed.TotalSeconds);
            var metrics = new Dictionary<string, double>();
            if ((step + 1) % o.LogEvery == 0 || step + 1 == steps)
            {
                metrics = window.Flush();
                (metrics["learning_rate"], metrics["grad_norm"], metrics["epoch"]) = (applied.LearningRate, applied.GradNorm, (double)state.DataPosition / train.Count);
            }
            if (o.EvalEvery > 0 && (step + 1) % o.EvalEvery == 0 && step + 1 < steps && evalSet.Count > 0)
                (metrics["eval_loss"], metrics["eval_accuracy"], metrics["eval_margin"]) = Evaluate(model.Model, evalSet, o, run.Device);
            if (metrics.Count > 0) run.Log(step + 1, metrics);
            if ((step + 1) % o.CheckpointEvery == 0 && step + 1 < steps) run.SaveCheckpoint(model, optimizer, state, modelDir);
        }

        // ---- evaluate, save ----
        var (evalLoss, evalAccuracy, evalMargin) = evalSet.Count > 0 ? Evaluate(model.Model, evalSet, o, run.Device) : (double.NaN, double.NaN, double.NaN);
        if (evalSet.Count > 0)
            run.Log(state.Step, new Dictionary<string, double> { ["eval_loss"] = evalLoss, ["eval_accuracy"] = evalAccuracy, ["eval_margin"] = evalMargin },
                $"eval: loss {evalLoss:F4}, accuracy {evalAccuracy:P1}, margin {evalMargin:F3} on {evalSet.Count} held-out pairs");
        var result = new RewardModelResult(run.ModelDirectory, state.Step, lastLoss, lastAccuracy, evalLoss, evalAccuracy, evalMargin,
            run.Clock.Elapsed.TotalSeconds, train.Count, dropped);
        run.Finish(model, optimizer, state, modelDir, result);
        run.Say($"done: {state.Step} steps, eval accuracy {evalAccuracy:P1}; reward model saved to {run.ModelDirectory} ({run.Clock.Elapsed.TotalSeconds:F0} s)");
        return result;
    }

    static IReadOnlyList<PreferenceRecord> LoadPairs(RewardModelOptions o, string modelDir, Action<string> log, CancellationToken ct) => o.Data switch
    {
        null => throw new ArgumentException("reward-model option data: no data file given (and no pairs passed in code)"),
        EmbeddedTask.Name => PreferenceRecord.FromPairs(EmbeddedTask.PreferencePairs(o.DataPairs, (int)o.Seed)),
        _ => PreferenceData.Load(o.Data, new PreferenceFields(o.PromptField, o.ChosenField, o.RejectedField, o.MarginField), ct, () =>
        {
            var template = ChatTemplate.ForModel(modelDir, o.ChatTemplatePath, out string origin);
            log($"chat template: {origin}");
            return template;
        }),
    };

    /// <summary>A pair as token ids.</summary>
    public sealed record EncodedPair(int[] Chosen, int[] Rejected, float Margin);

    static (List<EncodedPair> Pairs, int Dropped) Encode(IReadOnlyList<PreferenceRecord> records, HfTokenizer tokenizer, int? pad, RewardModelOptions o)
    {
        var pairs = new List<EncodedPair>(records.Count);
        int dropped = 0;
        foreach (var r in records)
        {
            var chosen = RewardEncoding.Encode(tokenizer, r.Prompt, r.Chosen, pad);
            var rejected = RewardEncoding.Encode(tokenizer, r.Prompt, r.Rejected, pad);
            if (chosen.Length == 0 || rejected.Length == 0) throw new InvalidDataException($"{r.Source}: a response encodes to no tokens");
            if (chosen.Length > o.MaxLength || rejected.Length > o.MaxLength) { dropped++; continue; }
            pairs.Add(new EncodedPair(chosen, rejected, o.UseMargin ? (float)(r.Margin ?? 0) : 0f));
        }
        return (pairs, dropped);
    }

    /// <summary>Rewards (b) of the chosen and the rejected responses, and the margins (b), from one forward over 2b right-padded rows.</summary>
    public static (Tensor Chosen, Tensor Rejected, Tensor Margin) Rewards(SequenceScorer model, IReadOnlyList<EncodedPair> pairs, Device device)
    {
        int b = pairs.Count;
        var sequences = pairs.Select(p => p.Chosen).Concat(pairs.Select(p => p.Rejected)).ToList();
        var (ids, lengths) = PadRight(sequences, device);
        var rewards = model.Forward(ids, lengths);                  // (2b)
        var margin = tensor(pairs.Select(p => p.Margin).ToArray(), device: device);
        return (rewards.narrow(0, 0, b), rewards.narrow(0, b, b), margin);
    }

    /// <summary>Right-padded ids (B, T) and lengths (B).</summary>
    public static (Tensor Ids, Tensor Lengths) PadRight(IReadOnlyList<int[]> sequences, Device device)
    {
        int t = sequences.Max(s => s.Length);
        var ids = new long[sequences.Count * t];
        for (int r = 0; r < sequences.Count; r++)
            for (int j = 0; j < sequences[r].Length; j++) ids[r * t + j] = sequences[r][j];
        return (tensor(ids, [sequences.Count, t], device: device), tensor(sequences.Select(s => (long)s.Length).ToArray(), device: device));
    }

    /// <summary>Mean loss, pairwise accuracy and mean margin r_c − r_r over the held-out pairs.</summary>
    static (double Loss, double Accuracy, double Margin) Evaluate(SequenceScorer model, List<EncodedPair> pairs, RewardModelOptions o, Device device)
    {
        model.eval();
        using var noGrad = no_grad();
        var stats = new MetricWindow();
        for (int start = 0; start < pairs.Count; start += o.BatchSize)
        {
            using var scope = NewDisposeScope();
            var part = pairs.GetRange(start, Math.Min(o.BatchSize, pairs.Count - start));
            var (chosen, rejected, margin) = Rewards(model, part, device);
            AddPairStats(stats, BradleyTerryLoss.PerPair(chosen, rejected, margin, o.CenterRewardsCoefficient), chosen, rejected, part);
        }
        model.train();
        return (stats.Mean("loss"), stats.Mean("accuracy"), stats.Mean("margin"));
    }

    /// <summary>Sums over the pairs of a micro-batch: loss, pairwise accuracy, margin r_c − r_r, and both rewards.</summary>
    static void AddPairStats(MetricWindow stats, Tensor perPair, Tensor chosen, Tensor rejected, IReadOnlyList<EncodedPair> pairs)
    {
        using var noGrad = no_grad();
        stats.Add("loss", perPair.sum().item<float>(), pairs.Count);
        stats.Add("accuracy", BradleyTerryLoss.Correct(chosen, rejected).sum().item<float>(), pairs.Count);
        stats.Add("margin", (chosen - rejected).sum().item<float>(), pairs.Count);
        stats.Add("rewards/chosen", chosen.sum().item<float>(), pairs.Count);
        stats.Add("rewards/rejected", rejected.sum().item<float>(), pairs.Count);
    }

    static readonly string[] PairStats = ["loss", "accuracy", "margin", "rewards/chosen", "rewards/rejected"];

    /// <summary>The step's pair statistics summed over the ranks (each rank's window holds its own pairs).</summary>
    static MetricWindow Summed(MetricWindow mine, int myPairs, ICollective collective, int pairs)
    {
        var sums = PairStats.Select(n => myPairs == 0 ? 0 : mine.Mean(n) * myPairs).ToArray();
        collective.AllReduce(sums);
        var all = new MetricWindow();
        for (int i = 0; i < PairStats.Length; i++) all.Add(PairStats[i], sums[i], pairs);
        return all;
    }

    /// <summary>Adds a step's per-pair means to the log window, weighted by its pairs.</summary>
    static void AddPairStats(MetricWindow window, IReadOnlyList<EncodedPair> pairs, MetricWindow step)
    {
        foreach (var name in PairStats)
            window.Add(name, step.Mean(name) * pairs.Count, pairs.Count);
    }
}
