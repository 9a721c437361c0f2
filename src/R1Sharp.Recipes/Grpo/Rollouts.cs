using System.Diagnostics;
using System.Threading.Channels;
using R1Sharp.Engine;
using R1Sharp.Engine.Fleet;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Text.Tokenization;
using R1Sharp.Training.Runs;

namespace R1Sharp.Recipes.Grpo;

/// <summary>
/// One step's rollouts: G completions per prompt (prompt i's at i·G … i·G+G−1, <see cref="Completion.PromptIndex"/> = i), with
/// the sampler's token log-probabilities, the policy version that generated each (optimiser steps behind its weights), and
/// the seconds the trainer waited for them.
/// </summary>
internal sealed record RolloutBatch(IReadOnlyList<Completion> Completions, IReadOnlyList<int> Versions, double WaitSeconds)
{
    /// <summary>Fleet updates made for this batch.</summary>
    public IReadOnlyList<WeightSync.Record> Syncs { get; init; } = [];
}

/// <summary>
/// Where GRPO's rollouts come from: the trainer's own sampler (<see cref="LocalRollouts"/>, the default, exactly today's
/// sampling) or a fleet of inference servers whose weights follow the policy (<see cref="FleetRollouts"/>). The loop calls
/// <see cref="Start"/> once, then per step <see cref="Sample"/> (and <see cref="Prefetch"/> for the steps ahead when
/// asynchronous) and, after the optimiser step, <see cref="Published"/>.
/// </summary>
internal abstract class Rollouts : IDisposable
{
    /// <summary>The rollout source <paramref name="o"/> asks for.</summary>
    /// <param name="prompts">The training prompts as token ids (requests refer to them by index).</param>
    public static Rollouts Create(GrpoOptions o, Trainable<CausalLM> policy, HfTokenizer tokenizer, IReadOnlyList<IReadOnlyList<int>> prompts,
        string modelDir, string output, Action<string> say)
    {
        int eos = tokenizer.EosTokenId ?? throw new InvalidDataException($"{modelDir}: the tokenizer has no EOS token");
        var sampler = new Sampler(new CausalLMLanguageModel(policy.Model), ids => tokenizer.Decode(ids)) { MaxBatchSize = 128 };
        return o.Rollout.IsFleet
            ? new FleetRollouts(o, policy, sampler, prompts, eos, modelDir, output, say)
            : new LocalRollouts(policy, sampler, prompts, o.Generations);
    }

    /// <summary>One line for the log: where rollouts come from.</summary>
    public abstract string Description { get; }

    /// <summary>Before the first step: the policy is version <paramref name="version"/> (steps done); a fleet is brought to it before any rollout.</summary>
    public virtual void Start(int version, CancellationToken ct) { }

    /// <summary>G completions for each prompt of <paramref name="indices"/>, for step <paramref name="step"/> (0-based).</summary>
    /// <param name="keys">One per prompt (its place in the run's stream of prompts): the trainer's sampler draws each
    /// completion from (seed, key, sample index) alone, so the completions do not depend on which prompts are sampled together.</param>
    public abstract RolloutBatch Sample(int step, IReadOnlyList<int> indices, GenerationOptions sampling, CancellationToken ct,
        IReadOnlyList<long>? keys = null);

    /// <summary>Asynchronous rollouts: start generating step <paramref name="step"/>'s batch now.</summary>
    public virtual void Prefetch(int step, IReadOnlyList<int> indices, GenerationOptions sampling) { }

    /// <summary>After an optimiser step: the policy is now version <paramref name="version"/>; returns the seconds spent publishing it.</summary>
    public virtual double Published(int version, CancellationToken ct) => 0;

    /// <summary>How many steps ahead rollouts are generated (k).</summary>
    public virtual int Ahead => 0;

    /// <summary>Metrics of a batch: the versions that generated it, and the fleet updates made for it.</summary>
    public virtual void AddMetrics(int step, RolloutBatch batch, IDictionary<string, double> metrics) { }

    public virtual void Dispose() { }
}

/// <summary>The trainer's own sampler on the policy in this process: exactly the sampling GRPO always did.</summary>
internal sealed class LocalRollouts(Trainable<CausalLM> policy, Sampler sampler, IReadOnlyList<IReadOnlyList<int>> prompts, int generations) : Rollouts
{
    public override string Description => "the trainer's own sampler";

    public override RolloutBatch Sample(int step, IReadOnlyList<int> indices, GenerationOptions sampling, CancellationToken ct,
        IReadOnlyList<long>? keys = null)
    {
        var clock = Stopwatch.StartNew();
        policy.Model.eval();
        var completions = sampler.Generate(indices.Select(i => prompts[i]).ToList(), sampling, generations, ct, promptKeys: keys);
        return new RolloutBatch(completions, [.. Enumerable.Repeat(step, completions.Count)], clock.Elapsed.TotalSeconds);
    }
}

/// <summary>
/// Rollouts on a fleet of inference servers. The trainer publishes each policy version to the weights folder; one background
/// worker generates the batches in step order, and before a batch it brings the fleet to the newest published version when
/// the fleet is behind. A batch for step t may start once a version ≥ t − k − (sync_every − 1) is published (k =
/// max_off_policy_steps): with k = 0 that is the version of the step itself — synchronous GRPO — and with k ≥ 1 the batches of
/// the next k steps are generated while the current step trains. A rollout older than the bound when it is used (a server
/// that did not take an update) is dropped and generated again.
/// </summary>
internal sealed class FleetRollouts : Rollouts
{
    readonly GrpoOptions o;
    readonly Trainable<CausalLM> policy;
    readonly Sampler sampler;
    readonly IReadOnlyList<IReadOnlyList<int>> prompts;
    readonly int eos;
    readonly RolloutFleet fleet;
    readonly WeightSync sync;
    readonly Action<string> say;
    readonly int bound;
    readonly Channel<Job> queue = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
    readonly Dictionary<int, Job> jobs = [];
    readonly CancellationTokenSource stop = new();
    readonly SemaphoreSlim publishedSignal = new(0);
    readonly Task worker;
    int start = -1;
    volatile int published = -1;
    int served = -1;

    sealed record Job(int Step, IReadOnlyList<int> Indices, GenerationOptions Sampling, int Required)
    {
        public TaskCompletionSource<RolloutBatch> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public FleetRollouts(GrpoOptions o, Trainable<CausalLM> policy, Sampler sampler, IReadOnlyList<IReadOnlyList<int>> prompts, int eos,
        string modelDir, string output, Action<string> say)
    {
        this.o = o;
        this.policy = policy;
        this.sampler = sampler;
        this.prompts = prompts;
        this.eos = eos;
        this.say = say;
        var r = o.Rollout;
        bound = r.MaxOffPolicySteps + r.SyncEvery - 1;
        fleet = new RolloutFleet(new FleetOptions
        {
            Endpoints = [.. r.Endpoints.Select(e => new Uri(e))], Engine = r.Engine, Sync = r.WeightSync, Model = r.ServedModel, MaxConcurrency = r.MaxConcurrency,
            RequestTimeout = r.RequestTimeout, UpdateTimeout = r.UpdateTimeout, ApiKey = Environment.GetEnvironmentVariable("OPENAI_API_KEY"), Log = say,
        });
        sync = new WeightSync(fleet, r, r.WeightsDir ?? Path.Combine(output, "rollout-weights"), modelDir, prompts[0], eos,
            Path.Combine(output, "rollout-sync.jsonl"), say);
        worker = Task.Run(Work);
    }

    public override string Description =>
        $"{fleet.Description}, {(o.Rollout.WeightSync == FleetWeightSync.Adapter ? "LoRA adapters" : "weights")} through {sync.WeightsDir}" + (o.Rollout.MaxOffPolicySteps > 0 ? $", asynchronous (k = {o.Rollout.MaxOffPolicySteps})" : "");

    public override int Ahead => o.Rollout.MaxOffPolicySteps;

    public override void Start(int version, CancellationToken ct)
    {
        start = version;
        sync.ForgetAfter(version);
        Publish(version);
        say($"rollouts: {Description}");
    }

    public override double Published(int version, CancellationToken ct)
    {
        if (version % o.Rollout.SyncEvery != 0) return 0;
        return Publish(version);
    }

    double Publish(int version)
    {
        WeightSync.Probe? probe = null;
        if (o.Rollout.ProbeTokens > 0)
        {
            policy.Model.eval();
            var c = sampler.Generate([prompts[0]], new GenerationOptions { Temperature = 0, MaxNewTokens = o.Rollout.ProbeTokens, StopTokenIds = [eos] })[0];
            probe = new WeightSync.Probe(c.Tokens, c.LogProbs);
        }
        double seconds = sync.Publish(policy.Model, version, probe);
        published = version;
        publishedSignal.Release();
        return seconds;
    }

    /// <summary>The oldest version a batch of step <paramref name="step"/> may be generated with.</summary>
    int Required(int step) => Math.Max(start, step - bound);

    public override void Prefetch(int step, IReadOnlyList<int> indices, GenerationOptions sampling)
    {
        lock (jobs)
            if (!jobs.ContainsKey(step)) jobs[step] = Enqueue(step, indices, sampling);
    }

    Job Enqueue(int step, IReadOnlyList<int> indices, GenerationOptions sampling)
    {
        var job = new Job(step, indices, sampling, Required(step));
        if (!queue.Writer.TryWrite(job)) throw new ObjectDisposedException(nameof(FleetRollouts));
        return job;
    }

    public override RolloutBatch Sample(int step, IReadOnlyList<int> indices, GenerationOptions sampling, CancellationToken ct,
        IReadOnlyList<long>? keys = null)
    {
        var clock = Stopwatch.StartNew();
        Job job;
        lock (jobs)
        {
            job = jobs.Remove(step, out var ahead) && ahead.Indices.SequenceEqual(indices) && ahead.Sampling == sampling
                ? ahead
                : Enqueue(step, indices, sampling);
        }
        var batch = Wait(job, ct);
        var syncs = new List<WeightSync.Record>(batch.Syncs);

        // A rollout more than the bound behind the policy is dropped and its group generated again.
        int g = o.Generations;
        var completions = batch.Completions.ToArray();
        var versions = batch.Versions.ToArray();
        for (int round = 0; ; round++)
        {
            var stale = Enumerable.Range(0, indices.Count).Where(p => Enumerable.Range(p * g, g).Any(i => step - versions[i] > bound)).ToList();
            if (stale.Count == 0) break;
            if (round == 3) throw new InvalidOperationException($"step {step + 1}: rollouts stay more than {bound} versions behind the policy after {round} tries");
            say($"step {step + 1}: {stale.Count} groups generated more than {bound} versions ago are dropped and generated again");
            var again = Wait(Enqueue(step, [.. stale.Select(p => indices[p])], sampling), ct);
            syncs.AddRange(again.Syncs);
            for (int k = 0; k < stale.Count; k++)
                for (int j = 0; j < g; j++)
                {
                    var c = again.Completions[k * g + j];
                    completions[stale[k] * g + j] = c with { PromptIndex = stale[k] };
                    versions[stale[k] * g + j] = again.Versions[k * g + j];
                }
        }
        return new RolloutBatch(completions, versions, clock.Elapsed.TotalSeconds) { Syncs = syncs };
    }

    static RolloutBatch Wait(Job job, CancellationToken ct)
    {
        try
        {
            return job.Done.Task.WaitAsync(ct).GetAwaiter().GetResult();
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            throw e.InnerException;
        }
    }

    /// <summary>The worker: the batches in step order, each after the fleet serves a recent enough version.</summary>
    async Task Work()
    {
        var ct = stop.Token;
        try
        {
            await foreach (var job in queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    while (published < job.Required) await publishedSignal.WaitAsync(ct).ConfigureAwait(false);
                    var syncs = new List<WeightSync.Record>();
                    int target = published;
                    if (served < target)
                    {
                        syncs.Add(await sync.UpdateAsync(target, ct).ConfigureAwait(false));
                        served = target;
                    }
                    job.Done.TrySetResult(await Generate(job, ct).ConfigureAwait(false) with { Syncs = syncs });
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    job.Done.TrySetCanceled(ct);
                }
                catch (Exception e)
                {
                    job.Done.TrySetException(e);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    async Task<RolloutBatch> Generate(Job job, CancellationToken ct)
    {
        var requests = job.Indices.Select(i => new GenerationRequest(GenerationPrompt.FromTokens(prompts[i]), job.Sampling, o.Generations)
        {
            Id = $"step {job.Step + 1}, prompt {i}",
        }).ToList();
        var results = await fleet.GenerateAllAsync(requests, ct).ConfigureAwait(false);
        var completions = new List<Completion>(requests.Count * o.Generations);
        var versions = new List<int>(completions.Capacity);
        for (int p = 0; p < results.Count; p++)
            foreach (var s in results[p].Samples)
            {
                var tokens = s.TokenIds ?? throw new FormatException($"{fleet.Description}: a rollout came back without its token ids");
                var logProbs = s.LogProbs ?? throw new FormatException($"{fleet.Description}: a rollout came back without its log-probabilities");
                completions.Add(new Completion(p, [.. tokens], [.. logProbs], s.FinishReason, s.StopString));
                versions.Add(WeightSync.Parse(s.WeightVersion)
                             ?? throw new FormatException($"{fleet.Description}: a rollout names weights '{s.WeightVersion}' that this run did not publish"));
            }
        return new RolloutBatch(completions, versions, 0);
    }

    public override void AddMetrics(int step, RolloutBatch batch, IDictionary<string, double> m)
    {
        var staleness = batch.Versions.Select(v => (double)(step - v)).ToList();
        m["rollout/staleness_mean"] = staleness.Average();
        m["rollout/staleness_max"] = staleness.Max();
        m["rollout/weight_version_min"] = batch.Versions.Min();
        m["rollout/weight_version_max"] = batch.Versions.Max();
        m["rollout/servers_in_rotation"] = fleet.Servers.Count(s => s.InRotation);
        m["time/rollout_wait"] = batch.WaitSeconds;
        if (batch.Syncs.Count > 0)
        {
            m["time/sync_update"] = batch.Syncs.Sum(s => s.UpdateSeconds);
            m["time/sync_probe"] = batch.Syncs.Sum(s => s.ProbeSeconds);
            var diffs = batch.Syncs.Select(s => s.ProbeMaxAbsDiff).Where(d => !double.IsNaN(d)).ToList();
            if (diffs.Count > 0) m["rollout/probe_max_abs_diff"] = diffs.Max();
        }
    }

    public override void Dispose()
    {
        queue.Writer.TryComplete();
        stop.Cancel();
        try
        {
            worker.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
        }
        fleet.Dispose();
        stop.Dispose();
        publishedSignal.Dispose();
    }
}
