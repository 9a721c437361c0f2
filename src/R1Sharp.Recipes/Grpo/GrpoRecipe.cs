// r1sharp grpo --model runs/base/model --output runs/r1-zero [--preset r1-zero-embedded] [--config FILE.yaml] [--resume]
//
// Group Relative Policy Optimization (Shao et al. 2024, DeepSeekMath; used by DeepSeek-R1). Per step:
//   1. sample G completions o_1..o_G for each of P prompts q from π_old (the current policy, temperature T);
//   2. score them with rule rewards r_i (weighted sum of reward functions);
//   3. Â_i = (r_i − mean(r_group)) / (std(r_group) + 1e-4)   — every token of o_i gets Â_i (the `advantage` estimator;
//      RLOO, REINFORCE++ and MaxRL are the others, computed over the batch that is trained on);
//   4. for μ iterations, minimise over the batch (aggregated per the loss type, see Losses/Grpo):
//        ℓ_{i,t} = −min(ρ_{i,t} Â_i, clip(ρ_{i,t}, 1 − ε_low, 1 + ε_high) Â_i) + β KL_k3(π_θ ‖ π_ref),
//        ρ_{i,t} = π_θ(o_{i,t} | q, o_{i,<t}) / π_old(o_{i,t} | q, o_{i,<t})
//      (the `policy_loss` objective; dual-clip, GSPO, CISPO and GMPO are the others: docs/algorithms.md).
// With μ = 1, π_old = stop-grad(π_θ): ρ = 1, the logged loss is ~0 while the gradient is not (TRL behaves the same).
// Deliberate choices: π_old for μ > 1 is the sampler's log-probabilities (same model, same temperature), not a
// re-computation; the reference model is reset to the policy every RefResetEvery steps (R1 resets every 400);
// no reference model is kept when β = 0. The held-out evaluation before and after training is r1sharp eval's
// (Evaluation on the policy, in eval/before and eval/after, resumable), graded by the task's grader as the rewards are.
// Rollouts come from Rollouts.cs: the trainer's own sampler by default, or a fleet of SGLang / vLLM / r1sharp serve servers
// whose weights follow the policy through disk, synchronously or asynchronously (rollout section; docs/distributed.md).
// Opening the run, bf16 master weights, the optimiser step, checkpoints and summary.json are TrainingRun's and
// OptimizerStep's (docs/architecture.md); this file is sampling, scoring and the update.
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using R1Sharp.Data;
using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Recipes.Common;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Eval;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tasks;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Losses;
using R1Sharp.Training.Losses.Grpo;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Recipes.Grpo;

/// <summary>Held-out scores of a model, DeepSeek-R1's protocol (k samples at T 0.6 / top-p 0.95): pass@1, format rate, mean length in tokens.</summary>
public sealed record EvalScore(
    [property: JsonPropertyName("pass@1")] double PassAt1, double FormatRate, double MeanLength, int Prompts, int Samples)
{
    public static EvalScore From(EvalSummary s) => new(s.PassAt1, s.FormatRate, s.MeanLength, s.Problems, s.SampleCount);

    /// <summary>No evaluation (eval_prompts 0).</summary>
    public static EvalScore None { get; } = new(double.NaN, double.NaN, double.NaN, 0, 0);
}

/// <summary>What a GRPO run produced (summary.json holds these after the common fields).</summary>
public sealed record GrpoResult([property: JsonIgnore] string ModelDirectory, int Steps, EvalScore Before, EvalScore After, double Seconds);

public static class GrpoRecipe
{
    /// <param name="customRewards">Reward functions built in code (e.g. a trained reward model); replaces <see cref="GrpoOptions.Rewards"/>.</param>
    /// <param name="tasks">Training and evaluation prompts built in code (e.g. reasoning and general prompts mixed); replaces <see cref="GrpoOptions.Task"/>.</param>
    public static GrpoResult Run(GrpoOptions o, string modelDir, string output, RunSettings? settings = null, WeightedRewards? customRewards = null,
        (TaskDefinition Train, TaskDefinition Eval)? tasks = null)
    {
        ConfigBinder.Check(o, "grpo");
        modelDir = ModelLocation.Resolve(modelDir);
        using var run = TrainingRun.Open(output, "grpo", settings, o.Seed);

        // ---- setup: tokenizer, task, rewards, policy, reference, optimiser ----
        var tokenizer = HfTokenizer.Load(modelDir);
        int eos = tokenizer.EosTokenId ?? throw new InvalidDataException($"{modelDir}: the tokenizer has no EOS token");
        var (train, eval) = tasks ?? GrpoTasks.Resolve(o);
        var rewards = customRewards ?? train.BuildRewards(o.Rewards);
        var aggregation = LossAggregations.For(o.LossType);
        var estimator = AdvantageEstimators.For(o.Advantage, o.ScaleRewards);
        var trainPrompts = train.Examples.Select(e => (IReadOnlyList<int>)tokenizer.Encode(e.Prompt, addSpecialTokens: true).ToArray()).ToList();

        using var policy = run.LoadCausalLM(modelDir);
        using var reference = o.Beta != 0 ? Checkpoint.Load(modelDir, run.Dtype, run.Device) : null;
        reference?.eval();
        var optimizer = run.Optimizer(policy, o.Optimizer, o.Steps, out var state);
        if (reference is not null && state.Extra?.GetValueOrDefault("ref_reset_step") is > 0)
            CopyWeights(policy.Model, reference); // the reference was reset to the policy before the interruption
        run.StartLog(o.Steps, state.Step, ["reward", "completion_length", "kl", "time/step"]);
        using var rollouts = Rollouts.Create(o, policy, tokenizer, trainPrompts, modelDir, output, run.Say); // the trainer's sampler, or a fleet
        var offPolicy = OffPolicy.From(o.Rollout);
        var sampling = o.Sampling with { StopTokenIds = [eos] };
        List<int> Indices(long from, int count) => Enumerable.Range(0, count).Select(i => (int)((from + i) % trainPrompts.Count)).ToList();
        GenerationOptions Seeded(int step, int round) => sampling with { Seed = o.Seed * 1_000_003 + step * 31 + round };
        var completionsPath = Path.Combine(output, "completions.jsonl");
        if (run.ResumeFrom is not null) KeepLinesUpTo(completionsPath, state.Step); // drop samples of steps after the checkpoint
        else File.Delete(completionsPath);
        var before = Evaluate(policy.Model, tokenizer, eval, o, Path.Combine(output, "eval", "before"), "before", run.Say);
        if (state.Step < o.Steps && Directory.Exists(Path.Combine(output, "eval", "after")))
            Directory.Delete(Path.Combine(output, "eval", "after"), recursive: true); // an earlier evaluation of weights about to change
        using var completionsLog = new StreamWriter(completionsPath, append: true);
        rollouts.Start(state.Step, run.Cancel);

        // ---- the loop ----
        for (int step = state.Step; step < o.Steps; step++)
        {
            run.Cancel.ThrowIfCancellationRequested();
            var timing = new Dictionary<string, double>();
            var watch = Stopwatch.StartNew();

            // 1–2. sample and score (dynamic sampling refills degenerate groups)
            var groups = new List<Group>();
            var batches = new List<RolloutBatch>();
            long position = state.DataPosition;
            int rounds = 0;
            double frac0 = 0;
            while (groups.Count < o.PromptsPerStep && rounds < (o.DynamicSampling ? o.MaxSamplingRounds : 1))
            {
                int need = o.DynamicSampling ? o.PromptsPerStep - groups.Count : o.PromptsPerStep;
                var indices = Indices(position, need);
                if (rounds == 0) // asynchronous rollouts: this step's batch and the next k steps' are generated in the background
                    for (int ahead = 0; ahead <= rollouts.Ahead && rollouts.Ahead > 0 && step + ahead < o.Steps; ahead++)
                        rollouts.Prefetch(step + ahead, Indices(position + ahead * need, need), Seeded(step + ahead, 0));
                position += need;
                var t0 = watch.Elapsed.TotalSeconds;
                var batch = rollouts.Sample(step, indices, Seeded(step, rounds), run.Cancel);
                batches.Add(batch);
                timing["generation"] = timing.GetValueOrDefault("generation") + watch.Elapsed.TotalSeconds - t0;

                t0 = watch.Elapsed.TotalSeconds;
                var scored = Score(batch.Completions, batch.Versions, indices, train, trainPrompts, tokenizer, rewards, o, step == state.Step && rounds == 0, run.Cancel);
                timing["rewards"] = timing.GetValueOrDefault("rewards") + watch.Elapsed.TotalSeconds - t0;
                if (rounds == 0) frac0 = scored.Count(g => g.ZeroStd) / (double)scored.Count;
                groups.AddRange(o.DynamicSampling ? scored.Where(g => !g.ZeroStd) : scored);
                rounds++;
            }
            if (groups.Count > o.PromptsPerStep) groups.RemoveRange(o.PromptsPerStep, groups.Count - o.PromptsPerStep);
            var samples = groups.SelectMany(g => g.Samples).ToList();
            state = state with { DataPosition = position };

            // 3. advantages of the batch that is trained on
            var advantages = estimator.Compute(samples.Select(s => s.Reward).ToList(), o.Generations,
                samples.Select(s => o.MaskTruncatedCompletions && s.Truncated ? 0 : s.Tokens.Count).ToList());
            for (int i = 0; i < samples.Count; i++) samples[i].Advantage = advantages[i];

            // 4. policy update: μ optimiser steps on this batch of samples
            var t1 = watch.Elapsed.TotalSeconds;
            var update = samples.Count == 0
                ? UpdateStats.Empty
                : Update(policy.Model, reference, optimizer, samples, o, aggregation, run.Device, timing, watch, step, offPolicy);
            timing["update"] = watch.Elapsed.TotalSeconds - t1 - timing.GetValueOrDefault("logprobs");
            state = state with { Step = step + 1 };
            if (step + 1 < o.Steps) timing["publish"] = rollouts.Published(step + 1, run.Cancel); // a fleet's servers load it before the next rollouts

            if (reference is not null && o.RefResetEvery > 0 && (step + 1) % o.RefResetEvery == 0)
            {
                CopyWeights(policy.Model, reference);
                state = state with { Extra = new Dictionary<string, double> { ["ref_reset_step"] = step + 1 } };
            }

            // metrics and samples
            var metrics = Metrics(samples, groups, update, frac0, timing, watch.Elapsed.TotalSeconds, rewards, o.Generations);
            metrics["learning_rate"] = optimizer.Schedule.At(step);
            if (optimizer.ExpertLoad is { } expertLoad) metrics["expert_load_max_over_mean"] = expertLoad; // mixture-of-experts models
            rollouts.AddMetrics(step, new RolloutBatch([.. batches.SelectMany(b => b.Completions)], [.. batches.SelectMany(b => b.Versions)],
                batches.Sum(b => b.WaitSeconds)) { Syncs = [.. batches.SelectMany(b => b.Syncs)] }, metrics);
            offPolicy.AddMetrics(metrics);
            foreach (var s in samples)
                completionsLog.WriteLine(new JsonObject
                {
                    ["step"] = step + 1, ["prompt_id"] = s.Example.Id, ["completion"] = s.Text, ["reward"] = s.Reward,
                    ["rewards"] = new JsonObject(s.Components.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                    ["advantage"] = s.Advantage, ["tokens"] = s.Tokens.Count, ["weight_version"] = s.WeightVersion,
                }.ToJsonString(JsonFormat.Compact));
            completionsLog.Flush();
            if ((step + 1) % o.LogEvery == 0)
                run.Log(step + 1, metrics, $"step {step + 1}/{o.Steps}  reward {metrics["reward"]:F3} ± {metrics["reward_std"]:F3}  " +
                    string.Join("  ", rewards.Names.Select(n => $"{n} {metrics.GetValueOrDefault("rewards/" + n):F2}")) +
                    $"  len {metrics["completion_length"]:F1}  zero-std {frac0:P0}  kl {metrics.GetValueOrDefault("kl"):F4}  " +
                    $"loss {update.Loss:F4}  {watch.Elapsed.TotalSeconds:F1}s (gen {timing.GetValueOrDefault("generation"):F1}, update {timing.GetValueOrDefault("update"):F1})" +
                    (metrics.TryGetValue("rollout/staleness_max", out var stale) ? $"  weights v{metrics["rollout/weight_version_min"]:F0}–v{metrics["rollout/weight_version_max"]:F0}, staleness ≤ {stale:F0}" : ""));
            if ((step + 1) % o.CheckpointEvery == 0 && step + 1 < o.Steps) run.SaveCheckpoint(policy, optimizer, state, modelDir);
        }
        completionsLog.Dispose();

        var after = Evaluate(policy.Model, tokenizer, eval, o, Path.Combine(output, "eval", "after"), "after", run.Say);
        var result = new GrpoResult(run.ModelDirectory, state.Step, before, after, run.Clock.Elapsed.TotalSeconds);
        run.Finish(policy, optimizer, state, modelDir, result);
        run.Say($"done in {run.Clock.Elapsed.TotalSeconds:F0} s: pass@1 {before.PassAt1:P1} → {after.PassAt1:P1}, " +
                $"length {before.MeanLength:F1} → {after.MeanLength:F1}, format {before.FormatRate:P0} → {after.FormatRate:P0}");
        return result;
    }

    /// <summary>
    /// The held-out evaluation (r1sharp eval's Evaluation) of the policy as it is, into <paramref name="folder"/> (resumable):
    /// k samples per prompt with the task's grader and format check.
    /// </summary>
    static EvalScore Evaluate(CausalLM model, HfTokenizer tokenizer, TaskDefinition task, GrpoOptions o, string folder, string label, Action<string> say)
    {
        if (o.EvalPrompts == 0 || task.Examples.Count == 0) return EvalScore.None;
        model.eval();
        using var backend = new LocalGenerationBackend(new LocalModel(model, tokenizer, null, "policy")) { MaxBatchRows = 128 };
        var summary = Evaluation.Run(backend, task, new EvalOptions
        {
            Samples = o.EvalSamples, Sampling = o.EvalSampling with { Seed = o.Seed + 12345 }, ModelName = label,
        }, folder);
        var score = EvalScore.From(summary);
        say($"eval {label}: pass@1 {score.PassAt1:P1} over {o.EvalSamples} samples × {score.Prompts} prompts, " +
            $"format {score.FormatRate:P0}, mean length {score.MeanLength:F1} tokens");
        return score;
    }

    internal sealed record Sample(TaskExample Example, IReadOnlyList<int> Prompt, IReadOnlyList<int> Tokens, float[] LogProbs, bool Truncated,
        string Text, double Reward, IReadOnlyDictionary<string, double?> Components)
    {
        /// <summary>Â, set by the advantage estimator once the step's batch is complete.</summary>
        public float Advantage { get; set; }

        /// <summary>The policy version (optimiser steps) whose weights sampled it.</summary>
        public int WeightVersion { get; init; }
    }

    sealed record Group(IReadOnlyList<Sample> Samples, bool ZeroStd);

    static List<Group> Score(IReadOnlyList<Completion> completions, IReadOnlyList<int> versions, List<int> indices, TaskDefinition task,
        List<IReadOnlyList<int>> prompts, HfTokenizer tokenizer, WeightedRewards rewards, GrpoOptions o, bool firstBatch, CancellationToken ct)
    {
        var texts = completions.Select(c => tokenizer.Decode(c.Tokens, skipSpecialTokens: true)).ToList();
        var inputs = completions.Select((c, i) => task.Examples[indices[c.PromptIndex]].ToRewardInput(texts[i], c.Tokens.Length)).ToList();
        var scores = rewards.Score(inputs, ct);
        if (firstBatch) RewardChecks.RequireJudgements(rewards, scores, inputs, task.Name);
        var totals = scores.Select(s => s.Total ?? 0.0).ToList(); // all functions unable to judge: 0, as TRL's nansum
        var zeroStd = GroupAdvantages.ZeroStdGroups(totals, o.Generations);
        var groups = new List<Group>();
        for (int g = 0; g < indices.Count; g++)
        {
            var samples = new List<Sample>();
            for (int j = 0; j < o.Generations; j++)
            {
                int i = g * o.Generations + j;
                var c = completions[i];
                samples.Add(new Sample(task.Examples[indices[g]], prompts[indices[g]], c.Tokens, c.LogProbs,
                    c.FinishReason == FinishReason.Length, texts[i], totals[i], scores[i].Components) { WeightVersion = versions[i] });
            }
            groups.Add(new Group(samples, zeroStd[g]));
        }
        return groups;
    }

    /// <summary>What the update measured; clip shares and the ratio's mean are over the tokens of all μ passes.</summary>
    /// <param name="ClipDual">Share of tokens where dual-clip's bound binds; null for the other objectives.</param>
    internal sealed record UpdateStats(double Loss, double GradNorm, double Kl, double Entropy, double ClipLow, double ClipHigh, double ClipRegion, long Tokens,
        double RatioMean = 1, double RatioMin = 1, double RatioMax = 1, double? ClipDual = null)
    {
        public static UpdateStats Empty { get; } = new(0, 0, 0, 0, 0, 0, 0, 0);
    }

    /// <summary>
    /// μ optimiser steps on one batch of samples; each accumulates gradients over micro-batches, then takes the run's
    /// optimiser step (clip → non-finite guard → AdamW → master weights).
    /// </summary>
    internal static UpdateStats Update(CausalLM policy, CausalLM? reference, OptimizerStep<CausalLM> optimizer, List<Sample> samples, GrpoOptions o,
        ILossAggregation aggregation, Device device, Dictionary<string, double> timing, Stopwatch watch, int step, OffPolicy? offPolicy = null)
    {
        policy.train();
        var batch = PromptCompletionBatch.Build(samples.Select(s => s.Prompt).ToList(), samples.Select(s => s.Tokens).ToList(), device,
            samples.Select(s => !(o.MaskTruncatedCompletions && s.Truncated)).ToList());
        var advantages = tensor(samples.Select(s => s.Advantage).ToArray(), device: device);
        int lc = batch.CompletionLength;
        var oldLogProbs = tensor(samples.SelectMany(s => s.LogProbs.Concat(new float[lc - s.LogProbs.Length])).ToArray(), [samples.Count, lc], device: device);
        long activeTokens = (long)batch.CompletionMask.sum().item<float>();
        int microBatches = (samples.Count + o.MicroBatchSize - 1) / o.MicroBatchSize;
        var context = new AggregationContext(o.Sampling.MaxNewTokens, activeTokens, microBatches);
        var objective = PolicyObjectives.For(o.PolicyLoss, o.EpsilonLow, o.EpsilonHigh, o.DualClipC);

        Tensor? refLogProbs = null;
        if (reference is not null)
        {
            var t0 = watch.Elapsed.TotalSeconds;
            using var noGrad = no_grad();
            refLogProbs = cat(Enumerable.Range(0, microBatches).Select(m =>
                batch.Slice(m * o.MicroBatchSize, Math.Min(o.MicroBatchSize, samples.Count - m * o.MicroBatchSize))
                    .CompletionLogProbs(reference, o.Sampling.Temperature)).ToList(), 0);
            timing["logprobs"] = watch.Elapsed.TotalSeconds - t0;
        }

        double loss = 0, kl = 0, entropy = 0, low = 0, high = 0, region = 0, count = 0, gradNorm = 0;
        double ratioSum = 0, ratioMin = double.PositiveInfinity, ratioMax = double.NegativeInfinity;
        double? dual = null; // only objectives with a dual clip report it
        for (int iteration = 0; iteration < o.Iterations; iteration++)
        {
            double iterationLoss = 0;
            for (int m = 0; m < microBatches; m++)
            {
                using var scope = NewDisposeScope();
                int start = m * o.MicroBatchSize, n = Math.Min(o.MicroBatchSize, samples.Count - start);
                var mb = batch.Slice(start, n);
                var logits = mb.CompletionLogits(policy, o.Sampling.Temperature);             // (b, Lc, V)
                var logp = TokenLosses.TargetLogProbs(logits, mb.CompletionIds);              // (b, Lc)
                var old = o.Iterations == 1 && offPolicy?.SamplerIsOld != true ? logp.detach() : oldLogProbs.narrow(0, start, n);
                var mask = mb.CompletionMask;
                var corrections = offPolicy?.Weights(logp, oldLogProbs.narrow(0, start, n), mask, iteration); // rollout corrections (w)
                var perToken = PolicyLoss.Compute(objective, new PolicyInputs(logp, old, advantages.narrow(0, start, n), mask),
                    refLogProbs?.narrow(0, start, n), o.Beta, corrections);
                var l = aggregation.Reduce(perToken.Loss, mask, context);
                optimizer.Backward(l);

                using var noGrad = no_grad();
                double tokens = mask.sum().item<float>();
                iterationLoss += l.item<float>();
                if (perToken.Kl is not null) kl += (perToken.Kl * mask).sum().item<float>();
                entropy += (TokenLosses.Entropy(logits) * mask).sum().item<float>();
                low += (perToken.LowClipped.to(ScalarType.Float32) * mask).sum().item<float>();
                high += (perToken.HighClipped.to(ScalarType.Float32) * mask).sum().item<float>();
                region += ((perToken.LowClipped | perToken.HighClipped).to(ScalarType.Float32) * mask).sum().item<float>();
                if (perToken.Policy.DualClipped is { } d) dual = (dual ?? 0) + (d.to(ScalarType.Float32) * mask).sum().item<float>();
                var ratios = perToken.Policy.Ratio.detach().masked_select(mask > 0);
                if (ratios.numel() > 0)
                {
                    ratioSum += ratios.sum().item<float>();
                    ratioMin = Math.Min(ratioMin, ratios.min().item<float>());
                    ratioMax = Math.Max(ratioMax, ratios.max().item<float>());
                }
                count += tokens;
            }
            gradNorm = optimizer.Apply(step, iterationLoss).GradNorm;
            loss += iterationLoss / o.Iterations;
        }
        bool anyToken = count > 0;
        count = Math.Max(1, count);
        return new UpdateStats(loss, gradNorm, kl / count, entropy / count, low / count, high / count, region / count, activeTokens,
            anyToken ? ratioSum / count : 1, anyToken ? ratioMin : 1, anyToken ? ratioMax : 1,
            dual / count);
    }

    static Dictionary<string, double> Metrics(List<Sample> samples, List<Group> groups, UpdateStats u, double frac0,
        Dictionary<string, double> timing, double seconds, WeightedRewards rewards, int groupSize)
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
        m["frac_zero_advantage"] = GrpoDiagnostics.ZeroAdvantageShare(samples.Select(s => s.Advantage).ToList(), groupSize);
        var lengths = samples.Select(s => (double)s.Tokens.Count).DefaultIfEmpty(0).ToList();
        m["completion_length"] = lengths.Average();
        m["completion_length_min"] = lengths.Min();
        m["completion_length_max"] = lengths.Max();
        foreach (int p in new[] { 10, 50, 90 }) m[$"completion_length_p{p}"] = GrpoDiagnostics.Percentile(lengths, p);
        m["clipped_ratio"] = samples.Count == 0 ? 0 : samples.Count(s => s.Truncated) / (double)samples.Count; // truncated at max_new_tokens (TRL's name)
        m["loss"] = u.Loss;
        m["grad_norm"] = u.GradNorm;
        m["kl"] = u.Kl;
        m["entropy"] = u.Entropy;
        m["clip_ratio/low"] = u.ClipLow;
        m["clip_ratio/high"] = u.ClipHigh;
        m["clip_ratio/region"] = u.ClipRegion;
        if (u.ClipDual is { } dual) m["clip_ratio/dual"] = dual;
        m["ratio/mean"] = u.RatioMean;
        m["ratio/min"] = u.RatioMin;
        m["ratio/max"] = u.RatioMax;
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
        AtomicFile.Write(path, w => kept.ForEach(w.WriteLine));
    }

    static void CopyWeights(CausalLM from, CausalLM to)
    {
        using var noGrad = no_grad();
        var source = from.state_dict();
        foreach (var (name, p) in to.state_dict()) p.copy_(source[name]);
    }
}
