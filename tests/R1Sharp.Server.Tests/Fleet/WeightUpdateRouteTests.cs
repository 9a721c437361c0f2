using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using R1Sharp.Engine.Fleet;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Tests;

namespace R1Sharp.Server.Tests.Fleet;

/// <summary>
/// <c>r1sharp serve --enable-weight-updates</c> over loopback HTTP: SGLang's and vLLM's weight-update routes with their
/// bodies and replies, the served weights after an update (bit for bit those of the checkpoint), refusals that leave the
/// weights as they were, pauses, SGLang's native <c>/generate</c>, and the fleet client of every engine against it.
/// </summary>
public sealed class WeightUpdateRouteTests : IAsyncLifetime
{
    readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-weights-").FullName;
    readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(120) };
    LocalModel _model = null!;
    OpenAiServer _server = null!;
    string _other = null!;

    public async Task InitializeAsync()
    {
        _other = Checkpoints.Perturbed(Path.Combine(_dir, "other"), seed: 7);
        _model = LocalModel.Load(TinyModel.Directory);
        _server = await OpenAiServer.StartAsync(_model, new ServerOptions { Port = 0, ServedModelName = "tiny", EnableWeightUpdates = true });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _model.Dispose();
        _http.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    async Task<(HttpStatusCode Status, JsonNode? Body)> Send(HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(_server.BaseAddress, path.TrimStart('/')));
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    Task<(HttpStatusCode, JsonNode?)> Post(string path, JsonNode? body = null) => Send(HttpMethod.Post, path, body?.ToJsonString());

    [Fact]
    public async Task Sglang_update_from_disk_serves_the_checkpoint_bit_for_bit_under_the_new_version()
    {
        var (status, reply) = await Post("/update_weights_from_disk", new JsonObject { ["model_path"] = _other, ["weight_version"] = "step-1" });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(JsonNode.DeepEquals(new JsonObject
        {
            ["success"] = true, ["message"] = "Succeeded to update model weights. Weight version updated to step-1.", ["num_paused_requests"] = 0,
        }, reply), reply!.ToJsonString());
        using (var want = Checkpoint.Load(_other)) Assert.True(Checkpoints.SameWeights(want, _model.Model));
        foreach (var route in new[] { "/get_weight_version", "/weight_info", "/weight_version" })
            Assert.Equal("step-1", (string?)(await Send(HttpMethod.Get, route)).Body!["weight_version"]);

        // What is generated now comes from those weights, and says so.
        var (_, completion) = await Post("/v1/completions", JsonNode.Parse("""{"model": "tiny", "prompt": [1, 5, 9], "max_tokens": 6, "temperature": 0, "logprobs": 0, "return_token_ids": true}"""));
        Assert.Equal("step-1", (string?)completion!["weight_version"]);
        var tokens = completion["choices"]![0]!["token_ids"]!.AsArray().Select(t => (int)t!).ToArray();
        var logprobs = completion["choices"]![0]!["logprobs"]!["token_logprobs"]!.AsArray().Select(t => (float)t!).ToArray();
        using (var want = Checkpoint.Load(_other))
        {
            var reference = Checkpoints.LogProbs(want, [1, 5, 9], tokens);
            for (int i = 0; i < tokens.Length; i++) Assert.True(Math.Abs(reference[i] - logprobs[i]) < 1e-5, $"token {i}: {reference[i]} vs {logprobs[i]}");
        }
        var (_, native) = await Post("/generate", JsonNode.Parse("""{"input_ids": [1, 5, 9], "sampling_params": {"max_new_tokens": 6, "temperature": 0}, "return_logprob": true}"""));
        Assert.Equal("step-1", (string?)native!["meta_info"]!["weight_version"]);
        Assert.Equal(tokens, native["output_ids"]!.AsArray().Select(t => (int)t!));
        Assert.Equal(logprobs, native["meta_info"]!["output_token_logprobs"]!.AsArray().Select(e => (float)e![0]!));
        Assert.Equal(tokens, native["meta_info"]!["output_token_logprobs"]!.AsArray().Select(e => (int)e![1]!));
    }

    [Fact]
    public async Task A_folder_that_is_not_this_model_is_refused_with_success_false_and_the_weights_stay()
    {
        using var before = Checkpoint.Load(TinyModel.Directory);
        string otherRope = Checkpoints.WithConfig(_other, Path.Combine(_dir, "rope"), "rope_theta", 1234.0);
        string otherShape = Checkpoints.WithConfig(_other, Path.Combine(_dir, "layers"), "num_hidden_layers", 3);
        foreach (var (path, says) in new[]
                 {
                     (Path.Combine(_dir, "missing"), "no such checkpoint folder"), (otherRope, "describes another model"),
                     (otherShape, "cannot load the weights"),
                 })
        {
            var (status, reply) = await Post("/update_weights_from_disk", new JsonObject { ["model_path"] = path, ["weight_version"] = "bad" });
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.False((bool)reply!["success"]!);
            Assert.Contains(says, (string)reply["message"]!);
            Assert.True(Checkpoints.SameWeights(before, _model.Model), path);
            Assert.Equal("default", _server.WeightVersion);
        }
        var (s, r) = await Post("/update_weights_from_disk", new JsonObject { ["model_path"] = _other, ["load_format"] = "gguf" });
        Assert.Equal(HttpStatusCode.BadRequest, s);
        Assert.Contains("load_format 'gguf'", (string)r!["message"]!);
        (s, r) = await Post("/update_weights_from_disk", new JsonObject { ["weight_version"] = "x" });
        Assert.Equal("model_path is required", (string)r!["message"]!);
        (s, r) = await Post("/update_weights_from_disk", new JsonObject { ["model_path"] = 5 });
        Assert.Equal(HttpStatusCode.BadRequest, s);
        Assert.Equal("model_path", (string)r!["error"]!["param"]!);
    }

    [Fact]
    public async Task Vllm_weight_transfer_routes_with_the_disk_backend()
    {
        Assert.Equal("paused", (string?)(await Post("/pause?mode=keep")).Item2!["status"]);
        Assert.True((bool)(await Send(HttpMethod.Get, "/is_paused")).Body!["is_paused"]!);
        Assert.Equal("Weight transfer initialized", (string?)(await Post("/init_weight_transfer_engine", new JsonObject { ["init_info"] = new JsonObject() })).Item2!["message"]);

        // Out of order: the session's rules, with FastAPI's error shape.
        var (status, reply) = await Post("/update_weights", new JsonObject { ["update_info"] = new JsonObject { ["path"] = _other } });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("start_weight_update must be called before loading a checkpoint", (string?)reply!["detail"]);
        Assert.Equal("Weight update started", (string?)(await Post("/start_weight_update")).Item2!["message"]);
        Assert.Equal(HttpStatusCode.Conflict, (await Post("/start_weight_update")).Item1);
        (status, reply) = await Post("/update_weights", new JsonObject { ["update_info"] = new JsonObject { ["path"] = "relative/dir" } });
        Assert.Equal((HttpStatusCode.BadRequest, "`path` must be a non-empty absolute local directory"), (status, (string?)reply!["detail"]));
        (status, reply) = await Post("/update_weights", new JsonObject());
        Assert.Equal((HttpStatusCode.BadRequest, "Missing 'update_info' in request body"), (status, (string?)reply!["detail"]));

        Assert.Equal("Weights updated", (string?)(await Post("/update_weights", new JsonObject { ["update_info"] = new JsonObject { ["path"] = _other } })).Item2!["message"]);
        Assert.Equal("Weight update finished", (string?)(await Post("/finish_weight_update", new JsonObject { ["weight_version"] = "step-9" })).Item2!["message"]);
        Assert.Equal("resumed", (string?)(await Post("/resume")).Item2!["status"]);
        Assert.False((bool)(await Send(HttpMethod.Get, "/is_paused")).Body!["is_paused"]!);
        Assert.Equal("step-9", (string?)(await Send(HttpMethod.Get, "/weight_info")).Body!["weight_version"]);
        using var want = Checkpoint.Load(_other);
        Assert.True(Checkpoints.SameWeights(want, _model.Model));
        Assert.Equal(HttpStatusCode.Conflict, (await Post("/finish_weight_update", new JsonObject { ["weight_version"] = "x" })).Item1);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post("/pause?mode=sometimes")).Item1);
    }

    [Fact]
    public async Task A_pause_in_abort_mode_ends_the_running_batch_and_requests_wait_until_generation_continues()
    {
        // 64 samples of up to 4000 tokens at T = 1 on random weights: end of sequence (p ≈ 1/320 a token) usually ends the
        // batch only after a thousand steps or more, so it is still decoding when the pause comes. Decoding is fast enough
        // that the batch now and then ends within the 500 ms: then the request is sent again, up to five times.
        Task<(HttpStatusCode, JsonNode?)> Long() => Post("/v1/completions", JsonNode.Parse("""{"model": "tiny", "prompt": [1, 5], "max_tokens": 4000, "n": 64, "temperature": 1.0}"""));
        var running = Long();
        for (int attempt = 1; ; attempt++)
        {
            await Task.Delay(500);
            if (!running.IsCompleted) break;
            Assert.True(attempt < 5, "the long batch ended before the pause five times");
            running = Long();
        }
        var (status, reply) = await Post("/pause_generation", new JsonObject { ["mode"] = "abort" });
        Assert.Equal((HttpStatusCode.OK, "ok"), (status, (string?)reply!["status"]));
        var (abortedStatus, aborted) = await running;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, abortedStatus);
        Assert.Equal("aborted", (string?)aborted!["error"]!["code"]);

        // Sent while paused: waits, then runs on the weights loaded meanwhile.
        var waiting = Post("/v1/completions", JsonNode.Parse("""{"model": "tiny", "prompt": [1, 5], "max_tokens": 3, "temperature": 0}"""));
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);
        Assert.True((await Post("/update_weights_from_disk", new JsonObject { ["model_path"] = _other, ["weight_version"] = "step-2" })).Item1 == HttpStatusCode.OK);
        Assert.False(waiting.IsCompleted);
        await Post("/continue_generation");
        var (okStatus, done) = await waiting;
        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Equal("step-2", (string?)done!["weight_version"]);
    }

    [Theory]
    [InlineData("/update_weights_from_disk")]
    [InlineData("/pause_generation")]
    [InlineData("/update_weights")]
    [InlineData("/v1/load_lora_adapter")]
    public async Task Bodies_of_the_weight_routes_are_read_as_strictly_as_those_of_completions(string path)
    {
        // Malformed chunked framing, bytes that are not UTF-8, a body over the size limit: 400 / 413 in the API's error shape,
        // as on /v1/completions, never a 500; and the weights served stay those of before.
        var cases = new (byte[] Request, int Status, string Code)[]
        {
            (RawHttp.Request("POST", path, ["Content-Type: application/json", "Transfer-Encoding: chunked"], "zz\r\n{}\r\n0\r\n\r\n"u8.ToArray()), 400, "malformed_body"),
            (RawHttp.Post(path, [.. "{\"model_path\": \"/tmp/"u8, 0xFF, .. "\"}"u8]), 400, "invalid_encoding"),
            (RawHttp.Request("POST", path, ["Content-Type: application/json", "Content-Length: 9000000"], []), 413, "body_too_large"),
            (RawHttp.Post(path, "{\"model_path\": 1, \"model_path\": 2}"u8.ToArray()), 400, "duplicate_key"),
        };
        foreach (var (request, status, code) in cases)
        {
            var response = await RawHttp.SendAsync(_server.BaseAddress, request);
            Assert.True(response.Status == status, $"expected {status} ({code}), got {response.Status}: {response.Body}");
            Assert.Equal(code, (string?)response.Json["error"]?["code"]);
        }
        Assert.Equal("default", (string?)(await Send(HttpMethod.Get, "/get_weight_version")).Body!["weight_version"]);
        var (ok, _) = await Post("/generate", new JsonObject { ["input_ids"] = new JsonArray(1, 2), ["sampling_params"] = new JsonObject { ["max_new_tokens"] = 1 } });
        Assert.Equal(HttpStatusCode.OK, ok);
    }

    [Fact]
    public async Task Without_the_flag_the_weight_routes_do_not_exist()
    {
        using var model = LocalModel.Load(TinyModel.Directory);
        await using var plain = await OpenAiServer.StartAsync(model, new ServerOptions { Port = 0, ServedModelName = "tiny" });
        using var response = await _http.PostAsync(new Uri(plain.BaseAddress, "update_weights_from_disk"),
            new StringContent(new JsonObject { ["model_path"] = _other }.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var completion = await _http.PostAsync(new Uri(plain.BaseAddress, "v1/completions"),
            new StringContent("""{"model": "tiny", "prompt": [1], "max_tokens": 1}""", Encoding.UTF8, "application/json"));
        Assert.Null(JsonNode.Parse(await completion.Content.ReadAsStringAsync())!["weight_version"]);
    }

    [Theory]
    [InlineData(FleetEngine.Sglang)]
    [InlineData(FleetEngine.Vllm)]
    [InlineData(FleetEngine.R1sharp)]
    public async Task The_fleet_client_of_every_engine_updates_and_samples_a_real_server(FleetEngine engine)
    {
        using var second = LocalModel.Load(TinyModel.Directory);
        await using var server2 = await OpenAiServer.StartAsync(second, new ServerOptions { Port = 0, ServedModelName = "tiny", EnableWeightUpdates = true });
        var log = new List<string>();
        using var fleet = new RolloutFleet(new FleetOptions { Endpoints = [_server.BaseAddress, new Uri(server2.BaseAddress, "v1")], Engine = engine, Log = log.Add });
        var update = await fleet.UpdateAsync(_other, "step-4");
        Assert.Equal(2, update.Updated);
        using var want = Checkpoint.Load(_other);
        Assert.True(Checkpoints.SameWeights(want, _model.Model));
        Assert.True(Checkpoints.SameWeights(want, second.Model));

        int[] prompt = [1, 7, 11, 13];
        var greedy = new GenerationOptions { MaxNewTokens = 8, Temperature = 0, StopTokenIds = [2] };
        var results = await fleet.GenerateAllAsync([.. Enumerable.Range(0, 4).Select(_ => new GenerationRequest(GenerationPrompt.FromTokens(prompt), greedy, N: 2))]);
        Assert.All(results.SelectMany(r => r.Samples), s =>
        {
            Assert.Equal("step-4", s.WeightVersion);
            var reference = Checkpoints.LogProbs(want, prompt, s.TokenIds!);
            for (int i = 0; i < reference.Length; i++) Assert.True(Math.Abs(reference[i] - s.LogProbs![i]) < 1e-5, $"{engine} token {i}");
        });
        // Sampling at a temperature: the log-probabilities are of the tempered distribution.
        var tempered = (await fleet.GenerateAllAsync([new GenerationRequest(GenerationPrompt.FromTokens(prompt), greedy with { Temperature = 0.7, Seed = 3 }, N: 3)]))[0];
        Assert.All(tempered.Samples, s =>
        {
            var reference = Checkpoints.LogProbs(want, prompt, s.TokenIds!, 0.7);
            for (int i = 0; i < reference.Length; i++) Assert.True(Math.Abs(reference[i] - s.LogProbs![i]) < 1e-5, $"{engine} tempered token {i}");
        });
        Assert.Empty(log);
    }
}
