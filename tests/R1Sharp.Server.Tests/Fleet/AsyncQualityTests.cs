using System.Text.Json.Nodes;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Recipes.Pipeline;
using R1Sharp.Recipes.Pretrain;
using R1Sharp.Tests;
using R1Sharp.Training.Runs;
using Xunit.Abstractions;

namespace R1Sharp.Server.Tests.Fleet;

/// <summary>
/// Asynchronous GRPO (k = 1) against synchronous on the embedded R1-Zero stage, rollouts on one <c>r1sharp serve</c>, the same
/// steps: pass@1 after training within 3 points, and no batch ever older than k versions (from metrics.jsonl).
/// By default a smoke run on the tiny model (three small steps each); with R1SHARP_FLEET_LONG=1 the pipeline's R1-Zero stage
/// itself (60 steps of 16 prompts × 8 × 96 tokens) from the embedded base model (pretrained here, ~10 min, or
/// R1SHARP_BASE_MODEL=DIR), evaluated on 256 held-out prompts × 8 samples:
/// <code>R1SHARP_FLEET_LONG=1 dotnet test tests/R1Sharp.Server.Tests -c Release --filter AsyncQuality --logger "console;verbosity=detailed"</code>
/// </summary>
public sealed class AsyncQualityTests(ITestOutputHelper output) : IDisposable
{
    static readonly bool Long = Environment.GetEnvironmentVariable("R1SHARP_FLEET_LONG") == "1";
    readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-async-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Asynchronous_r1_zero_reaches_the_synchronous_pass_at_1_and_no_batch_is_older_than_k()
    {
        string baseModel;
        GrpoOptions stage;
        if (Long)
        {
            baseModel = Environment.GetEnvironmentVariable("R1SHARP_BASE_MODEL") is { Length: > 0 } given
                ? given
                : PretrainRecipe.Run(new PretrainOptions(), Path.Combine(_dir, "base"), RunSettings.Quiet()).ModelDirectory;
            stage = new PipelineOptions().R1Zero with { EvalPrompts = 256, EvalSamples = 8 };
        }
        else
        {
            baseModel = TinyModel.Directory;
            stage = new PipelineOptions().R1Zero with
            {
                Steps = 3, PromptsPerStep = 4, Generations = 4, Sampling = new() { MaxNewTokens = 16 }, EvalPrompts = 8, EvalSamples = 2,
                EvalSampling = new() { MaxNewTokens = 16, Temperature = 0.6, TopP = 0.95 },
            };
        }
        using var server = new ServeProcess(model: baseModel);
        var fleet = stage.Rollout with { Endpoints = [server.Url.ToString()] };
        var sync = GrpoRecipe.Run(stage with { Rollout = fleet }, baseModel, Path.Combine(_dir, "sync"), RunSettings.Quiet());
        var async = GrpoRecipe.Run(stage with { Rollout = fleet with { MaxOffPolicySteps = 1 } }, baseModel, Path.Combine(_dir, "async"), RunSettings.Quiet());

        var steps = File.ReadAllLines(Path.Combine(_dir, "async", "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(stage.Steps, steps.Count);
        Assert.All(steps, m => Assert.True((double)m["rollout/staleness_max"]! <= 1, m.ToJsonString()));
        Assert.True(steps.Skip(1).All(m => (double)m["rollout/staleness_max"]! == 1), "from the second step on, rollouts are one version old; " +
            "staleness and weight versions by step: " + string.Join(", ", steps.Select(m => $"{m["rollout/staleness_max"]} ({m["rollout/weight_version_min"]}–{m["rollout/weight_version_max"]})")));
        output.WriteLine($"pass@1 before {sync.Before.PassAt1:P1}; after: synchronous {sync.After.PassAt1:P1}, asynchronous (k = 1) {async.After.PassAt1:P1}; " +
                         $"mean step {Mean("sync"):F2} s synchronous, {Mean("async"):F2} s asynchronous");
        Assert.True(Math.Abs(sync.After.PassAt1 - async.After.PassAt1) <= 0.03,
            $"pass@1 after training: synchronous {sync.After.PassAt1:P1}, asynchronous {async.After.PassAt1:P1}");
    }

    double Mean(string run) => File.ReadAllLines(Path.Combine(_dir, run, "metrics.jsonl")).Average(l => (double)JsonNode.Parse(l)!["time/step"]!);
}
