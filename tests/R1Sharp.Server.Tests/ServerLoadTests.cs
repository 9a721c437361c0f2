using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Server.Tests;

/// <summary>Concurrent requests share batches; a full queue answers 429 and the server keeps serving.</summary>
public sealed class ServerBatchingTests(ServerBatchingTests.Fixture f) : IClassFixture<ServerBatchingTests.Fixture>
{
    public sealed class Fixture : ServerFixture
    {
        protected override ServerOptions Options => new() { Port = 0, ServedModelName = "tiny", BatchWindow = TimeSpan.FromMilliseconds(200) };
    }

    [Fact]
    public async Task ConcurrentRequests_AreDecodedInOneBatch_AndGiveWhatEachGivesAlone()
    {
        string[] prompts = ["Janet", "A robe takes 2 bolts", "Josh decides to try flipping a house.", "James", "Carla is downloading", "x", "Toulouse has twice", "Kylar"];
        var before = f.Server.Stats;
        var responses = await Task.WhenAll(prompts.Select(p => f.Post("v1/completions", new JsonObject
        {
            ["model"] = "tiny", ["prompt"] = p, ["max_tokens"] = 12 + p.Length % 5, ["temperature"] = 0,
        })));
        var after = f.Server.Stats;
        Assert.True(after.LargestBatch > 1, $"largest batch {after.LargestBatch}");
        Assert.True(after.Batches - before.Batches < prompts.Length, $"{after.Batches - before.Batches} batches for {prompts.Length} requests");

        using var local = new LocalGenerationBackend(f.Model);
        for (int i = 0; i < prompts.Length; i++)
        {
            var alone = local.GenerateAll([new GenerationRequest(GenerationPrompt.FromText(prompts[i]),
                new GenerationOptions { MaxNewTokens = 12 + prompts[i].Length % 5, Temperature = 0 })])[0].Samples[0];
            Assert.Equal(HttpStatusCode.OK, responses[i].Status);
            Assert.Equal(alone.Text, (string)responses[i].Body["choices"]![0]!["text"]!);
        }
    }
}

public sealed class ServerQueueTests(ServerQueueTests.Fixture f) : IClassFixture<ServerQueueTests.Fixture>
{
    public sealed class Fixture : ServerFixture
    {
        protected override ServerOptions Options => new() { Port = 0, ServedModelName = "tiny", MaxQueuedRequests = 1, MaxBatchRows = 1, BatchWindow = TimeSpan.Zero };
    }

    [Fact]
    public async Task FullQueue_Answers429WithRetryAfter_ThenServesAgain()
    {
        // The long request is 32 samples of 4,000 tokens each, decoded one after another (one batch row): VectorDecoder
        // decodes one sample of the tiny model in well under the time the queued request takes to arrive. Should it still
        // end first (a loaded machine), the queue was never full, and the scenario starts over (at most three times).
        for (int attempt = 1; ; attempt++)
        {
            // 1. A long streamed request occupies the only batch row; a reader drains it in the background.
            using var cts = new CancellationTokenSource();
            var longBody = new JsonObject { ["model"] = "tiny", ["prompt"] = "Long", ["max_tokens"] = 4000, ["n"] = 32, ["min_p"] = 0, ["stream"] = true, ["stop_token_ids"] = new JsonArray() };
            using var longRequest = new HttpRequestMessage(HttpMethod.Post, f.Url("v1/completions")) { Content = new StringContent(longBody.ToJsonString(), Encoding.UTF8, "application/json") };
            using var longResponse = await f.Http.SendAsync(longRequest, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var reader = new StreamReader(await longResponse.Content.ReadAsStreamAsync(cts.Token));
            Assert.StartsWith("data: ", await reader.ReadLineAsync(cts.Token)); // it is being decoded
            var longEnded = Task.Run(async () =>
            {
                try { while (await reader.ReadLineAsync(cts.Token) is { } line && line != "data: [DONE]") { } }
                catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException) { }
            });

            // 2. One request waits in the queue (its size is 1); 3. the next is refused.
            var queued = f.Post("v1/completions", """{"model": "tiny", "prompt": "Queued", "max_tokens": 2}""");
            await WaitFor(() => f.Server.Stats.Waiting == 1 || longEnded.IsCompleted);
            if (f.Server.Stats.Waiting != 1)
            {
                Assert.True(attempt < 3, "the long request ended before the queued one arrived, three times");
                await queued.WaitAsync(TimeSpan.FromSeconds(30));
                continue;
            }
            using var refused = await f.Http.PostAsync(f.Url("v1/completions"), new StringContent("""{"model": "tiny", "prompt": "Refused", "max_tokens": 2}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
            var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("rate_limit_error", (string)error["type"]!);
            Assert.Equal("queue_full", (string)error["code"]!);
            Assert.True(f.Server.Stats.Rejected >= 1);

            // 4. The client of the long request leaves: its row ends, the queued request runs.
            cts.Cancel();
            await longEnded;
            longResponse.Dispose();
            var (status, _) = await queued.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(HttpStatusCode.OK, status);
            var (again, _) = await f.Post("v1/completions", """{"model": "tiny", "prompt": "Again", "max_tokens": 2}""");
            Assert.Equal(HttpStatusCode.OK, again);
            return;
        }
    }

    [Fact]
    public async Task MorePromptsThanTheQueueTakes_Is400_Not429Forever()
    {
        // Two prompts can never be queued at once when the queue holds one: retrying would not help.
        var (status, body) = await f.Post("v1/completions", """{"model": "tiny", "prompt": ["a", "b"], "max_tokens": 2}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("prompt", (string)body["error"]!["param"]!);
        Assert.Contains("queues at most 1", (string)body["error"]!["message"]!);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        // Up to 30 s: on a loaded machine a request can take seconds to reach the queue.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(10);
        Assert.True(condition());
    }
}
