// r1sharp grpo --model runs/base/model --output runs/r1-zero [--config configs/r1-zero.yaml] [--resume]
//
// Group Relative Policy Optimization (Shao et al. 2024, DeepSeekMath; used by DeepSeek-R1). Per step:
//   1. sample G completions o_1..o_G for each of P prompts q from π_old (the current policy, temperature T);
//   2. score them with rule rewards r_i (weighted sum of reward functions);
//   3. Â_i = (r_i − mean(r_group)) / (std(r_group) + 1e-4)   — every token of o_i gets Â_i;
//   4. for μ iterations, minimise over the batch (aggregated per the loss type, see Losses/Grpo):
//        ℓ_{i,t} = −min(ρ_{i,t} Â_i, clip(ρ_{i,t}, 1 − ε_low, 1 + ε_high) Â_i) + β KL_k3(π_θ ‖ π_ref),
//        ρ_{i,t} = π_θ(o_{i,t} | q, o_{i,<t}) / π_old(o_{i,t} | q, o_{i,<t}).
// With μ = 1, π_old = stop-grad(π_θ): ρ = 1, the logged loss is ~0 while the gradient is not (TRL behaves the same).
// Deliberate choices: π_old for μ > 1 is the sampler's log-probabilities (same model, same temperature), not a
// re-computation; the reference model is reset to the policy every RefResetEvery steps (R1 resets every 400);
// no reference model is kept when β = 0.
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Engine;
using System.ComponentModel.DataAnnotations;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Rewards;
using R1Sharp.Rewards.Rules;
using R1Sharp.Rewards.Tasks;
using R1Sharp.Rewards.Tasks.Arithmetic;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Losses.Grpo;
using R1Sharp.Training.Optim;
using R1Sharp.Training.State;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Grpo;

public sealed record GrpoOptions
{
    // ---- task and rewards ----
    /// <summary>arithmetic (the embedded task), countdown, or a JSONL/Parquet file of prompts with reference fields.</summary>
    public string Task { get; init; } = "arithmetic";
    [Range(1, int.MaxValue)]
    public int TrainPrompts { get; init; } = 4096;
    /// <summary>Problems of the embedded arithmetic task (ignored for other tasks).</summary>
    public ArithmeticDifficulty Difficulty { get; init; } = EmbeddedTask.DemoDifficulty;
    /// <summary>How embedded-task prompts are written: <c>r1_zero</c> (the R1-Zero template) or <c>plain</c> (<c>User: …\nAssistant:</c>,
    /// for models trained on the cold-start format). Also decides which format the evaluation checks.</summary>
    public PromptStyle PromptStyle { get; init; } = PromptStyle.R1Zero;
    /// <summary>Reward functions from RewardRegistry.CreateStandard(), with weights and options: R1-Zero's accuracy + format.</summary>
    public IReadOnlyList<RewardSpec> Rewards { get; init; } = [new("accuracy"), new("r1_zero_format")];

    // ---- sampling ----
    [Range(1, int.MaxValue)]
    public int PromptsPerStep { get; init; } = 16;
    /// <summary>G, completions per prompt.</summary>
    [Range(1, int.MaxValue)]
    public int Generations { get; init; } = 8;
    [Range(1, int.MaxValue)]
    public int MaxCompletionLength { get; init; } = 128;
    /// <summary>R1 samples at 1.0 for RL.</summary>
    [Range(1e-6, 100.0)]
    public double Temperature { get; init; } = 1.0;
    [Range(1e-6, 1.0)]
    public double TopP { get; init; } = 1.0;

    // ---- objective ----
    /// <summary>grpo, bnpo, dapo or dr_grpo (DESIGN.md §3). TRL's default is dapo (token-level, no length bias).</summary>
    [AllowedValues("grpo", "bnpo", "dapo", "dr_grpo")]
    public string LossType { get; init; } = "dapo";
    public AdvantageScaling ScaleRewards { get; init; } = AdvantageScaling.Group;
    /// <summary>KL coefficient. R1 uses 0.001; TRL defaults to 0 (no reference model at all).</summary>
    public double Beta { get; init; }
    public double EpsilonLow { get; init; } = 0.2;
    public double EpsilonHigh { get; init; } = 0.2;
    /// <summary>μ, optimiser passes over each batch of samples.</summary>
    [Range(1, int.MaxValue)]
    public int Iterations { get; init; } = 1;
    /// <summary>Copy the policy into the reference model every N steps (0: never).</summary>
    public int RefResetEvery { get; init; }
    /// <summary>DAPO dynamic sampling: drop groups whose rewards are all equal and sample more prompts to refill.</summary>
    public bool DynamicSampling { get; init; }
    [Range(1, int.MaxValue)]
    public int MaxSamplingRounds { get; init; } = 3;
    /// <summary>DAPO: completions cut off by the length limit get no gradient.</summary>
    public bool MaskTruncatedCompletions { get; init; }

    // ---- optimisation ----
    /// <summary>TRL's default; R1 used 3e-6, DeepSeekMath 1e-6. Tiny models trained here take ~1e-4 (configs/).</summary>
    public double LearningRate { get; init; } = 1e-6;
    public int WarmupSteps { get; init; }
    public double WeightDecay { get; init; }
    public double MaxGradNorm { get; init; } = 1.0;
    /// <summary>Completions per forward/backward pass (gradients accumulate over the batch).</summary>
    [Range(1, int.MaxValue)]
    public int MicroBatchSize { get; init; } = 32;
    [Range(1, int.MaxValue)]
    public int Steps { get; init; } = 100;

    // ---- evaluation, logging, checkpoints ----
    public int EvalPrompts { get; init; } = 64;
    [Range(1, int.MaxValue)]
    public int EvalSamples { get; init; } = 8;
    public double EvalTemperature { get; init; } = 0.6;
    public double EvalTopP { get; init; } = 0.95;
    [Range(1, int.MaxValue)]
    public int LogEvery { get; init; } = 1;
    [Range(1, int.MaxValue)]
    public int CheckpointEvery { get; init; } = 25;
    public long Seed { get; init; }
    public string Dtype { get; init; } = "float32";
    public string Device { get; init; } = "cpu";
}

public sealed record GrpoResult(string ModelDirectory, int Steps, QuickEvaluation Before, QuickEvaluation After, double Seconds);

public static class GrpoRecipe
{
    /// <param name="customRewards">Reward functions built in code (e.g. a trained reward model); replaces <see cref="GrpoOptions.Rewards"/>.</param>
    /// <param name="tasks">Training and evaluation prompts built in code (e.g. reasoning and general prompts mixed); replaces <see cref="GrpoOptions.Task"/>.</param>
    public static GrpoResult Run(GrpoOptions o, string modelDir, string output, RunSettings? settings = null, WeightedRewards? customRewards = null,
        (TaskDefinition Train, TaskDefinition Eval)? tasks = null)
    {
        settings ??= new RunSettings();
        var ct = settings.Cancel;
        Directory.CreateDirectory(output);
        var clock = Stopwatch.StartNew();
        var device = o.Device == "cpu" ? CPU : new Device(o.Device);
        var dtype = Precision.Parse(o.Dtype);
        manual_seed(o.Seed);

        // ---- setup: tokenizer, task, rewards, policy, reference, optimiser ----
        var tokenizer = HfTokenizer.Load(modelDir);
        int eos = tokenizer.EosTokenId ?? throw new InvalidDataException($"{modelDir}: the tokenizer has no EOS token");
        var (train, eval) = tasks ?? GrpoTasks.Resolve(o.Task, o.TrainPrompts, o.EvalPrompts, o.Seed, o.Difficulty, o.PromptStyle);
        var rewards = customRewards ?? RewardRegistry.CreateStandard().Build(o.Rewards);
        var aggregation = LossAggregations.Get(o.LossType);
        var trainPrompts = train.Examples.Select(e => (IReadOnlyList<int>)tokenizer.Encode(e.Prompt).ToArray()).ToList();

        var checkpointDir = Path.Combine(output, "checkpoint");
        var resumeFrom = settings.Resume ? TrainingCheckpoint.Find(checkpointDir) : null;
        using var policy = Checkpoint.Load(resumeFrom ?? modelDir, dtype, device);
        using var reference = o.Beta != 0 ? Checkpoint.Load(modelDir, dtype, device) : null;
        reference?.eval();
        var optimizer = Optimizers.AdamW(policy, o.LearningRate, o.WeightDecay);
        var schedule = new LearningRateSchedule(o.LearningRate, o.WarmupSteps, o.Steps, 1.0, "constant");
        var state = new TrainerState(0, 0);
        if (resumeFrom is not null)
        {
            state = TrainingCheckpoint.Restore(resumeFrom, optimizer);
            if (reference is not null && state.Extra?.GetValueOrDefault("ref_reset_step") is > 0)
                CopyWeights(policy, reference); // the reference was reset to the policy before the interruption
        }
        using var log = new RunLog(output, "grpo", o.Steps, resumeFrom is null ? null : state.Step, settings,
            ["reward", "completion_length", "kl", "time/step"]);
        if (resumeFrom is not null) log.Say($"resumed from {resumeFrom} at step {state.Step}");
        var sampler = new Sampler(new CausalLMLanguageModel(policy), ids => tokenizer.Decode(ids)) { MaxBatchSize = 128 };
        var sampling = new SamplingOptions
        {
            MaxNewTokens = o.MaxCompletionLength, Temperature = o.Temperature, TopP = o.TopP, StopTokenIds = [eos],
        };
        var completionsPath = Path.Combine(output, "completions.jsonl");
        if (resumeFrom is not null) KeepLinesUpTo(completionsPath, state.Step); // drop samples of steps after the checkpoint
        using var completionsLog = new StreamWriter(completionsPath, append: resumeFrom is not null);

        var before = resumeFrom is null || !File.Exists(Path.Combine(output, "eval_before.json"))
            ? QuickEvaluation.Run(policy, tokenizer, eval, rewards, o, "before", log.Say)
            : JsonSerializer.Deserialize<QuickEvaluation>(File.ReadAllText(Path.Combine(output, "eval_before.json")))!;
        File.WriteAllText(Path.Combine(output, "eval_before.json"), JsonSerializer.Serialize(before));

        // ---- the loop ----
        var guard = new NonFiniteGuard(warn: log.Say);
        optimizer.zero_grad();
        for (int step = state.Step; step < o.Steps; step++)
        {
            ct.ThrowIfCancellationRequested();
            var timing = new Dictionary<string, double>();
            var watch = Stopwatch.StartNew();

            // 1–2. sample and score (dynamic sampling refills degenerate groups)
            var groups = new List<Group>();
            long position = state.DataPosition;
            int rounds = 0;
            double frac0 = 0;
            while (groups.Count < o.PromptsPerStep && rounds < (o.DynamicSampling ? o.MaxSamplingRounds : 1))
            {
                int need = o.DynamicSampling ? o.PromptsPerStep - groups.Count : o.PromptsPerStep;
                var indices = Enumerable.Range(0, need).Select(i => (int)((position + i) % trainPrompts.Count)).ToList();
                position += need;
                var t0 = watch.Elapsed.TotalSeconds;
                policy.eval();
                var completions = sampler.Generate(indices.Select(i => trainPrompts[i]).ToList(),
                    sampling with { Seed = o.Seed * 1_000_003 + step * 31 + rounds }, o.Generations, ct);
                timing["generation"] = timing.GetValueOrDefault("generation") + watch.Elapsed.TotalSeconds - t0;

                t0 = watch.Elapsed.TotalSeconds;
                var scored = Score(completions, indices, train, trainPrompts, tokenizer, rewards, o, ct);
                timing["rewards"] = timing.GetValueOrDefault("rewards") + watch.Elapsed.TotalSeconds - t0;
                if (rounds == 0) frac0 = scored.Count(g => g.ZeroStd) / (double)scored.Count;
                groups.AddRange(o.DynamicSampling ? scored.Where(g => !g.ZeroStd) : scored);
                rounds++;
            }
            if (groups.Count > o.PromptsPerStep) groups.RemoveRange(o.PromptsPerStep, groups.Count - o.PromptsPerStep);
            var samples = groups.SelectMany(g => g.Samples).ToList();
            state = state with { DataPosition = position };

            // 3–4. policy update: μ optimiser steps on this batch of samples
            var t1 = watch.Elapsed.TotalSeconds;
            var update = samples.Count == 0
                ? new UpdateStats(0, 0, 0, 0, 0, 0, 0, 0)
                : Update(policy, reference, optimizer, samples, o, aggregation, device, timing, watch,
                         (loss, gradNorm) => guard.Allow(step + 1, loss, gradNorm), schedule.At(step));
            timing["update"] = watch.Elapsed.TotalSeconds - t1 - timing.GetValueOrDefault("logprobs");
            state = state with { Step = step + 1 };

            if (reference is not null && o.RefResetEvery > 0 && (step + 1) % o.RefResetEvery == 0)
            {
                CopyWeights(policy, reference);
                state = state with { Extra = new Dictionary<string, double> { ["ref_reset_step"] = step + 1 } };
            }

            // metrics and samples
            var metrics = Metrics(samples, groups, update, frac0, timing, watch.Elapsed.TotalSeconds, rewards);
            metrics["learning_rate"] = schedule.At(step);
            foreach (var s in samples)
                completionsLog.WriteLine(new JsonObject
                {
                    ["step"] = step + 1, ["prompt_id"] = s.Example.Id, ["completion"] = s.Text, ["reward"] = s.Reward,
                    ["rewards"] = new JsonObject(s.Components.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                    ["advantage"] = s.Advantage, ["tokens"] = s.Tokens.Count,
                }.ToJsonString());
            completionsLog.Flush();
            if ((step + 1) % o.LogEvery == 0)
                log.Step(step + 1, metrics, $"step {step + 1}/{o.Steps}  reward {metrics["reward"]:F3} ± {metrics["reward_std"]:F3}  " +
                    string.Join("  ", rewards.Names.Select(n => $"{n} {metrics.GetValueOrDefault("rewards/" + n):F2}")) +
                    $"  len {metrics["completion_length"]:F1}  zero-std {frac0:P0}  kl {metrics.GetValueOrDefault("kl"):F4}  " +
                    $"loss {update.Loss:F4}  {watch.Elapsed.TotalSeconds:F1}s (gen {timing.GetValueOrDefault("generation"):F1}, update {timing.GetValueOrDefault("update"):F1})");
            if ((step + 1) % o.CheckpointEvery == 0 && step + 1 < o.Steps)
                TrainingCheckpoint.Save(checkpointDir, policy, optimizer, state, companionsFrom: modelDir);
        }

        var after = QuickEvaluation.Run(policy, tokenizer, eval, rewards, o, "after", log.Say);
        TrainingCheckpoint.Save(checkpointDir, policy, optimizer, state, companionsFrom: modelDir);
        var finalDir = Path.Combine(output, "model");
        Checkpoint.Save(policy, finalDir, companionsFrom: modelDir);
        var result = new GrpoResult(finalDir, state.Step, before, after, clock.Elapsed.TotalSeconds);
        File.WriteAllText(Path.Combine(output, "summary.json"), new JsonObject
        {
            ["before"] = JsonSerializer.SerializeToNode(before), ["after"] = JsonSerializer.SerializeToNode(after),
            ["steps"] = state.Step, ["seconds"] = clock.Elapsed.TotalSeconds,
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        log.Say($"done in {clock.Elapsed.TotalSeconds:F0} s: pass@1 {before.PassAt1:P1} → {after.PassAt1:P1}, " +
            $"length {before.MeanLength:F1} → {after.MeanLength:F1}, format {before.FormatRate:P0} → {after.FormatRate:P0}");
        return result;
    }

    internal sealed record Sample(TaskExample Example, IReadOnlyList<int> Prompt, IReadOnlyList<int> Tokens, float[] LogProbs, bool Truncated,
        string Text, double Reward, IReadOnlyDictionary<string, double?> Components)
    {
        public float Advantage { get; set; }
    }

    sealed record Group(IReadOnlyList<Sample> Samples, bool ZeroStd);

    static List<Group> Score(IReadOnlyList<Completion> completions, List<int> indices, TaskDefinition task,
        List<IReadOnlyList<int>> prompts, HfTokenizer tokenizer, WeightedRewards rewards, GrpoOptions o, CancellationToken ct)
    {
        var texts = completions.Select(c => tokenizer.Decode(c.Tokens, skipSpecialTokens: true)).ToList();
        var inputs = completions.Select((c, i) => task.Examples[indices[c.PromptIndex]].ToRewardInput(texts[i], c.Tokens.Length)).ToList();
        var scores = rewards.Score(inputs, ct);
        var totals = scores.Select(s => s.Total ?? 0.0).ToList(); // all functions unable to judge: 0, as TRL's nansum
        var (advantages, zeroStd) = GroupAdvantages.Compute(totals, o.Generations, o.ScaleRewards);
        var groups = new List<Group>();
        for (int g = 0; g < indices.Count; g++)
        {
            var samples = new List<Sample>();
            for (int j = 0; j < o.Generations; j++)
            {
                int i = g * o.Generations + j;
                var c = completions[i];
                samples.Add(new Sample(task.Examples[indices[g]], prompts[indices[g]], c.Tokens, c.LogProbs,
                    c.FinishReason == FinishReason.Length, texts[i], totals[i], scores[i].Components) { Advantage = advantages[i] });
            }
            groups.Add(new Group(samples, zeroStd[g]));
        }
        return groups;
    }

    internal sealed record UpdateStats(double Loss, double GradNorm, double Kl, double Entropy, double ClipLow, double ClipHigh, double ClipRegion, long Tokens);

    /// <summary>
    /// μ optimiser steps on one batch of samples; each accumulates gradients over micro-batches, clips, and steps
    /// (skipped when <paramref name="allow"/> rejects a non-finite loss or gradient).
    /// </summary>
    internal static UpdateStats Update(CausalLM policy, CausalLM? reference, OptimizerHelper optimizer, List<Sample> samples, GrpoOptions o,
        ILossAggregation aggregation, Device device, Dictionary<string, double> timing, Stopwatch watch,
        Func<double, double, bool> allow, double learningRate)
    {
        policy.train();
        var batch = PromptCompletionBatch.Build(samples.Select(s => s.Prompt).ToList(), samples.Select(s => s.Tokens).ToList(), device,
            samples.Select(s => !(o.MaskTruncatedCompletions && s.Truncated)).ToList());
        var advantages = tensor(samples.Select(s => s.Advantage).ToArray(), device: device);
        int lc = batch.CompletionLength;
        var oldLogProbs = tensor(samples.SelectMany(s => s.LogProbs.Concat(new float[lc - s.LogProbs.Length])).ToArray(), [samples.Count, lc], device: device);
        long activeTokens = (long)batch.CompletionMask.sum().item<float>();
        int microBatches = (samples.Count + o.MicroBatchSize - 1) / o.MicroBatchSize;
        var context = new AggregationContext(o.MaxCompletionLength, activeTokens, microBatches);

        Tensor? refLogProbs = null;
        if (reference is not null)
        {
            var t0 = watch.Elapsed.TotalSeconds;
            using var noGrad = no_grad();
            refLogProbs = cat(Enumerable.Range(0, microBatches).Select(m =>
                batch.Slice(m * o.MicroBatchSize, Math.Min(o.MicroBatchSize, samples.Count - m * o.MicroBatchSize))
                    .CompletionLogProbs(reference, o.Temperature)).ToList(), 0);
            timing["logprobs"] = watch.Elapsed.TotalSeconds - t0;
        }

        double loss = 0, kl = 0, entropy = 0, low = 0, high = 0, region = 0, count = 0, gradNorm = 0;
        Optimizers.SetLearningRate(optimizer, learningRate);
        for (int iteration = 0; iteration < o.Iterations; iteration++)
        {
            double iterationLoss = 0;
            for (int m = 0; m < microBatches; m++)
            {
                using var scope = NewDisposeScope();
                int start = m * o.MicroBatchSize, n = Math.Min(o.MicroBatchSize, samples.Count - start);
                var mb = batch.Slice(start, n);
                var logits = mb.CompletionLogits(policy, o.Temperature);                      // (b, Lc, V)
                var logp = TokenLosses.TargetLogProbs(logits, mb.CompletionIds);              // (b, Lc)
                var old = o.Iterations == 1 ? logp.detach() : oldLogProbs.narrow(0, start, n);
                var perToken = PolicyLoss.Compute(logp, old, advantages.narrow(0, start, n), o.EpsilonLow, o.EpsilonHigh,
                    refLogProbs?.narrow(0, start, n), o.Beta);
                var mask = mb.CompletionMask;
                var l = aggregation.Reduce(perToken.Loss, mask, context);
                l.backward();

                using var noGrad = no_grad();
                double tokens = mask.sum().item<float>();
                iterationLoss += l.item<float>();
                if (perToken.Kl is not null) kl += (perToken.Kl * mask).sum().item<float>();
                entropy += (TokenLosses.Entropy(logits) * mask).sum().item<float>();
                low += (perToken.LowClipped.to(ScalarType.Float32) * mask).sum().item<float>();
                high += (perToken.HighClipped.to(ScalarType.Float32) * mask).sum().item<float>();
                region += ((perToken.LowClipped | perToken.HighClipped).to(ScalarType.Float32) * mask).sum().item<float>();
                count += tokens;
            }
            gradNorm = Optimizers.ClipGradients(policy, o.MaxGradNorm);
            if (allow(iterationLoss, gradNorm)) optimizer.step();
            optimizer.zero_grad();
            loss += iterationLoss / o.Iterations;
        }
        count = Math.Max(1, count);
        return new UpdateStats(loss, gradNorm, kl / count, entropy / count, low / count, high / count, region / count, activeTokens);
    }

    static Dictionary<string, double> Metrics(List<Sample> samples, List<Group> groups, UpdateStats u, double frac0,
        Dictionary<string, double> timing, double seconds, WeightedRewards rewards)
    {
        var m = new Dictionary<string, double>();
        var r = samples.Select(s => s.Reward).DefaultIfEmpty(0).ToList();
        double mean = r.Average();
        m["reward"] = mean;
        m["reward_std"] = Math.Sqrt(r.Sum(x => (x - mean) * (x - mean)) / Math.Max(1, r.Count - 1));
        foreach (var name in rewards.Names)
        {
            var values = samples.Select(s => s.Components.GetValueOrDefault(name)).Where(v => v is not null).Select(v => v!.Value).ToList();
            if (values.Count > 0) m["rewards/" + name] = values.Average();
        }
        m["frac_reward_zero_std"] = frac0;
        var lengths = samples.Select(s => (double)s.Tokens.Count).DefaultIfEmpty(0).ToList();
        m["completion_length"] = lengths.Average();
        m["completion_length_min"] = lengths.Min();
        m["completion_length_max"] = lengths.Max();
        m["clipped_ratio"] = samples.Count == 0 ? 0 : samples.Count(s => s.Truncated) / (double)samples.Count;
        m["loss"] = u.Loss;
        m["grad_norm"] = u.GradNorm;
        m["kl"] = u.Kl;
        m["entropy"] = u.Entropy;
        m["clip_ratio/low"] = u.ClipLow;
        m["clip_ratio/high"] = u.ClipHigh;
        m["clip_ratio/region"] = u.ClipRegion;
        m["groups"] = groups.Count;
        foreach (var (k, v) in timing) m["time/" + k] = v;
        m["time/step"] = seconds;
        m["tokens_per_second"] = samples.Sum(s => s.Tokens.Count) / Math.Max(1e-9, timing.GetValueOrDefault("generation"));
        return m;
    }

    /// <summary>
    /// Keeps the lines of a JSONL log whose "step" is at most <paramref name="step"/> (rewritten atomically). A line cut
    /// short by a kill while the log was being written does not parse and is dropped with the other lines of its step.
    /// </summary>
    static void KeepLinesUpTo(string path, int step)
    {
        if (!File.Exists(path)) return;
        static int? StepOf(string line)
        {
            try { return JsonNode.Parse(line)?["step"]?.GetValue<int>(); }
            catch (JsonException) { return null; }
        }
        var kept = File.ReadLines(path).Where(l => StepOf(l) <= step).ToList();
        File.WriteAllLines(path + ".tmp", kept);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    static void CopyWeights(CausalLM from, CausalLM to)
    {
        using var noGrad = no_grad();
        var source = from.state_dict();
        foreach (var (name, p) in to.state_dict()) p.copy_(source[name]);
    }
}
