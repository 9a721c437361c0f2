// r1sharp reward-model --model runs/sft/model --data preferences.jsonl --output runs/reward-model [--config configs/reward-model.yaml] [--resume]
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
//  - Gradient accumulation normalises by the pairs of the whole step; bfloat16 keeps float32 master weights (as SFT).
using System.Diagnostics;
using System.Text.Json;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Data;
using R1Sharp.Rewards.Tasks;
using R1Sharp.Rewards.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Optim;
using R1Sharp.Training.State;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.RewardModel;

public sealed record RewardModelOptions
{
    // ---- data ----
    /// <summary>A JSONL or Parquet file of {prompt, chosen, rejected[, margin]} rows, or <c>arithmetic</c> (the embedded task's pairs). Ignored when pairs are passed in code.</summary>
    public string? Data { get; init; }
    /// <summary>Pairs drawn from the embedded set.</summary>
    public int DataPairs { get; init; } = 2000;
    public string PromptField { get; init; } = "prompt";
    public string ChosenField { get; init; } = "chosen";
    public string RejectedField { get; init; } = "rejected";
    public string MarginField { get; init; } = "margin";
    /// <summary>Longest prompt + response kept, in tokens; longer pairs are dropped.</summary>
    public int MaxLength { get; init; } = 1024;
    /// <summary>Share of the pairs held out for evaluation (when no evaluation pairs are passed in code).</summary>
    public double EvalShare { get; init; } = 0.05;

    // ---- objective ----
    /// <summary>Subtract each pair's margin inside the sigmoid when the data has one (TRL does whenever the column exists).</summary>
    public bool UseMargin { get; init; } = true;
    /// <summary>λ of the reward-centering term λ·(r_c + r_r)²; 0 = off (TRL's default), 0.01 recommended by TRL.</summary>
    public double CenterRewardsCoefficient { get; init; }

    // ---- optimisation ----
    /// <summary>Pairs per forward/backward pass (2 × BatchSize sequences).</summary>
    public int BatchSize { get; init; } = 8;
    public int GradientAccumulationSteps { get; init; } = 1;
    /// <summary>Passes over the pairs; InstructGPT trains its reward model for one epoch (more overfits).</summary>
    public double Epochs { get; init; } = 1;
    /// <summary>Optimiser steps; 0 = as many as <see cref="Epochs"/> take.</summary>
    public int MaxSteps { get; init; }
    public double LearningRate { get; init; } = 1e-5;
    public double WarmupRatio { get; init; } = 0.03;
    public double MinLearningRateRatio { get; init; }
    public double WeightDecay { get; init; }
    public double AdamBeta1 { get; init; } = 0.9;
    public double AdamBeta2 { get; init; } = 0.999;
    public double MaxGradNorm { get; init; } = 1.0;

    // ---- evaluation, logging, checkpoints ----
    public int EvalEvery { get; init; } = 100;
    public int LogEvery { get; init; } = 10;
    public int CheckpointEvery { get; init; } = 200;
    public long Seed { get; init; }
    public string Dtype { get; init; } = "float32";
    public string Device { get; init; } = "cpu";

    /// <summary>Checks every option; the message names the option.</summary>
    public void Validate()
    {
        static void Check(bool ok, string option, string rule, object value)
        {
            if (!ok) throw new ArgumentException($"reward-model option {option}: {rule} (got {value})");
        }
        Check(MaxLength >= 1, nameof(MaxLength), "must be at least 1", MaxLength);
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
        Check(CenterRewardsCoefficient >= 0 && double.IsFinite(CenterRewardsCoefficient), nameof(CenterRewardsCoefficient), "must not be negative", CenterRewardsCoefficient);
        Check(EvalShare is >= 0 and < 1, nameof(EvalShare), "must be in [0, 1)", EvalShare);
        Check(DataPairs >= 1, nameof(DataPairs), "must be at least 1", DataPairs);
        Check(EvalEvery >= 0, nameof(EvalEvery), "must not be negative", EvalEvery);
        Check(LogEvery >= 1, nameof(LogEvery), "must be at least 1", LogEvery);
        Check(CheckpointEvery >= 1, nameof(CheckpointEvery), "must be at least 1", CheckpointEvery);
        Precision.Parse(Dtype);
    }
}

public sealed record RewardModelResult(string ModelDirectory, int Steps, double TrainLoss, double TrainAccuracy, double EvalLoss,
    double EvalAccuracy, double EvalMargin, double Seconds, int Pairs, int Dropped);

public static class RewardModelRecipe
{
    /// <param name="modelDir">A causal LM (the head starts fresh) or a reward model to train further.</param>
    /// <param name="pairs">Preference pairs built in code; replaces <see cref="RewardModelOptions.Data"/>.</param>
    /// <param name="evalPairs">Held-out pairs; replaces <see cref="RewardModelOptions.EvalShare"/>.</param>
    public static RewardModelResult Run(RewardModelOptions o, string modelDir, string output, RunSettings? settings = null,
        IReadOnlyList<PreferenceRecord>? pairs = null, IReadOnlyList<PreferenceRecord>? evalPairs = null)
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

        // ---- data: pairs → token ids (all errors surface here, before any training) ----
        var tokenizer = HfTokenizer.Load(modelDir);
        var sourceConfig = ModelConfig.Load(Path.Combine(modelDir, Checkpoint.ConfigFile));
        int? pad = sourceConfig.PadTokenId ?? (sourceConfig.EosTokenIds.Count > 0 ? sourceConfig.EosTokenIds[0] : null); // as Checkpoint.LoadScorer
        var (trainRecords, evalRecords) = Split(pairs ?? LoadPairs(o, ct), evalPairs, o);
        var (train, dropped) = Encode(trainRecords, tokenizer, pad, o);
        var (evalSet, _) = evalRecords.Count == 0 ? ([], 0) : Encode(evalRecords, tokenizer, pad, o);
        if (train.Count == 0) throw new InvalidDataException($"reward model: every training pair is longer than MaxLength {o.MaxLength}");
        int pairsPerStep = o.BatchSize * o.GradientAccumulationSteps;
        int steps = o.MaxSteps > 0 ? o.MaxSteps : (int)Math.Ceiling(o.Epochs * train.Count / pairsPerStep);
        log($"data: {train.Count:N0} pairs{(dropped > 0 ? $" ({dropped} longer than {o.MaxLength} tokens dropped)" : "")}, {evalSet.Count:N0} held out; " +
            $"{steps} steps of {pairsPerStep} pairs" + (train.Any(p => p.Margin != 0) ? "; with margins" : ""));

        // ---- model and optimiser ----
        Directory.CreateDirectory(output);
        var checkpointDir = Path.Combine(output, "checkpoint");
        var resumeFrom = settings.Resume ? TrainingCheckpoint.Find(checkpointDir) : null;
        bool mixed = dtype != ScalarType.Float32;
        using var master = Checkpoint.LoadScorer(resumeFrom ?? modelDir, mixed ? ScalarType.Float32 : dtype, device, headSeed: o.Seed);
        using var bf16 = mixed ? new SequenceScorer(master.Config, dtype, device) : null;
        var model = bf16 ?? master;
        var masterWeights = bf16 is null ? null : new MasterWeights(bf16, master);
        var optimizer = Optimizers.AdamW(master, o.LearningRate, o.WeightDecay, o.AdamBeta1, o.AdamBeta2);
        var schedule = new LearningRateSchedule(o.LearningRate, (int)Math.Ceiling(o.WarmupRatio * steps), steps, o.MinLearningRateRatio);
        var state = new TrainerState(0, 0);
        if (resumeFrom is not null)
        {
            state = TrainingCheckpoint.Restore(resumeFrom, optimizer);
            log($"resumed from {resumeFrom} at step {state.Step}");
        }
        log($"model: {master.Config.ParameterCount() / 1e6:F2}M parameters, {(sourceConfig.Head == ModelHead.CausalLM && resumeFrom is null ? "new score head on " : "")}" +
            $"{Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd(Path.DirectorySeparatorChar))}, {o.Dtype}");
        using var runLog = new RunLog(output, "reward-model", steps, resumeFrom is null ? null : state.Step, settings, ["loss", "accuracy", "margin", "learning_rate"]);
        early.ForEach(runLog.Say);
        log = runLog.Say;

        // ---- the loop ----
        var guard = new NonFiniteGuard(warn: log);
        var order = new EpochOrder(train.Count, o.Seed, "reward-model");
        var window = new Stats();
        double lastLoss = double.NaN, lastAccuracy = double.NaN, gradNorm = 0;
        optimizer.zero_grad();
        for (int step = state.Step; step < steps; step++)
        {
            ct.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            model.train();
            var stepPairs = Enumerable.Range(0, pairsPerStep).Select(k => train[order.At(state.DataPosition + k)]).ToList();
            var stats = new Stats();
            using (var scope = NewDisposeScope())
            {
                for (int m = 0; m < o.GradientAccumulationSteps; m++)
                {
                    using var microScope = NewDisposeScope();
                    var (chosen, rejected, margin) = Rewards(model, stepPairs.GetRange(m * o.BatchSize, o.BatchSize), device);
                    var perPair = BradleyTerryLoss.PerPair(chosen, rejected, margin, o.CenterRewardsCoefficient);
                    (perPair.sum() / (double)pairsPerStep).backward();
                    masterWeights?.AccumulateGradients();
                    stats.Add(perPair, chosen, rejected, stepPairs.GetRange(m * o.BatchSize, o.BatchSize));
                }
                gradNorm = Optimizers.ClipGradients(master, o.MaxGradNorm);
                if (guard.Allow(step + 1, stats.Loss, gradNorm))
                {
                    Optimizers.SetLearningRate(optimizer, schedule.At(step));
                    optimizer.step();
                    masterWeights?.CopyWeights();
                }
                optimizer.zero_grad();
            }
            state = state with { Step = step + 1, DataPosition = state.DataPosition + pairsPerStep };
            stats.Seconds = watch.Elapsed.TotalSeconds;
            window.Merge(stats);
            (lastLoss, lastAccuracy) = (stats.Loss, stats.Accuracy);

            var metrics = new Dictionary<string, double>();
            if ((step + 1) % o.LogEvery == 0 || step + 1 == steps)
            {
                metrics["loss"] = window.Loss;
                metrics["accuracy"] = window.Accuracy;
                metrics["margin"] = window.Margin;
                metrics["rewards/chosen"] = window.Chosen;
                metrics["rewards/rejected"] = window.Rejected;
                metrics["learning_rate"] = schedule.At(step);
                metrics["grad_norm"] = gradNorm;
                metrics["tokens_per_second"] = window.Tokens / Math.Max(1e-9, window.Seconds);
                metrics["epoch"] = (double)state.DataPosition / train.Count;
                window = new Stats();
            }
            if (o.EvalEvery > 0 && (step + 1) % o.EvalEvery == 0 && step + 1 < steps && evalSet.Count > 0)
                (metrics["eval_loss"], metrics["eval_accuracy"], metrics["eval_margin"]) = Evaluate(model, evalSet, o, device);
            if (metrics.Count > 0)
            {
                runLog.Step(step + 1, metrics, $"step {step + 1}/{steps}  " + string.Join("  ", metrics.Select(kv => $"{kv.Key} {Format(kv.Key, kv.Value)}")));
            }
            if ((step + 1) % o.CheckpointEvery == 0 && step + 1 < steps)
                TrainingCheckpoint.Save(checkpointDir, master, optimizer, state, companionsFrom: modelDir);
        }

        // ---- evaluate, save ----
        var (evalLoss, evalAccuracy, evalMargin) = evalSet.Count > 0 ? Evaluate(model, evalSet, o, device) : (double.NaN, double.NaN, double.NaN);
        if (evalSet.Count > 0)
        {
            runLog.Step(state.Step, new Dictionary<string, double> { ["eval_loss"] = evalLoss, ["eval_accuracy"] = evalAccuracy, ["eval_margin"] = evalMargin },
                $"eval: loss {evalLoss:F4}, accuracy {evalAccuracy:P1}, margin {evalMargin:F3} on {evalSet.Count} held-out pairs");
        }
        TrainingCheckpoint.Save(checkpointDir, master, optimizer, state, companionsFrom: modelDir);
        var modelOut = Path.Combine(output, "model");
        Checkpoint.Save(model, modelOut, companionsFrom: modelDir);
        var result = new RewardModelResult(modelOut, state.Step, lastLoss, lastAccuracy, evalLoss, evalAccuracy, evalMargin,
            clock.Elapsed.TotalSeconds, train.Count, dropped);
        File.WriteAllText(Path.Combine(output, "summary.json"), JsonSerializer.Serialize(result, new JsonSerializerOptions
        {
            WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        log($"done: {state.Step} steps, eval accuracy {evalAccuracy:P1}; reward model saved to {modelOut} ({clock.Elapsed.TotalSeconds:F0} s)");
        return result;
    }

    static IReadOnlyList<PreferenceRecord> LoadPairs(RewardModelOptions o, CancellationToken ct) => o.Data switch
    {
        null => throw new ArgumentException("reward-model option Data: no data file given (and no pairs passed in code)"),
        EmbeddedTask.Name => PreferenceRecord.FromPairs(EmbeddedTask.PreferencePairs(o.DataPairs, (int)o.Seed)),
        _ => PreferenceData.Load(o.Data, new PreferenceFields(o.PromptField, o.ChosenField, o.RejectedField, o.MarginField), ct),
    };

    static (IReadOnlyList<PreferenceRecord>, IReadOnlyList<PreferenceRecord>) Split(IReadOnlyList<PreferenceRecord> records,
        IReadOnlyList<PreferenceRecord>? eval, RewardModelOptions o)
    {
        if (records.Count == 0) throw new ArgumentException("reward model: no training pairs");
        if (eval is not null) return (records, eval);
        int held = o.EvalShare > 0 ? Math.Clamp((int)Math.Round(records.Count * o.EvalShare), 1, records.Count - 1) : 0;
        if (held == 0) return (records, []);
        var indices = Enumerable.Range(0, records.Count).ToArray();
        new DeterministicRandom(o.Seed, "reward-model-eval-split").Shuffle(indices);
        var heldOut = indices.Take(held).ToHashSet();
        return (records.Where((_, i) => !heldOut.Contains(i)).ToList(), records.Where((_, i) => heldOut.Contains(i)).ToList());
    }

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
        var stats = new Stats();
        for (int start = 0; start < pairs.Count; start += o.BatchSize)
        {
            using var scope = NewDisposeScope();
            var part = pairs.GetRange(start, Math.Min(o.BatchSize, pairs.Count - start));
            var (chosen, rejected, margin) = Rewards(model, part, device);
            stats.Add(BradleyTerryLoss.PerPair(chosen, rejected, margin, o.CenterRewardsCoefficient), chosen, rejected, part);
        }
        model.train();
        return (stats.Loss, stats.Accuracy, stats.Margin);
    }

    /// <summary>Running sums over pairs for the logged means.</summary>
    sealed class Stats
    {
        double loss, correct, margin, chosen, rejected, count;
        public double Tokens, Seconds;

        public void Add(Tensor perPair, Tensor chosenRewards, Tensor rejectedRewards, IReadOnlyList<EncodedPair> pairs)
        {
            using var noGrad = no_grad();
            loss += perPair.sum().item<float>();
            correct += BradleyTerryLoss.Correct(chosenRewards, rejectedRewards).sum().item<float>();
            margin += (chosenRewards - rejectedRewards).sum().item<float>();
            chosen += chosenRewards.sum().item<float>();
            rejected += rejectedRewards.sum().item<float>();
            count += pairs.Count;
            Tokens += pairs.Sum(p => p.Chosen.Length + p.Rejected.Length);
        }

        public void Merge(Stats s)
        {
            (loss, correct, margin, chosen, rejected, count) = (loss + s.loss, correct + s.correct, margin + s.margin, chosen + s.chosen, rejected + s.rejected, count + s.count);
            (Tokens, Seconds) = (Tokens + s.Tokens, Seconds + s.Seconds);
        }

        double Mean(double sum) => count == 0 ? double.NaN : sum / count;
        public double Loss => Mean(loss);
        public double Accuracy => Mean(correct);
        public double Margin => Mean(margin);
        public double Chosen => Mean(chosen);
        public double Rejected => Mean(rejected);
    }

    static string Format(string key, double value) => key switch
    {
        "learning_rate" => value.ToString("E2"),
        "tokens_per_second" => value.ToString("N0"),
        "accuracy" or "eval_accuracy" => value.ToString("P1"),
        _ => value.ToString("F4"),
    };

}
