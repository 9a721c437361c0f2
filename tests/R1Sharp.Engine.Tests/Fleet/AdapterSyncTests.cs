using System.Text.Json.Nodes;
using R1Sharp.Engine.Fleet;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Engine.Tests.Fleet;

/// <summary>
/// Adapter-only weight sync against a recording fake vLLM (its runtime LoRA routes as <c>vllm/entrypoints/openai/serving_models.py</c>
/// and its API router define them: <c>POST /v1/load_lora_adapter {"lora_name", "lora_path"}</c> answers 200 with a plain
/// "Success: …" text, 400 <c>{"error": {"message"}}</c> when the name is loaded already; <c>POST /v1/unload_lora_adapter
/// {"lora_name"}</c> answers 404 for a name it does not hold): the calls in order with their bodies, rollouts asked for with
/// <c>model</c> = the adapter's name and tagged with it, and what happens when vLLM refuses.
/// </summary>
public class AdapterSyncTests
{
    static RolloutFleet Fleet(List<string> log, params RecordingServer[] servers) => new(new FleetOptions
    {
        Endpoints = [.. servers.Select(s => s.Root)], Engine = FleetEngine.Vllm, Sync = FleetWeightSync.Adapter, Model = "base",
        UpdateTimeout = TimeSpan.FromSeconds(10), ConnectTimeout = TimeSpan.FromSeconds(10), InitialBackoff = TimeSpan.FromMilliseconds(10),
        Log = l => { lock (log) log.Add(l); },
    });

    static string Render(IEnumerable<(string Method, string Path, JsonNode? Body)> calls) =>
        string.Join("\n", calls.Select(c => $"{c.Method} {c.Path} {c.Body?.ToJsonString() ?? "-"}"));

    /// <summary>A fake vLLM holding the adapters it was told to load, refusing what vLLM refuses, and answering completions for
    /// the base or a loaded adapter (a 404 for any other model, as vLLM's model check does).</summary>
    sealed class FakeVllm
    {
        public readonly HashSet<string> Loaded = [];
        public Func<JsonNode, Task<(int, JsonNode?)>>? OnCompletion;

        public async Task<(int, JsonNode?)> Answer(string method, string path, JsonNode? body)
        {
            string name = body?["lora_name"]?.GetValue<string>() ?? "";
            switch (path)
            {
                case "/v1/load_lora_adapter":
                    lock (Loaded)
                        if (!Loaded.Add(name))
                            return (400, Error($"The lora adapter '{name}' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.", "InvalidUserInput", 400));
                    return (200, JsonValue.Create($"Success: LoRA adapter '{name}' added successfully."));
                case "/v1/unload_lora_adapter":
                    lock (Loaded)
                        if (!Loaded.Remove(name))
                            return (404, Error($"The lora adapter '{name}' cannot be found.", "NotFoundError", 404));
                    return (200, JsonValue.Create($"Success: LoRA adapter '{name}' removed successfully."));
                case "/v1/completions":
                    if (OnCompletion is not null) return await OnCompletion(body!);
                    return Completion(body!, this);
                default:
                    return await RecordingServer.Defaults(method, path, body);
            }
        }

        public static (int, JsonNode?) Completion(JsonNode body, FakeVllm server)
        {
            string model = body["model"]!.GetValue<string>();
            bool known;
            lock (server.Loaded) known = model == "base" || server.Loaded.Contains(model);
            if (!known) return (404, Error($"The model `{model}` does not exist.", "NotFoundError", 404));
            int n = body["n"]?.GetValue<int>() ?? 1;
            var choices = new JsonArray();
            for (int i = 0; i < n; i++)
                choices.Add(new JsonObject
                {
                    ["index"] = i, ["text"] = "ab", ["finish_reason"] = "stop", ["token_ids"] = new JsonArray(4, 2),
                    ["logprobs"] = new JsonObject { ["token_logprobs"] = new JsonArray(-0.5, -0.25), ["tokens"] = new JsonArray("a", "b") },
                });
            return (200, new JsonObject { ["id"] = "cmpl-1", ["object"] = "text_completion", ["model"] = model, ["choices"] = choices });
        }

        static JsonObject Error(string message, string type, int code) => new()
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = null, ["code"] = code },
        };
    }

    static GenerationRequest Request => new(GenerationPrompt.FromTokens([1, 2, 3]), new GenerationOptions { MaxNewTokens = 2, LogProbs = true }, N: 2);

    [Fact]
    public async Task Each_update_loads_the_new_adapter_by_name_then_unloads_the_previous_and_rollouts_name_it()
    {
        var vllm = new FakeVllm();
        using var server = new RecordingServer(vllm.Answer);
        var log = new List<string>();
        using var fleet = Fleet(log, server);

        await fleet.UpdateAsync("/adapters/step-0", "step-0");
        var first = (await fleet.GenerateAllAsync([Request]))[0];
        await fleet.UpdateAsync("/adapters/step-1", "step-1");
        var second = (await fleet.GenerateAllAsync([Request]))[0];

        var calls = server.Calls.Where(c => c.Path != "/v1/completions").ToList();
        Assert.Equal(
            "POST /v1/load_lora_adapter {\"lora_name\":\"step-0\",\"lora_path\":\"/adapters/step-0\"}\n" +
            "POST /v1/load_lora_adapter {\"lora_name\":\"step-1\",\"lora_path\":\"/adapters/step-1\"}\n" +
            "POST /v1/unload_lora_adapter {\"lora_name\":\"step-0\"}",
            Render(calls));
        // No pause, no weight-transfer route: the base weights never change.
        Assert.DoesNotContain(server.Calls, c => c.Path.StartsWith("/pause", StringComparison.Ordinal) || c.Path.Contains("weight", StringComparison.Ordinal));
        var models = server.Calls.Where(c => c.Path == "/v1/completions").Select(c => c.Body!["model"]!.GetValue<string>()).ToList();
        Assert.Equal(["step-0", "step-1"], models);
        Assert.All(first.Samples, s => Assert.Equal("step-0", s.WeightVersion));
        Assert.All(second.Samples, s => Assert.Equal("step-1", s.WeightVersion));
        Assert.Equal([4, 2], second.Samples[0].TokenIds);
        Assert.Equal(["step-1"], vllm.Loaded);
        Assert.Equal("step-1", fleet.Servers[0].Version);
        Assert.Empty(log);
    }

    [Fact]
    public async Task A_name_vllm_holds_already_is_unloaded_and_loaded_again_and_a_missing_previous_adapter_is_no_error()
    {
        var vllm = new FakeVllm();
        vllm.Loaded.Add("step-5"); // left by a run that was killed and is being resumed at step 5
        using var server = new RecordingServer(vllm.Answer);
        using var fleet = Fleet([], server);
        await fleet.UpdateAsync("/adapters/step-5", "step-5");
        Assert.Equal(
            "POST /v1/load_lora_adapter {\"lora_name\":\"step-5\",\"lora_path\":\"/adapters/step-5\"}\n" +
            "POST /v1/unload_lora_adapter {\"lora_name\":\"step-5\"}\n" +
            "POST /v1/load_lora_adapter {\"lora_name\":\"step-5\",\"lora_path\":\"/adapters/step-5\"}",
            Render(server.Calls));

        // The server restarted meanwhile and holds nothing: unloading step-5 answers 404, and the update still succeeds.
        vllm.Loaded.Clear();
        server.ClearCalls();
        var update = await fleet.UpdateAsync("/adapters/step-6", "step-6");
        Assert.Equal(1, update.Updated);
        Assert.Equal(["/v1/load_lora_adapter", "/v1/unload_lora_adapter"], server.Calls.Select(c => c.Path));
        Assert.Equal(["step-6"], vllm.Loaded);
    }

    [Fact]
    public async Task A_refused_load_takes_the_server_out_naming_the_adapter_folder_and_vllms_message()
    {
        using var good = new RecordingServer(new FakeVllm().Answer);
        using var bad = new RecordingServer((method, path, body) => path == "/v1/load_lora_adapter"
            ? Task.FromResult<(int, JsonNode?)>((400, new JsonObject
            {
                ["error"] = new JsonObject { ["message"] = "LoRA rank 64 is greater than max_lora_rank 16.", ["type"] = "BadRequestError", ["code"] = 400 },
            }))
            : new FakeVllm().Answer(method, path, body));
        var log = new List<string>();
        using var fleet = Fleet(log, good, bad);
        var update = await fleet.UpdateAsync("/adapters/step-1", "step-1");
        Assert.Equal(1, update.Updated);
        var failed = update.Servers.Single(s => !s.Ok);
        Assert.Same(fleet.Servers[1], failed.Server);
        Assert.Contains("HTTP 400", failed.Error);
        Assert.Contains("/adapters/step-1", failed.Error);
        Assert.Contains("greater than max_lora_rank 16", failed.Error);
        Assert.Contains(log, l => l.Contains($"rollout server {bad.Root.ToString().TrimEnd('/')} taken out of rotation"));
        // Rollouts go to the server that took the adapter only.
        await fleet.GenerateAllAsync([Request, Request]);
        Assert.DoesNotContain(bad.Calls, c => c.Path == "/v1/completions");
        Assert.Equal(2, good.Calls.Count(c => c.Path == "/v1/completions"));
    }

    [Fact]
    public async Task A_rollout_whose_adapter_was_unloaded_meanwhile_is_sent_again_with_the_new_one()
    {
        var vllm = new FakeVllm();
        using var server = new RecordingServer(vllm.Answer);
        using var fleet = Fleet([], server);
        await fleet.UpdateAsync("/adapters/step-0", "step-0");
        int completions = 0;
        vllm.OnCompletion = async body =>
        {
            if (Interlocked.Increment(ref completions) == 1)
                await fleet.UpdateAsync("/adapters/step-1", "step-1"); // the trainer's update lands while this request is queued
            return FakeVllm.Completion(body, vllm);
        };
        var result = (await fleet.GenerateAllAsync([Request]))[0];
        Assert.Equal(["step-0", "step-1"], server.Calls.Where(c => c.Path == "/v1/completions").Select(c => c.Body!["model"]!.GetValue<string>()));
        Assert.All(result.Samples, s => Assert.Equal("step-1", s.WeightVersion));
        Assert.True(fleet.Servers[0].InRotation);
    }

    [Fact]
    public void Adapter_sync_is_refused_for_engines_without_vllms_lora_routes()
    {
        foreach (var engine in new[] { FleetEngine.Sglang, FleetEngine.R1sharp })
        {
            var e = Assert.Throws<ArgumentException>(() => new RolloutFleet(new FleetOptions
            {
                Endpoints = [new Uri("http://127.0.0.1:1/")], Engine = engine, Sync = FleetWeightSync.Adapter,
            }));
            Assert.Contains("/v1/load_lora_adapter", e.Message);
        }
    }
}
