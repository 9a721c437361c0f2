using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;
using R1Sharp.Recipes.Eval;
using R1Sharp.Server;
using R1Sharp.Tasks;
using R1Sharp.Tests;
using R1Sharp.Text.Templates;

namespace R1Sharp.Server.Tests;

/// <summary>The one evaluation path on a served model: results equal the local model's at temperature 0.</summary>
public sealed class ServedEvaluationTests
{
    [Fact]
    public async Task LocalAndServed_GiveIdenticalResults_AtTemperatureZero()
    {
        var dir = Directory.CreateTempSubdirectory("r1sharp-served-eval-");
        using var model = LocalModel.Load(TinyModel.Directory);
        var task = await EvalTasks.LoadAsync("gsm8k");
        var options = new EvalOptions
        {
            Samples = 2, Limit = 8, Sampling = new() { Temperature = 0, MaxNewTokens = 24, Seed = 1 }, Template = PromptTemplate.Chat,
        };
        using var local = new LocalGenerationBackend(model);
        var viaLocal = await Evaluation.RunAsync(local, task, options, Path.Combine(dir.FullName, "local"));

        await using var server = await OpenAiServer.StartAsync(model, new ServerOptions { Port = 0, ServedModelName = "tiny" });
        using var remote = new RemoteGenerationBackend(new RemoteBackendOptions { Endpoints = [server.BaseAddress], Model = "tiny", MaxConcurrency = 8 });
        var viaServer = await Evaluation.RunAsync(remote, task, options, Path.Combine(dir.FullName, "served"));

        static Dictionary<string, string> Lines(string dir) => File.ReadAllLines(Path.Combine(dir, "results.jsonl"))
            .Select(l => JsonNode.Parse(l)!).ToDictionary(n => (string)n["id"]!, n => n["samples"]!.ToJsonString());
        Assert.Equal(Lines(Path.Combine(dir.FullName, "local")), Lines(Path.Combine(dir.FullName, "served")));
        Assert.Equal(viaLocal.PassAt1, viaServer.PassAt1);
        Assert.Equal(viaLocal.MeanLength, viaServer.MeanLength);
        Assert.Equal(viaLocal.CompletionTokens, viaServer.CompletionTokens);
    }
}
