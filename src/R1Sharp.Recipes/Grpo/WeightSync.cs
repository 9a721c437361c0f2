using System.Diagnostics;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Engine.Fleet;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;

namespace R1Sharp.Recipes.Grpo;

/// <summary>
/// Keeps a fleet's weights equal to the policy, through disk: <see cref="Publish"/> writes the policy as a Hugging Face
/// checkpoint (safetensors, config, tokenizer) to <c>weights_dir/step-N</c> — written beside it under a temporary name and
/// renamed into place by <see cref="Checkpoint.Save"/>, older versions pruned — and <see cref="UpdateAsync"/> makes every
/// server load it (the engine's protocol: <see cref="IWeightUpdateProtocol"/>), then probes each server: a few greedy tokens
/// of a fixed token-id prompt whose log-probabilities must match the trainer's. Each update is one line of
/// <c>rollout-sync.jsonl</c> in the run folder.
/// </summary>
internal sealed class WeightSync
{
    readonly RolloutFleet fleet;
    readonly RolloutOptions options;
    readonly string companionsFrom;
    readonly IReadOnlyList<int> probePrompt;
    readonly int eos;
    readonly string logPath;
    readonly Action<string> say;
    readonly object gate = new();
    readonly Dictionary<int, Probe> expected = [];
    int loading = -1; // the version servers may be reading now: never pruned

    /// <summary>Greedy tokens of the probe prompt and their log-probabilities.</summary>
    public sealed record Probe(IReadOnlyList<int> Tokens, IReadOnlyList<float> LogProbs);

    /// <summary>One update of the fleet: how long each part took and what each server did.</summary>
    public sealed record Record(int Version, double UpdateSeconds, double ProbeSeconds, int InRotation, double ProbeMaxAbsDiff, IReadOnlyList<ServerUpdate> Servers);

    public WeightSync(RolloutFleet fleet, RolloutOptions options, string weightsDir, string companionsFrom, IReadOnlyList<int> probePrompt, int eos,
        string logPath, Action<string> say)
    {
        this.fleet = fleet;
        this.options = options;
        WeightsDir = Path.GetFullPath(weightsDir);
        this.companionsFrom = companionsFrom;
        this.probePrompt = probePrompt;
        this.eos = eos;
        this.logPath = logPath;
        this.say = say;
    }

    public string WeightsDir { get; }

    /// <summary>The name servers give version <paramref name="version"/> (the optimiser steps behind it).</summary>
    public static string Name(int version) => $"step-{version}";

    /// <summary>The version a server's name stands for; null for a name this trainer did not give.</summary>
    public static int? Parse(string? name) =>
        name is not null && name.StartsWith("step-", StringComparison.Ordinal) && int.TryParse(name.AsSpan(5), out int v) && v >= 0 ? v : null;

    public string PathOf(int version) => Path.Combine(WeightsDir, Name(version));

    /// <summary>
    /// Deletes published versions newer than <paramref name="version"/>: a resumed run publishes its own, and a server must
    /// never be pointed at weights of the steps that were lost.
    /// </summary>
    public void ForgetAfter(int version)
    {
        if (!Directory.Exists(WeightsDir)) return;
        foreach (var (v, dir) in Published().Where(p => p.Version > version))
            Directory.Delete(dir, recursive: true);
    }

    /// <summary>
    /// Writes <paramref name="model"/> as version <paramref name="version"/> — a Hugging Face checkpoint (a LoRA policy's merged
    /// weights), or with <c>weight_sync: adapter</c> its adapter in PEFT's layout — remembers what the probe must give, prunes old
    /// versions; returns the seconds it took.
    /// </summary>
    public double Publish(IPretrainedModel model, int version, Probe? probe)
    {
        var clock = Stopwatch.StartNew();
        if (options.WeightSync == FleetWeightSync.Adapter)
            Lora.Save(model as CausalLM ?? throw new InvalidOperationException("adapter sync needs a causal LM with LoRA adapters"), PathOf(version), Path.GetFullPath(companionsFrom));
        else
            Checkpoint.Save(model, PathOf(version), companionsFrom);
        lock (gate)
        {
            if (probe is not null) expected[version] = probe;
            foreach (var (v, dir) in Published().OrderByDescending(p => p.Version).Skip(options.KeepVersions))
                if (v != loading)
                {
                    Directory.Delete(dir, recursive: true);
                    expected.Remove(v);
                }
        }
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The step-N folders of the weights folder (staging folders of an interrupted save are not versions).</summary>
    IEnumerable<(int Version, string Dir)> Published() =>
        Directory.EnumerateDirectories(WeightsDir, "step-*")
            .Select(d => (Version: Parse(Path.GetFileName(d)) ?? -1, Dir: d))
            .Where(p => p.Version >= 0);

    /// <summary>Makes every server load version <paramref name="version"/>, probes them, and logs the update.</summary>
    /// <exception cref="FleetUnavailableException">No server serves it.</exception>
    public async Task<Record> UpdateAsync(int version, CancellationToken ct)
    {
        lock (gate) loading = version;
        FleetUpdate update;
        try
        {
            update = await fleet.UpdateAsync(PathOf(version), Name(version), ct).ConfigureAwait(false);
        }
        finally
        {
            lock (gate) loading = -1;
        }
        foreach (var failed in update.Servers.Where(s => !s.Ok && s.Server.LastError is not null && !s.Error!.StartsWith("still out", StringComparison.Ordinal)))
            say($"rollout server {failed.Server} failed the update to {Name(version)}: {failed.Error}");
        foreach (var back in update.Servers.Where(s => s.Rejoined)) say($"rollout server {back.Server} rejoined at {Name(version)}");

        // The probe: greedy tokens of a fixed prompt on every server, against the trainer's.
        var probeClock = Stopwatch.StartNew();
        Probe? want;
        lock (gate) want = expected.GetValueOrDefault(version);
        var probes = new Dictionary<FleetServer, (Probe? Got, double Diff, string? Error)>();
        if (options.ProbeTokens > 0)
        {
            var request = new GenerationRequest(GenerationPrompt.FromTokens(probePrompt),
                new GenerationOptions { Temperature = 0, MaxNewTokens = options.ProbeTokens, StopTokenIds = [eos], LogProbs = true });
            var tasks = update.Servers.Where(s => s.Ok).Select(async s =>
            {
                try
                {
                    var sample = (await fleet.ProbeAsync(s.Server, request, ct).ConfigureAwait(false)).Samples[0];
                    var got = new Probe(sample.TokenIds ?? [], sample.LogProbs ?? []);
                    return (s.Server, got, Difference(want, got), (string?)null);
                }
                catch (Exception e) when (e is FleetCallException or FormatException or AbortedException or GenerationException)
                {
                    return (s.Server, (Probe?)null, double.PositiveInfinity, e.Message);
                }
            });
            foreach (var (server, got, diff, error) in await Task.WhenAll(tasks).ConfigureAwait(false))
            {
                probes[server] = (got, diff, error);
                if (options.ProbeTolerance > 0 && !(diff <= options.ProbeTolerance))
                    fleet.TakeOut(server, error ?? $"its probe differs from the trainer's by {diff:G3} (rollout.probe_tolerance {options.ProbeTolerance})");
            }
            if (!fleet.Servers.Any(s => s.InRotation))
                throw new FleetUnavailableException($"no rollout server is left: every one failed the probe after the update to {Name(version)}");
        }
        double probeSeconds = probeClock.Elapsed.TotalSeconds;
        double maxDiff = probes.Count == 0 ? double.NaN : probes.Values.Max(p => p.Diff);
        var record = new Record(version, update.Seconds, probeSeconds, fleet.Servers.Count(s => s.InRotation), maxDiff, update.Servers);
        AppendLog(record, want, probes);
        return record;
    }

    /// <summary>Largest |Δ log-probability| of the probe tokens; +∞ when the tokens differ (other weights) or nothing is known.</summary>
    static double Difference(Probe? want, Probe got)
    {
        if (want is null) return double.NaN;
        if (!want.Tokens.SequenceEqual(got.Tokens) || got.LogProbs.Count != want.LogProbs.Count) return double.PositiveInfinity;
        return want.LogProbs.Count == 0 ? 0 : want.LogProbs.Zip(got.LogProbs, (a, b) => Math.Abs((double)a - b)).Max();
    }

    void AppendLog(Record r, Probe? want, Dictionary<FleetServer, (Probe? Got, double Diff, string? Error)> probes)
    {
        static JsonNode? Json(Probe? p) => p is null ? null : new JsonObject
        {
            ["tokens"] = new JsonArray([.. p.Tokens.Select(t => (JsonNode)t)]),
            ["logprobs"] = new JsonArray([.. p.LogProbs.Select(x => (JsonNode)x)]),
        };
        static JsonNode? Number(double x) => double.IsFinite(x) ? x : null;
        var line = new JsonObject
        {
            ["version"] = r.Version,
            ["weight_version"] = Name(r.Version),
            ["path"] = PathOf(r.Version),
            ["update_seconds"] = Math.Round(r.UpdateSeconds, 4),
            ["probe_seconds"] = Math.Round(r.ProbeSeconds, 4),
            ["in_rotation"] = r.InRotation,
            ["probe_prompt"] = new JsonArray([.. probePrompt.Select(t => (JsonNode)t)]),
            ["trainer_probe"] = Json(want),
            ["servers"] = new JsonArray([.. r.Servers.Select(s => (JsonNode)new JsonObject
            {
                ["url"] = s.Server.ToString(),
                ["ok"] = s.Ok,
                ["error"] = s.Error,
                ["rejoined"] = s.Rejoined,
                ["seconds"] = Math.Round(s.Seconds, 4),
                ["in_rotation"] = s.Server.InRotation,
                ["probe"] = probes.TryGetValue(s.Server, out var p) ? Json(p.Got) : null,
                ["probe_max_abs_diff"] = probes.TryGetValue(s.Server, out var q) ? Number(q.Diff) : null,
                ["probe_error"] = probes.TryGetValue(s.Server, out var e) ? e.Error : null,
            })]),
        };
        lock (gate) File.AppendAllText(logPath, line.ToJsonString(JsonFormat.Compact) + "\n");
    }
}
