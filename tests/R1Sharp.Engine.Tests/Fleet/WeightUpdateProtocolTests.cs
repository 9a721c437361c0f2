using System.Text.Json.Nodes;
using R1Sharp.Engine.Fleet;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Engine.Tests.Fleet;

/// <summary>
/// The fleet's weight updates against recording fake SGLang and vLLM servers: the exact calls, in order, with their bodies
/// (as the engines' HTTP servers define them: docs/distributed.md); a server that answers 500, refuses, or does not answer
/// in time is taken out of rotation and named; the update fails with a clear error when none is left; a server out of
/// rotation rejoins when a later update succeeds.
/// </summary>
public class WeightUpdateProtocolTests
{
    // A generous timeout (a first request to a fresh server can take a second or more while other test projects run); the
    // timeout test sets its own.
    static RolloutFleet Fleet(FleetEngine engine, List<string> log, params RecordingServer[] servers) => Fleet(engine, log, TimeSpan.FromSeconds(10), servers);

    static RolloutFleet Fleet(FleetEngine engine, List<string> log, TimeSpan updateTimeout, params RecordingServer[] servers) => new(new FleetOptions
    {
        Endpoints = [.. servers.Select(s => s.Root)], Engine = engine, Model = "m", UpdateTimeout = updateTimeout,
        ConnectTimeout = TimeSpan.FromSeconds(10), InitialBackoff = TimeSpan.FromMilliseconds(10), Log = l => { lock (log) log.Add(l); },
    });

    static string Render(IEnumerable<(string Method, string Path, JsonNode? Body)> calls) =>
        string.Join("\n", calls.Select(c => $"{c.Method} {c.Path} {c.Body?.ToJsonString() ?? "-"}"));

    [Fact]
    public async Task Sglang_pauses_loads_from_disk_with_the_version_then_continues()
    {
        using var server = new RecordingServer();
        var log = new List<string>();
        using var fleet = Fleet(FleetEngine.Sglang, log, server);
        var update = await fleet.UpdateAsync("/weights/step-3", "step-3");
        Assert.Equal(1, update.Updated);
        Assert.Equal(
            "POST /pause_generation {\"mode\":\"abort\"}\n" +
            "POST /update_weights_from_disk {\"model_path\":\"/weights/step-3\",\"weight_version\":\"step-3\"}\n" +
            "POST /continue_generation {}",
            Render(server.Calls));
        Assert.Equal("step-3", fleet.Servers[0].Version);
        Assert.Empty(log);
    }

    [Fact]
    public async Task Vllm_runs_the_weight_transfer_protocol_with_the_disk_backend()
    {
        using var server = new RecordingServer();
        using var fleet = Fleet(FleetEngine.Vllm, [], server);
        await fleet.UpdateAsync("/weights/step-7", "step-7");
        Assert.Equal(
            "POST /pause?mode=abort -\n" +
            "POST /start_weight_update -\n" +
            "POST /update_weights {\"update_info\":{\"path\":\"/weights/step-7\"}}\n" +
            "POST /finish_weight_update {\"weight_version\":\"step-7\"}\n" +
            "POST /resume -",
            Render(server.Calls));
    }

    [Fact]
    public async Task R1sharp_speaks_sglangs_protocol_and_checks_the_version_it_serves()
    {
        string served = "step-1";
        using var server = new RecordingServer((method, path, body) => path == "/weight_version"
            ? Task.FromResult<(int, JsonNode?)>((200, new JsonObject { ["weight_version"] = served }))
            : RecordingServer.Defaults(method, path, body));
        var log = new List<string>();
        using var fleet = Fleet(FleetEngine.R1sharp, log, server);
        await fleet.UpdateAsync("/w/step-1", "step-1");
        Assert.Equal(["/pause_generation", "/update_weights_from_disk", "/continue_generation", "/weight_version"], server.Calls.Select(c => c.Path));

        // A server that says it loaded the weights but serves others is caught.
        var e = await Assert.ThrowsAsync<FleetUnavailableException>(() => fleet.UpdateAsync("/w/step-2", "step-2"));
        Assert.Contains("serves 'step-1' after loading 'step-2'", e.Message);
        Assert.Contains(server.Root.ToString().TrimEnd('/'), e.Message);
    }

    [Fact]
    public async Task A_server_that_answers_500_is_taken_out_and_named_the_other_goes_on()
    {
        using var good = new RecordingServer();
        using var bad = new RecordingServer((method, path, body) => path == "/update_weights_from_disk"
            ? Task.FromResult<(int, JsonNode?)>((500, new JsonObject { ["detail"] = "CUDA out of memory" }))
            : RecordingServer.Defaults(method, path, body));
        var log = new List<string>();
        using var fleet = Fleet(FleetEngine.Sglang, log, good, bad);
        var update = await fleet.UpdateAsync("/w/step-1", "step-1");
        Assert.Equal(1, update.Updated);
        var failed = update.Servers.Single(s => !s.Ok);
        Assert.Same(fleet.Servers[1], failed.Server);
        Assert.False(fleet.Servers[1].InRotation);
        Assert.True(fleet.Servers[0].InRotation);
        Assert.Contains("HTTP 500", failed.Error);
        Assert.Contains("CUDA out of memory", failed.Error);
        string line = Assert.Single(log);
        Assert.Contains($"rollout server {bad.Root.ToString().TrimEnd('/')} taken out of rotation", line);
        Assert.Contains("update_weights_from_disk", line);
        // Left paused: it cannot serve the old weights to anyone.
        Assert.DoesNotContain(bad.Calls, c => c.Path == "/continue_generation");
    }

    [Fact]
    public async Task Sglang_reporting_success_false_is_a_failed_update()
    {
        using var server = new RecordingServer((method, path, body) => path == "/update_weights_from_disk"
            ? Task.FromResult<(int, JsonNode?)>((400, new JsonObject { ["success"] = false, ["message"] = "Failed to load weights: shape mismatch", ["num_paused_requests"] = 0 }))
            : RecordingServer.Defaults(method, path, body));
        using var fleet = Fleet(FleetEngine.Sglang, [], server);
        var e = await Assert.ThrowsAsync<FleetUnavailableException>(() => fleet.UpdateAsync("/w/step-1", "step-1"));
        Assert.Contains("shape mismatch", e.Message);
        Assert.Contains("no rollout server is left", e.Message);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_in_time_is_taken_out_with_the_timeout_named()
    {
        using var good = new RecordingServer();
        using var slow = new RecordingServer(async (method, path, body) =>
        {
            if (path.StartsWith("/start_weight_update", StringComparison.Ordinal)) await Task.Delay(TimeSpan.FromSeconds(30));
            return await RecordingServer.Defaults(method, path, body);
        });
        var log = new List<string>();
        using var fleet = Fleet(FleetEngine.Vllm, log, TimeSpan.FromMilliseconds(3500), good, slow);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var update = await fleet.UpdateAsync("/w/step-2", "step-2");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the update waited {clock.Elapsed} for a server past its timeout");
        var failed = update.Servers.Single(s => !s.Ok);
        Assert.Same(fleet.Servers[1], failed.Server);
        Assert.Contains("start_weight_update: no answer within 3.5 s", failed.Error);
        Assert.Contains(log, l => l.Contains(slow.Root.ToString().TrimEnd('/')) && l.Contains("taken out of rotation"));
    }

    [Fact]
    public async Task When_no_server_is_left_the_update_fails_naming_every_server()
    {
        using var a = new RecordingServer((m, p, b) => Task.FromResult<(int, JsonNode?)>((500, new JsonObject { ["error"] = "boom" })));
        using var b = new RecordingServer();
        b.Stop(); // refuses connections
        using var fleet = Fleet(FleetEngine.Sglang, [], a, b);
        var e = await Assert.ThrowsAsync<FleetUnavailableException>(() => fleet.UpdateAsync("/w/step-1", "step-1"));
        Assert.Contains(a.Root.ToString().TrimEnd('/'), e.Message);
        Assert.Contains(b.Root.ToString().TrimEnd('/'), e.Message);
        Assert.Contains("boom", e.Message);
        // Generation has nowhere to go either, and says so.
        var request = new GenerationRequest(GenerationPrompt.FromTokens([1, 2, 3]), new GenerationOptions { MaxNewTokens = 2 });
        var g = await Assert.ThrowsAsync<FleetUnavailableException>(() => fleet.GenerateAllAsync([request]));
        Assert.Contains("no rollout server is left in rotation", g.Message);
    }

    [Fact]
    public async Task A_dead_server_stays_out_until_it_answers_again_then_rejoins_at_the_next_update()
    {
        using var a = new RecordingServer();
        using var b = new RecordingServer();
        var log = new List<string>();
        using var fleet = Fleet(FleetEngine.Sglang, log, a, b);
        await fleet.UpdateAsync("/w/step-1", "step-1");
        b.Stop();
        await fleet.UpdateAsync("/w/step-2", "step-2");
        Assert.False(fleet.Servers[1].InRotation);
        Assert.Equal("step-1", fleet.Servers[1].Version);

        // Still dead: only the health check is tried (no update calls, no update timeout spent).
        b.ClearCalls();
        var update = await fleet.UpdateAsync("/w/step-3", "step-3");
        Assert.StartsWith("still out of rotation", update.Servers[1].Error);

        b.Start();
        b.ClearCalls();
        update = await fleet.UpdateAsync("/w/step-4", "step-4");
        Assert.True(update.Servers[1].Rejoined);
        Assert.True(fleet.Servers[1].InRotation);
        Assert.Equal("step-4", fleet.Servers[1].Version);
        Assert.Equal(["/v1/models", "/pause_generation", "/update_weights_from_disk", "/continue_generation"], b.Calls.Select(c => c.Path));
        Assert.Contains(log, l => l.Contains("back in rotation"));
    }

    [Fact]
    public async Task An_sglang_server_left_paused_by_a_failed_load_rejoins_at_the_next_update()
    {
        // SGLang's GET /health (and /health_generate) generates one token (SGLANG_ENABLE_HEALTH_ENDPOINT_GENERATION, on by
        // default), and a generation waits while the server is paused: a paused server's /health never answers 200 (SGLang
        // gives up after 20 s with a 503). The fleet leaves a server whose load failed paused, so its check before the next
        // update must not generate.
        bool paused = false, loadFails = true;
        using var server = new RecordingServer(async (method, path, body) =>
        {
            switch (path)
            {
                case "/pause_generation": paused = true; break;
                case "/continue_generation": paused = false; break;
                case "/health" when paused:
                    await Task.Delay(TimeSpan.FromSeconds(20));
                    return (503, null);
                case "/update_weights_from_disk" when loadFails:
                    loadFails = false;
                    return (400, new JsonObject { ["success"] = false, ["message"] = "Failed to load weights: disk full", ["num_paused_requests"] = 0 });
            }
            return await RecordingServer.Defaults(method, path, body);
        });
        using var other = new RecordingServer();
        var log = new List<string>();
        using var fleet = new RolloutFleet(new FleetOptions
        {
            Endpoints = [server.Root, other.Root], Engine = FleetEngine.Sglang, Model = "m", UpdateTimeout = TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(2), Log = l => { lock (log) log.Add(l); },
        });
        var first = await fleet.UpdateAsync("/w/step-1", "step-1");
        Assert.False(first.Servers[0].Ok);
        Assert.True(paused, "a server whose load failed stays paused");

        server.ClearCalls();
        var second = await fleet.UpdateAsync("/w/step-2", "step-2");
        Assert.True(second.Servers[0].Ok, second.Servers[0].Error);
        Assert.True(second.Servers[0].Rejoined);
        Assert.Equal("step-2", fleet.Servers[0].Version);
        Assert.Equal(["/v1/models", "/pause_generation", "/update_weights_from_disk", "/continue_generation"], server.Calls.Select(c => c.Path));
    }

    [Fact]
    public async Task Sglang_rollouts_go_as_token_ids_and_come_back_with_log_probabilities_and_versions()
    {
        using var server = new RecordingServer((method, path, body) =>
        {
            if (path != "/generate") return RecordingServer.Defaults(method, path, body);
            var outputs = new JsonArray();
            int k = 0;
            foreach (var input in body!["input_ids"]!.AsArray())
            {
                int last = input!.AsArray().Last()!.GetValue<int>();
                outputs.Add(new JsonObject
                {
                    ["text"] = "x", ["output_ids"] = new JsonArray(last + 1, 2),
                    ["meta_info"] = new JsonObject
                    {
                        ["finish_reason"] = new JsonObject { ["type"] = k++ == 0 ? "stop" : "length" },
                        ["output_token_logprobs"] = new JsonArray(new JsonArray(-0.25, last + 1, null), new JsonArray(-1.5, 2, null)),
                        ["weight_version"] = "step-5",
                    },
                });
            }
            return Task.FromResult<(int, JsonNode?)>((200, outputs));
        });
        using var fleet = Fleet(FleetEngine.Sglang, [], server);
        var options = new GenerationOptions { MaxNewTokens = 2, Temperature = 0.9, TopP = 0.95, StopTokenIds = [2] };
        var result = (await fleet.GenerateAllAsync([new GenerationRequest(GenerationPrompt.FromTokens([5, 6, 7]), options, N: 3)]))[0];
        var call = Assert.Single(server.Calls);
        Assert.Equal("/generate", call.Path);
        Assert.Equal("""{"input_ids":[[5,6,7],[5,6,7],[5,6,7]],"sampling_params":{"max_new_tokens":2,"temperature":0.9,"top_p":0.95,"stop_token_ids":[2]},"return_logprob":true}""",
            call.Body!.ToJsonString());
        Assert.Equal(3, result.Samples.Count);
        Assert.All(result.Samples, s =>
        {
            Assert.Equal([8, 2], s.TokenIds);
            Assert.Equal([-0.25f, -1.5f], s.LogProbs);
            Assert.Equal("step-5", s.WeightVersion);
        });
        Assert.Equal([FinishReason.Stop, FinishReason.Length, FinishReason.Length], result.Samples.Select(s => s.FinishReason));
    }

    [Fact]
    public async Task Aborted_rollouts_are_sent_again_and_a_refused_request_fails_with_the_servers_message()
    {
        int calls = 0;
        using var server = new RecordingServer((method, path, body) =>
        {
            if (path != "/generate") return RecordingServer.Defaults(method, path, body);
            bool abort = Interlocked.Increment(ref calls) == 1;
            return Task.FromResult<(int, JsonNode?)>((200, new JsonArray(new JsonObject
            {
                ["output_ids"] = new JsonArray(3),
                ["meta_info"] = new JsonObject
                {
                    ["finish_reason"] = new JsonObject { ["type"] = abort ? "abort" : "stop" },
                    ["output_token_logprobs"] = new JsonArray(new JsonArray(-0.5, 3, null)), ["weight_version"] = "step-0",
                },
            })));
        });
        using var fleet = Fleet(FleetEngine.Sglang, [], server);
        var request = new GenerationRequest(GenerationPrompt.FromTokens([1]), new GenerationOptions { MaxNewTokens = 1 });
        var result = (await fleet.GenerateAllAsync([request]))[0];
        Assert.Equal(2, calls);
        Assert.Equal([3], result.Samples[0].TokenIds);

        server.Answer = (m, p, b) => Task.FromResult<(int, JsonNode?)>((400, new JsonObject { ["error"] = new JsonObject { ["message"] = "input_ids too long" } }));
        var e = await Assert.ThrowsAsync<GenerationException>(() => fleet.GenerateAllAsync([request]));
        Assert.Contains("input_ids too long", e.Message);
        Assert.True(fleet.Servers[0].InRotation, "a request's own fault does not take the server out");
    }
}
