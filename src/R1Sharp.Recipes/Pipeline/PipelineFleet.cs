using System.ComponentModel.DataAnnotations;
using System.Text;
using R1Sharp.Engine.Fleet;
using R1Sharp.Model;
using R1Sharp.Recipes.Config;
using R1Sharp.Recipes.Grpo;

namespace R1Sharp.Recipes.Pipeline;

/// <summary>
/// The <c>fleet</c> section of a pipeline config: one set of inference servers (SGLang, vLLM or <c>r1sharp serve
/// --enable-weight-updates</c>, started on the base model) that the stages named in <see cref="Stages"/> use
/// (docs/distributed.md): an RL stage generates its rollouts there (its own <c>rollout</c> section still decides
/// synchronous or asynchronous, the sync interval and the corrections; endpoints named there take precedence), and
/// rejection sampling and evaluation load the model they sample onto the servers through the same weight updates.
/// </summary>
public sealed record PipelineFleetOptions : IValidatableConfig
{
    /// <summary>Server base URLs (<c>http://gpu1:30000</c>).</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [];
    public FleetEngine Engine { get; init; } = FleetEngine.R1sharp;
    /// <summary>The model name the servers serve; null: asked of each server.</summary>
    public string? ServedModel { get; init; }
    /// <summary>The stages that use the fleet: <c>r1_zero</c>, <c>reasoning_rl</c>, <c>final_rl</c>, <c>distill</c> (its RL-only
    /// student, which needs servers of the student's architecture), <c>rejection_sampling</c>, <c>eval</c>.</summary>
    public IReadOnlyList<PipelineStage> Stages { get; init; } = [];
    [Range(1, 65536)]
    public int MaxConcurrency { get; init; } = 64;
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(30);
    public TimeSpan UpdateTimeout { get; init; } = TimeSpan.FromMinutes(10);

    static readonly PipelineStage[] Usable =
        [PipelineStage.R1Zero, PipelineStage.ReasoningRl, PipelineStage.FinalRl, PipelineStage.Distill, PipelineStage.RejectionSampling, PipelineStage.Eval];

    public bool Uses(PipelineStage stage) => Endpoints.Count > 0 && Stages.Contains(stage);

    public IEnumerable<(string Field, string Problem)> Validate()
    {
        foreach (var s in Stages.Where(s => !Usable.Contains(s)))
            yield return ("stages", $"{ConfigNames.ToSnakeCase(s.ToString())} generates nothing: the fleet serves r1_zero, reasoning_rl, final_rl, distill, rejection_sampling and eval");
        if (Stages.Count > 0 && Endpoints.Count == 0) yield return ("endpoints", "the stages listed in fleet.stages need the fleet's endpoints");
        for (int i = 0; i < Endpoints.Count; i++)
            if (!Uri.TryCreate(Endpoints[i], UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                yield return ($"endpoints[{i}]", $"'{Endpoints[i]}' is not an http(s) URL");
        if (RequestTimeout <= TimeSpan.Zero) yield return ("request_timeout", "must be positive");
        if (UpdateTimeout <= TimeSpan.Zero) yield return ("update_timeout", "must be positive");
    }

    /// <summary>An RL stage's options with its rollouts on this fleet (unless the stage names servers of its own).</summary>
    public GrpoOptions Apply(GrpoOptions stage) => stage.Rollout.IsFleet ? stage : stage with
    {
        Rollout = stage.Rollout with
        {
            Endpoints = Endpoints, Engine = Engine, ServedModel = ServedModel, MaxConcurrency = MaxConcurrency,
            RequestTimeout = RequestTimeout, UpdateTimeout = UpdateTimeout,
        },
    };

    /// <summary>The fleet as a generation backend for rejection sampling and evaluation.</summary>
    public RolloutFleet Open(Action<string> say) => new(new FleetOptions
    {
        Endpoints = [.. Endpoints.Select(e => new Uri(e))], Engine = Engine, Model = ServedModel, MaxConcurrency = MaxConcurrency,
        RequestTimeout = RequestTimeout, UpdateTimeout = UpdateTimeout, ApiKey = Environment.GetEnvironmentVariable("OPENAI_API_KEY"), Log = say,
    });

    /// <summary>
    /// Makes every server serve the checkpoint <paramref name="modelDir"/> (named <paramref name="version"/>), so that what the
    /// fleet generates next comes from that model.
    /// </summary>
    /// <exception cref="FleetUnavailableException">No server took it.</exception>
    public static void Load(RolloutFleet fleet, string modelDir, string version, Action<string> say)
    {
        var update = fleet.UpdateAsync(Path.GetFullPath(modelDir), version).GetAwaiter().GetResult();
        say($"fleet: {update.Updated} of {update.Servers.Count} servers serve {modelDir} ({version}) after {update.Seconds:F1} s");
    }

    /// <summary>Whether two checkpoints have the same architecture and shapes (a fleet started on one can load the other).</summary>
    public static bool SameShape(string a, string b)
    {
        static string Shape(string dir) => (ModelConfig.Load(Path.Combine(dir, Checkpoint.ConfigFile)) with { TorchDtype = "" }).ToJson().ToJsonString();
        return Shape(a) == Shape(b);
    }

    /// <summary>
    /// The YAML of a stage section without <c>rollout</c> blocks that hold the defaults, so that a stage's config hash does
    /// not change with the arrival of the rollout section (a pipeline run folder made before keeps its finished stages).
    /// </summary>
    public static string WithoutDefaultRollouts(string yaml)
    {
        string defaults = Dedent(ConfigBinder.ToYaml(new RolloutOptions()).Split('\n').Where(l => l.Length > 0));
        var lines = yaml.Split('\n');
        var kept = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.TrimEnd() is var t && t.TrimStart() == "rollout:")
            {
                int indent = t.Length - t.TrimStart().Length, end = i + 1;
                while (end < lines.Length && lines[end].Length > 0 && lines[end].Length - lines[end].TrimStart().Length > indent) end++;
                if (Dedent(lines[(i + 1)..end]) == defaults)
                {
                    i = end - 1;
                    continue;
                }
            }
            kept.Append(line).Append('\n');
        }
        return kept.ToString().TrimEnd('\n') + (yaml.EndsWith('\n') ? "\n" : "");
    }

    static string Dedent(IEnumerable<string> lines)
    {
        var list = lines.Select(l => l.TrimEnd('\r')).ToList();
        int indent = list.Count == 0 ? 0 : list.Min(l => l.Length - l.TrimStart().Length);
        return string.Join('\n', list.Select(l => l[indent..]));
    }
}
