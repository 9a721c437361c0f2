using R1Sharp.Engine.Generation;
using R1Sharp.Tests;
using R1Sharp.Text.Templates;

namespace R1Sharp.Server.Tests;

/// <summary>The remote backend against real <c>r1sharp serve</c> servers on loopback: no mocks.</summary>
public sealed class RemoteBackendTests : IAsyncLifetime
{
    private LocalModel _model = null!;

    public Task InitializeAsync()
    {
        _model = LocalModel.Load(TinyModel.Directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _model.Dispose();
        return Task.CompletedTask;
    }

    private static RemoteBackendOptions Remote(params Uri[] endpoints) => new()
    {
        Endpoints = endpoints,
        Model = "tiny",
        MaxConcurrency = 8,
        MaxAttempts = 60,
        InitialBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(300),
        RequestTimeout = TimeSpan.FromSeconds(60),
    };

    private Task<OpenAiServer> Serve(int port = 0) =>
        OpenAiServer.StartAsync(_model, new ServerOptions { Port = port, ServedModelName = "tiny", MaxQueuedRequests = 1000 });

    private static List<GenerationRequest> Requests(int count, int maxTokens, double temperature = 0) =>
        [.. Enumerable.Range(0, count).Select(i => new GenerationRequest(
            (i % 3) switch
            {
                0 => GenerationPrompt.FromText($"Problem {i}: Tom has {i} apples."),
                1 => GenerationPrompt.FromChat([ChatMessage.System("Be brief."), ChatMessage.User($"What is {i} + {i}?")]),
                _ => GenerationPrompt.FromTokens([5 + i, 17, 42, 100 + i]),
            },
            new GenerationOptions { MaxNewTokens = maxTokens + i % 4, Temperature = temperature, Stop = i % 5 == 4 ? ["e"] : [] },
            N: 1 + i % 2) { Id = $"r{i}" })];

    [Fact]
    public async Task RemoteThroughServe_IsTheLocalResult_AtTemperatureZero()
    {
        await using var server = await Serve();
        using var remote = new RemoteGenerationBackend(Remote(server.BaseAddress));
        using var local = new LocalGenerationBackend(_model);
        var requests = Requests(12, 20);
        var viaServer = await remote.GenerateAllAsync(requests);
        var inProcess = await local.GenerateAllAsync(requests);
        for (int i = 0; i < requests.Count; i++)
        {
            Assert.Equal(inProcess[i].PromptTokens, viaServer[i].PromptTokens);
            Assert.Equal(inProcess[i].PromptTokenIds, viaServer[i].PromptTokenIds);
            Assert.Equal(requests[i].N, viaServer[i].Samples.Count);
            for (int s = 0; s < requests[i].N; s++)
            {
                var (a, b) = (inProcess[i].Samples[s], viaServer[i].Samples[s]);
                Assert.Equal(a.Text, b.Text);
                Assert.Equal(a.TokenIds, b.TokenIds);
                Assert.Equal(a.FinishReason, b.FinishReason);
                Assert.Equal(a.StopString, b.StopString);
                Assert.Equal(a.CompletionTokens, b.CompletionTokens);
                Assert.Equal(a.LogProbs!.Count, b.LogProbs!.Count);
                for (int t = 0; t < a.LogProbs.Count; t++) Assert.Equal(a.LogProbs[t], b.LogProbs[t], 1e-3);
            }
        }
        Assert.Equal(0, remote.Retries);
    }

    [Fact]
    public async Task Streaming_IsTheNonStreamedText()
    {
        await using var server = await Serve();
        using var remote = new RemoteGenerationBackend(Remote(server.BaseAddress));
        foreach (var request in Requests(3, 25))
        {
            var whole = (await remote.GenerateAllAsync([request with { N = 1 }]))[0].Samples[0];
            var pieces = new List<string>();
            GenerationSample? final = null;
            await foreach (var d in remote.StreamAsync(request))
            {
                pieces.Add(d.Text);
                final ??= d.Final;
            }
            Assert.Equal(whole.Text, string.Concat(pieces));
            Assert.Equal(whole.Text, final!.Text);
            Assert.Equal(whole.TokenIds, final.TokenIds);
            Assert.Equal(whole.CompletionTokens, final.CompletionTokens);
        }
    }

    [Fact]
    public async Task RoundRobin_SpreadsRequestsOverEndpoints()
    {
        await using var a = await Serve();
        await using var b = await Serve();
        using var remote = new RemoteGenerationBackend(Remote(a.BaseAddress, b.BaseAddress));
        var results = await remote.GenerateAllAsync(Requests(16, 5));
        Assert.Equal(16, results.Count(r => r is not null));
        Assert.True(a.Stats.Requests >= 4 && b.Stats.Requests >= 4, $"{a.Stats.Requests} / {b.Stats.Requests}");
    }

    [Fact]
    public async Task AServerThatDiesMidRun_LosesNoRequest_TheOtherTakesThem()
    {
        var dying = await Serve();
        await using var healthy = await Serve();
        using var remote = new RemoteGenerationBackend(Remote(dying.BaseAddress, healthy.BaseAddress));
        var requests = Requests(40, 120, temperature: 0.9);
        var got = new Dictionary<int, GenerationResult>();
        await foreach (var (index, result) in remote.GenerateAsync(requests))
        {
            got.Add(index, result);
            if (got.Count == 3) _ = dying.DisposeAsync().AsTask(); // dies with requests in flight
        }
        await dying.DisposeAsync();
        Assert.Equal(requests.Count, got.Count);
        for (int i = 0; i < requests.Count; i++) Assert.Equal(requests[i].N, got[i].Samples.Count);
        Assert.True(remote.Retries > 0, "requests in flight on the dead server were retried");
    }

    [Fact]
    public async Task TheOnlyServerRestarts_ClientWaitsAndLosesNothing()
    {
        var first = await Serve();
        int port = first.BaseAddress.Port;
        using var remote = new RemoteGenerationBackend(Remote(first.BaseAddress));
        var requests = Requests(24, 80, temperature: 0.9);
        var got = new Dictionary<int, GenerationResult>();
        Task<OpenAiServer>? restart = null;
        await foreach (var (index, result) in remote.GenerateAsync(requests))
        {
            got.Add(index, result);
            if (got.Count == 2)
                restart = Task.Run(async () =>
                {
                    await first.DisposeAsync();
                    await Task.Delay(500);          // down for a while: connections are refused
                    return await Serve(port);
                });
        }
        await using var second = await restart!;
        Assert.Equal(requests.Count, got.Count);
        Assert.True(remote.Retries > 0);
        Assert.True(second.Stats.Requests > 0, "the restarted server served the rest");
    }

    [Fact]
    public async Task ARequestTheServerRefuses_FailsAtOnce_WithItsMessage()
    {
        await using var server = await Serve();
        using var remote = new RemoteGenerationBackend(Remote(server.BaseAddress));
        var tooLong = new GenerationRequest(GenerationPrompt.FromTokens(Enumerable.Repeat(9, 5000).ToArray()), new GenerationOptions { MaxNewTokens = 4 }) { Id = "big" };
        var e = await Assert.ThrowsAsync<GenerationException>(() => remote.GenerateAllAsync([tooLong]));
        Assert.Equal(400, e.StatusCode);
        Assert.Contains("big", e.Message);
        Assert.Contains("maximum context length", e.Message);
        Assert.Equal(1, remote.Attempts);
    }
}
