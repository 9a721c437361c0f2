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
// Under mpiexec the ranks split each step's prompts (rollouts, scoring and back-propagation), gather the step's rewards
// for the advantages and weigh each completion by the whole step's aggregation: the one-process step (docs/distributed.md).
// Opening the run, bf16 master weights, the optimiser step, checkpoints and summary.json are TrainingRun's and
// OptimizerStep's (docs/architecture.md); this file is sampling, scoring and the update.
using System.Diagnostics;
using System.Globalization;
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
using R1Sharp.Training.Distributed;
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
        using var run = TrainingRun.Open(output, "grpo", settings, o.Seed, dataParallel: true);
        var dp = run.Collective;
        if (dp.Size > 1 && o.Rollout.IsFleet)
            throw new NotSupportedException($"grpo with a rollout fleet (rollout.endpoints) runs as one process: the fleet already spreads the " +
                                            $"rollouts; start it without mpiexec ({dp.Size} MPI ranks here)");

        // ---- setup: tokenizer, task, rewards, policy, reference, optimiser ----
        var tokenizer = HfTokenizer.Load(modelDir);
        int eos = tokenizer.EosTokenId ?? throw new InvalidDataException($"{modelDir}: the tokenizer has no EOS token");
        var (train, eval) = tasks ?? GrpoTasks.Resolve(o);
        var rewards = customRewards ?? train.BuildRewards(o.Rewards);
        var aggregation = LossAggregations.For(o.LossType);
        var estimator = AdvantageEstimators.For(o.Advantage, o.ScaleRewards);
        var trainPrompts = train.Examples.Select(e => (IReadOnlyList<int>)tokenizer.Encode(e.Prompt, addSpecialTokens: true).ToArray()).ToList();

        using var policy = run.LoadCausalLM(modelDir, o.Lora, o.Seed);
        using var reference = o.Beta != 0 ? Checkpoint.Load(modelDir, run.Dtype, run.Device) : null;
        reference?.eval();
        var optimizer = run.Optimizer(policy, o.Optimizer, o.Steps, out var state);
        optimizer.Reduction = ReduceOp.Sum; // each rank back-propagates its completions' share of the step's loss (SampleWeights)
        if (reference is not null && state.Extra?.GetValueOrDefault("ref_reset_step") is > 0)
            CopyWeights(policy.Model, reference); // the reference was reset to the policy before the interruption
        run.StartLog(o.Steps, state.Step, ["reward", "completion_length", "kl", "time/step"]);
        using var rollouts = Rollouts.Create(o, policy, tokenizer, trainPrompts, modelDir, output, run.Say); // the trainer's sampler, or a fleet
        var offPolicy = OffPolicy.From(o.Rollout);
        var sampling = o.Sampling with { StopTokenIds = [eos] };
        List<int> Indices(long from, int count) => Enumerable.Range(0, count).Select(i => (int)((from + i) % trainPrompts.Count)).ToList();
        GenerationOptions Seeded(int step, int round) => sampling with { Seed = o.Seed * 1_000_003 + step * 31 + round };
        var completionsPath = Path.Combine(output, "completions.jsonl");
        if (run.IsMain) // rank 0 alone writes the run folder
        {
            if (run.ResumeFrom is not null) KeepLinesUpTo(completionsPath, state.Step); // drop samples of steps after the checkpoint
            else File.Delete(completionsPath);
        }
        // The held-out evaluation runs on rank 0 (its folder is resumable and rank 0's); the others wait for its scores.
        var before = OnRankZero(dp, () => Evaluate(policy.Model, tokenizer, eval, o, Path.Combine(output, "eval", "before"), "before", run.Say));
        if (run.IsMain && state.Step < o.Steps && Directory.Exists(Path.Combine(output, "eval", "after")))
            Directory.Delete(Path.Combine(output, "eval", "after"), recursive: true); // an earlier evaluation of weights about to change
        using var completionsLog = run.IsMain ? new StreamWriter(completionsPath, append: true) : null;
        rollouts.Start(state.Step, run.Cancel);

        // ---- the loop ----
        for (int step = state.Step; step < o.Steps; step++)
        {
            run.Cancel.ThrowIfCancellationRequested();
            var timing = new Dictionary<string, double>();
            var watch = Stopwatch.StartNew();

            // 1–2. sample and score (dynamic sampling refills degenerate groups). Rank r of N samples and scores its contiguous
            // share of each round's prompts (TrainingRun.Shard), whole groups; each completion is drawn from (seed, the
            // prompt's place in the stream of prompts, its sample index) alone, so the step's completions are the same for any N.
            var mine = new List<(int Order, Group Group)>(); // this rank's kept groups and their place in the step's order
            var batches = new List<RolloutBatch>();
            long position = state.DataPosition;
            int rounds = 0, kept = 0;
            double frac0 = 0;
            while (kept < o.PromptsPerStep && rounds < (o.DynamicSampling ? o.MaxSamplingRounds : 1))
            {
                int need = o.DynamicSampling ? o.PromptsPerStep - kept : o.PromptsPerStep;
                var indices = Indices(position, need);
                if (rounds == 0) // asynchronous rollouts: this step's batch and the next k steps' are generated in the background
                    for (int ahead = 0; ahead <= rollouts.Ahead && rollouts.Ahead > 0 && step + ahead < o.Steps; ahead++)
                        rollouts.Prefetch(step + ahead, Indices(position + ahead * need, need), Seeded(step + ahead, 0));
                var (first, count) = run.Shard(need);
                var share = indices.GetRange(first, count);
                var keys = Enumerable.Range(first, count).Select(k => position + k).ToList();
                position += need;
                var t0 = watch.Elapsed.TotalSeconds;
                var batch = count == 0 ? new RolloutBatch([], [], 0) : rollouts.Sample(step, share, Seeded(step, rounds), run.Cancel, keys);
                batches.Add(batch);
                AddTime(timing, "generation", watch.Elapsed.TotalSeconds - t0);

                t0 = watch.Elapsed.TotalSeconds;
                var scored = count == 0 ? new List<Group>()
                    : Score(batch.Completions, batch.Versions, share, train, trainPrompts, tokenizer, rewards, o, step == state.Step && rounds == 0, run.Cancel);
                AddTime(timing, "rewards", watch.Elapsed.TotalSeconds - t0);
                var keep = o.DynamicSampling ? scored.Where(g => !g.ZeroStd).ToList() : scored;
                // Kept groups and zero-std groups of every rank: the kept groups of lower ranks come first in the step's order.
                var counts = dp.AllGather(new[] { keep.Count, scored.Count(g => g.ZeroStd) });
                if (rounds == 0) frac0 = counts.Sum(c => c[1]) / (double)need;
                int offset = kept + counts.Take(dp.Rank).Sum(c => c[0]);
                mine.AddRange(keep.Select((g, k) => (offset + k, g)));
                kept += counts.Sum(c => c[0]);
                rounds++;
            }
            mine.RemoveAll(g => g.Order >= o.PromptsPerStep); // the step trains on its first prompts_per_step kept groups
            var samples = mine.SelectMany(g => g.Group.Samples).ToList();
            state = state with { DataPosition = position };

            // 3. advantages of the batch that is trained on: every rank computes them over the whole step's rewards (the
            // batch-level estimators — scale_rewards batch, REINFORCE++ — need all of them), then takes its own.
            var all = Gather(dp, mine, o.Generations);
            var trained = all.Select(s => s.Trained).ToList();
            var advantages = estimator.Compute(all.Select(s => s.Reward).ToList(), o.Generations, trained);
            var weights = aggregation.SampleWeights(trained, o.MicroBatchSize, o.Sampling.MaxNewTokens); // the loss, as per-completion weights
            var at = mine.Select(g => all.FindIndex(s => s.Order == g.Order)).ToList(); // where each of this rank's groups is in the step
            for (int g = 0, i = 0; g < mine.Count; g++)
                for (int j = 0; j < o.Generations; j++, i++) samples[i].Advantage = advantages[at[g] + j];
            var localWeights = at.SelectMany(a => Enumerable.Range(a, o.Generations).Select(k => weights[k])).ToList();

            // 4. policy update: μ optimiser steps on this batch of samples
            var t1 = watch.Elapsed.TotalSeconds;
            var update = all.Count == 0
                ? UpdateStats.Empty
                : Update(policy.Model, reference, optimizer, samples, o, aggregation, run.Device, timing, watch, step, offPolicy, localWeights, dp, all.Count);
            timing["update"] = watch.Elapsed.TotalSeconds - t1 - timing.GetValueOrDefault("logprobs");
            state = state with { Step = step + 1 };
            if (step + 1 < o.Steps) timing["publish"] = rollouts.Published(step + 1, run.Cancel); // a fleet's servers load it before the next rollouts

            if (reference is not null && o.RefResetEvery > 0 && (step + 1) % o.RefResetEvery == 0)
            {
                CopyWeights(policy.Model, reference);
                state = state with { Extra = new Dictionary<string, double> { ["ref_reset_step"] = step + 1 } };
            }

            // metrics and samples
            double[] generation = [timing.GetValueOrDefault("generation")];
            dp.AllReduce(generation, ReduceOp.Max); // the slowest rank's
            timing["generation"] = generation[0];
            var metrics = Metrics(all, advantages, update, frac0, timing, watch.Elapsed.TotalSeconds, rewards, o.Generations);
            metrics["learning_rate"] = optimizer.Schedule.At(step);
            if (optimizer.ExpertLoad is { } expertLoad) metrics["expert_load_max_over_mean"] = expertLoad; // mixture-of-experts models
            rollouts.AddMetrics(step, new RolloutBatch([.. batches.SelectMany(b => b.Completions)], [.. batches.SelectMany(b => b.Versions)],
                batches.Sum(b => b.WaitSeconds)) { Syncs = [.. batches.SelectMany(b => b.Syncs)] }, metrics);
            offPolicy.AddMetrics(metrics);
            for (int i = 0; completionsLog is not null && i < all.Count; i++)
            {
                var s = all[i];
                completionsLog.WriteLine(new JsonObject
                {
                    ["step"] = step + 1, ["prompt_id"] = s.PromptId, ["completion"] = s.Text, ["reward"] = s.Reward,
                    ["rewards"] = new JsonObject(s.Components.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
                    ["advantage"] = advantages[i], ["tokens"] = s.Length, ["weight_version"] = s.WeightVersion,
                }.ToJsonString(JsonFormat.Compact));
            }
            completionsLog?.Flush();
            if ((step + 1) % o.LogEvery == 0)
                run.Log(step + 1, metrics, $"step {step + 1}/{o.Steps}  reward {metrics["reward"]:F3} ± {metrics["reward_std"]:F3}  " +
                    string.Join("  ", rewards.Names.Select(n => $"{n} {metrics.GetValueOrDefault("rewards/" + n):F2}")) +
                    $"  len {metrics["completion_length"]:F1}  zero-std {frac0:P0}  kl {metrics.GetValueOrDefault("kl"):F4}  " +
                    $"loss {update.Loss:F4}  {watch.Elapsed.TotalSeconds:F1}s (gen {timing.GetValueOrDefault("generation"):F1}, update {timing.GetValueOrDefault("update"):F1})" +
                    (metrics.TryGetValue("rollout/staleness_max", out var stale) ? $"  weights v{metrics["rollout/weight_version_min"]:F0}–v{metrics["rollout/weight_version_max"]:F0}, staleness ≤ {stale:F0}" : ""));
            if ((step + 1) % o.CheckpointEvery == 0 && step + 1 < o.Steps) run.SaveCheckpoint(policy, optimizer, state, modelDir);
        }
        completionsLog?.Dispose();

        var after = OnRankZero(dp, () => Evaluate(policy.Model, tokenizer, eval, o, Path.Combine(output, "eval", "after"), "after", run.Say));
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

        /// <summary>Completion tokens that enter the loss: all of them, or none for a truncated one under mask_truncated_completions.</summary>
        public int Trained { get; init; } = -1;
    }

    sealed record Group(IReadOnlyList<Sample> Samples, bool ZeroStd);

    /// <summary>What every rank learns of each completion of the step (its rank's sample stays where it was generated).</summary>
    /// <param name="Order">The place of its group in the step's order (round by round, rank by rank, prompt by prompt).</param>
    /// <param name="Trained">Completion tokens that enter the loss (0 for a masked truncated completion).</param>
    internal sealed record SampleStat(int Order, string PromptId, string Text, double Reward, IReadOnlyDictionary<string, double?> Components,
        int Length, int Trained, bool Truncated, int WeightVersion);

    /// <summary>The step's completions of every rank, in the step's order (what one process would have trained on).</summary>
    static List<SampleStat> Gather(ICollective dp, List<(int Order, Group Group)> mine, int generations)
    {
        var local = mine.SelectMany(g => g.Group.Samples.Select(s => new SampleStat(g.Order, s.Example.Id, s.Text, s.Reward, s.Components,
            s.Tokens.Count, s.Trained, s.Truncated, s.WeightVersion))).ToList();
        var all = dp.Size == 1 ? local : dp.AllGather(local).SelectMany(l => l).ToList();
        // Stable: the G completions of a group keep their order.
        var sorted = all.Select((s, i) => (s, i)).OrderBy(x => x.s.Order).ThenBy(x => x.i).Select(x => x.s).ToList();
        if (sorted.Count % generations != 0) throw new InvalidOperationException($"{sorted.Count} completions gathered, not groups of {generations}");
        return sorted;
    }

    /// <summary><paramref name="evaluate"/> on rank 0; its score on every rank (the others wait).</summary>
    static EvalScore OnRankZero(ICollective dp, Func<EvalScore> evaluate)
    {
        if (dp.Size == 1) return evaluate();
        var score = dp.Rank == 0 ? evaluate() : null;
        // As text: JSON has no NaN (the score of an empty evaluation).
        var text = dp.BroadcastObject(score is null ? null
            : string.Join(' ', new[] { score.PassAt1, score.FormatRate, score.MeanLength, score.Prompts, score.Samples }.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        if (score is not null) return score;
        var v = text!.Split(' ').Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        return new EvalScore(v[0], v[1], v[2], (int)v[3], (int)v[4]);
    }

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
                    c.FinishReason == FinishReason.Length, texts[i], totals[i], scores[i].Components)
                {
                    WeightVersion = versions[i], Trained = o.MaskTruncatedCompletions && c.FinishReason == FinishReason.Length ? 0 : c.Tokens.Length,
                });
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
    /// <param name="weights">Each sample's weight in the step's loss (<see cref="ILossAggregation.SampleWeights"/> over the whole
    /// step, all ranks); by default the aggregation's weights over <paramref name="samples"/> alone (one process).</param>
    /// <param name="collective">The ranks that share the step: the loss, KL, clip shares and ratios reported are over all of them.</param>
    /// <param name="stepSamples">The step's samples over all ranks (shards may be uneven; the MoE balancing term's shares);
    /// by default <paramref name="samples"/>' count (one process).</param>
    internal static UpdateStats Update(CausalLM policy, CausalLM? reference, OptimizerStep<CausalLM> optimizer, List<Sample> samples, GrpoOptions o,
        ILossAggregation aggregation, Device device, Dictionary<string, double> timing, Stopwatch watch, int step, OffPolicy? offPolicy = null,
        IReadOnlyList<double>? weights = null, ICollective? collective = null, int? stepSamples = null)
    {
        collective ??= SingleProcess.Instance;
        double allSamples = stepSamples ?? samples.Count;
        weights ??= aggregation.SampleWeights(samples.Select(s => o.MaskTruncatedCompletions && s.Truncated ? 0 : s.Tokens.Count).ToList(),
            o.MicroBatchSize, o.Sampling.MaxNewTokens);
        policy.train();
        int microBatches = (samples.Count + o.MicroBatchSize - 1) / o.MicroBatchSize; // this rank's (memory); the loss's are in the weights
        var objective = PolicyObjectives.For(o.PolicyLoss, o.EpsilonLow, o.EpsilonHigh, o.DualClipC);
        PromptCompletionBatch? batch = null;
        Tensor? advantages = null, oldLogProbs = null, sampleWeights = null;
        double activeTokens = 0;
        if (samples.Count > 0) // a rank may hold none of the step's groups (dynamic sampling dropped them)
        {
            batch = PromptCompletionBatch.Build(samples.Select(s => s.Prompt).ToList(), samples.Select(s => s.Tokens).ToList(), device,
                samples.Select(s => !(o.MaskTruncatedCompletions && s.Truncated)).ToList());
            advantages = tensor(samples.Select(s => s.Advantage).ToArray(), device: device);
            int lc = batch.CompletionLength;
            oldLogProbs = tensor(samples.SelectMany(s => s.LogProbs.Concat(new float[lc - s.LogProbs.Length])).ToArray(), [samples.Count, lc], device: device);
            using (var column = tensor(weights.Select(w => (float)w).ToArray(), device: device)) sampleWeights = column.unsqueeze(1); // (B, 1)
            using (var active = batch.CompletionMask.sum()) activeTokens = active.item<float>();
        }

        Tensor? refLogProbs = null;
        if (reference is not null && batch is not null)
        {
            var t0 = watch.Elapsed.TotalSeconds;
            using var noGrad = no_grad();
            using var scope = NewDisposeScope(); // the reference's activations go now, not when the GC finalises them
            refLogProbs = cat(Enumerable.Range(0, microBatches).Select(m =>
                batch.Slice(m * o.MicroBatchSize, Math.Min(o.MicroBatchSize, samples.Count - m * o.MicroBatchSize))
                    .CompletionLogProbs(reference, o.Sampling.Temperature)).ToList(), 0).MoveToOuterDisposeScope();
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
                double t0 = watch.Elapsed.TotalSeconds;
                int start = m * o.MicroBatchSize, n = Math.Min(o.MicroBatchSize, samples.Count - start);
                var mb = batch!.Slice(start, n);
                var (logp, tokenEntropy) = mb.CompletionLogProbsAndEntropy(policy, o.Sampling.Temperature); // (b, Lc) each
                var old = o.Iterations == 1 && offPolicy?.SamplerIsOld != true ? logp.detach() : oldLogProbs!.narrow(0, start, n);
                var mask = mb.CompletionMask;
                var corrections = offPolicy?.Weights(logp, oldLogProbs!.narrow(0, start, n), mask, iteration); // rollout corrections (w)
                var perToken = PolicyLoss.Compute(objective, new PolicyInputs(logp, old, advantages!.narrow(0, start, n), mask),
                    refLogProbs?.narrow(0, start, n), o.Beta, corrections);
                var l = (perToken.Loss * mask * sampleWeights!.narrow(0, start, n)).sum(); // this micro-batch's share of the step's loss
                double t1 = watch.Elapsed.TotalSeconds;
                optimizer.Backward(l, share: n / allSamples); // MoE balancing term: this micro-batch's share
                double t2 = watch.Elapsed.TotalSeconds;
                AddTime(timing, "update/forward", t1 - t0);
                AddTime(timing, "update/backward", t2 - t1);

                using var noGrad = no_grad();
                double tokens = mask.sum().item<float>();
                iterationLoss += l.item<float>();
                if (perToken.Kl is not null) kl += (perToken.Kl * mask).sum().item<float>();
                entropy += (tokenEntropy * mask).sum().item<float>();
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
                AddTime(timing, "update/statistics", watch.Elapsed.TotalSeconds - t2);
            }
            double[] total = [iterationLoss];
            collective.AllReduce(total); // the step's loss: the ranks' shares summed
            iterationLoss = total[0];
            double t3 = watch.Elapsed.TotalSeconds;
            gradNorm = optimizer.Apply(step, iterationLoss).GradNorm;
            AddTime(timing, "update/optimizer", watch.Elapsed.TotalSeconds - t3);
            loss += iterationLoss / o.Iterations;
        }
        foreach (var t in new[] { advantages, oldLogProbs, sampleWeights, refLogProbs }) t?.Dispose();
        batch?.Dispose();
        double[] sums = [kl, entropy, low, high, region, count, ratioSum, dual ?? 0, dual is null ? 0 : 1, activeTokens];
        collective.AllReduce(sums);
        (kl, entropy, low, high, region, count, ratioSum) = (sums[0], sums[1], sums[2], sums[3], sums[4], sums[5], sums[6]);
        dual = sums[8] > 0 ? sums[7] : null;
        activeTokens = sums[9];
        double[] extremes = [ratioMax, -ratioMin];
        collective.AllReduce(extremes, ReduceOp.Max);
        (ratioMax, ratioMin) = (extremes[0], -extremes[1]);
        bool anyToken = count > 0;
        count = Math.Max(1, count);
        return new UpdateStats(loss, gradNorm, kl / count, entropy / count, low / count, high / count, region / count, (long)activeTokens,
            anyToken ? ratioSum / count : 1, anyToken ? ratioMin : 1, anyToken ? ratioMax : 1,
            dual / count);
    }

    /// <summary>Adds <paramref name="seconds"/> to the step's time of <paramref name="phase"/> (logged as <c>time/{phase}</c>).</summary>
    static void AddTime(Dictionary<string, double> timing, string phase, double seconds) => timing[phase] = timing.GetValueOrDefault(phase) + seconds;

    /// <summary>The step's metrics over every rank's completions (<paramref name="samples"/> are all of them, in the step's order).</summary>
    static Dictionary<string, double> Metrics(List<SampleStat> samples, float[] advantages, UpdateStats u, double frac0,
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
        m["frac_zero_advantage"] = GrpoDiagnostics.ZeroAdvantageShare(advantages, groupSize);
        var lengths = samples.Select(s => (double)s.Length).DefaultIfEmpty(0).ToList();
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
        m["groups"] = samples.Count / groupSize;
        foreach (var (k, v) in timing) m["time/" + k] = v;
        m["time/step"] = seconds;
        m["tokens_per_second"] = samples.Sum(s => s.Length) / Math.Max(1e-9, timing.GetValueOrDefault("generation"));
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
        var source = Lora.CheckpointTensors(from).ToDictionary(t => t.Name, t => t.Tensor); // LoRA: the merged weights
        foreach (var (name, p) in to.state_dict()) p.copy_(source[name]);
    }
}
