using System.Text.Json.Nodes;
using R1Sharp.Model;
using R1Sharp.Recipes.Grpo;
using R1Sharp.Rewards.Rules;
using R1Sharp.Tests;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Server.Tests.Fleet;

/// <summary>
/// GRPO with <c>lora:</c> on two real <c>r1sharp serve</c> processes (the merged-weights sync of docs/lora.md): every version sent
/// to the servers is a plain Hugging Face checkpoint whose weights are the base's plus s·B·A of the trainer's adapter at that
/// step (computed here from the adapter's PEFT files and the base, by hand), and after the sync each server's greedy tokens and
/// their log-probabilities for the probe prompt equal those of the base with that adapter applied un-merged (PEFT's forward),
/// decoded here.
/// </summary>
public sealed class FleetLoraGrpoTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-fleet-lora-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static float MaxDiff(Tensor a, Tensor b) => (a.to(ScalarType.Float32) - b.to(ScalarType.Float32)).abs().max().item<float>();

    /// <summary>Greedy decoding of <paramref name="count"/> tokens by full forward passes (no cache, no sampler).</summary>
    static List<int> Greedy(CausalLM model, IReadOnlyList<int> prompt, int count, int eos)
    {
        using var noGrad = no_grad();
        var ids = prompt.ToList();
        var generated = new List<int>();
        for (int t = 0; t < count; t++)
        {
            using var scope = NewDisposeScope();
            var logits = model.Forward(tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]));
            int next = (int)logits[0, ids.Count - 1].argmax().item<long>();
            generated.Add(next);
            ids.Add(next);
            if (next == eos) break;
        }
        return generated;
    }

    [Fact]
    public void Lora_grpo_on_two_serve_processes_sends_the_merged_policy_and_the_servers_decode_as_the_trainers_adapter()
    {
        using var a = new ServeProcess();
        using var b = new ServeProcess();
        string output = Path.Combine(_dir, "run"), snapshot = Path.Combine(_dir, "adapter-step-2");
        const int steps = 3;
        var lora = new LoraOptions { R = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj", "up_proj", "down_proj"] };
        var o = new GrpoOptions
        {
            TrainPrompts = 64, PromptsPerStep = 2, Generations = 4, Sampling = new() { MaxNewTokens = 16 }, Steps = steps, EvalPrompts = 0,
            MicroBatchSize = 8, CheckpointEvery = 1, Optimizer = new() { LearningRate = 2e-2, Schedule = ScheduleKind.Constant }, Seed = 5, Lora = lora,
            Rollout = new() { Endpoints = [a.Url.ToString(), b.Url.ToString()], KeepVersions = 100, ProbeTokens = 8, ProbeTolerance = 1e-5 },
        };
        var log = new List<string>();
        GrpoRecipe.Run(o, TinyModel.Directory, output, RunSettings.Quiet(line =>
        {
            log.Add(line);
            // Logged after step 3's rollouts, which came after the sync to step-2; the checkpoint then holds the adapter of step 2.
            if (line.StartsWith($"step {steps}/", StringComparison.Ordinal))
            {
                string found = R1Sharp.Training.State.TrainingCheckpoint.Find(Path.Combine(output, "checkpoint")) ?? throw new InvalidOperationException("no checkpoint");
                Directory.CreateDirectory(snapshot);
                foreach (var f in Directory.GetFiles(found)) File.Copy(f, Path.Combine(snapshot, Path.GetFileName(f)));
            }
        }), new WeightedRewards([new WeightedReward(new DigitShare())]));

        Assert.Equal(2, (int)JsonNode.Parse(File.ReadAllText(Path.Combine(snapshot, "trainer_state.json")))!["step"]!);
        Assert.DoesNotContain(log, l => l.Contains("taken out of rotation"));
        var syncs = File.ReadAllLines(Path.Combine(output, "rollout-sync.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([0, 1, 2], syncs.Select(s => (int)s["version"]!));
        Assert.All(syncs, s => Assert.Equal(2, (int)s["in_rotation"]!));
        var sync = syncs[2];

        // 1. What the servers loaded at step 2 is a plain checkpoint: the base's weights plus s·B·A of the adapter, per layer.
        string published = Path.Combine(output, "rollout-weights", "step-2");
        Assert.False(File.Exists(Path.Combine(published, "adapter_config.json")));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(snapshot, "adapter_config.json")))!;
        Assert.Equal(4, (int)config["r"]!);
        double scaling = (double)config["lora_alpha"]! / (int)config["r"]!;
        var adapter = new Dictionary<string, Tensor>();
        var header = R1Sharp.Model.SafeTensors.ReadHeader(Path.Combine(snapshot, "adapter_model.safetensors"));
        using (var file = File.OpenRead(header.Path))
            foreach (var e in header.Entries) adapter[e.Name] = R1Sharp.Model.SafeTensors.Read(header, e, file);
        using var baseModel = Checkpoint.Load(TinyModel.Directory, ScalarType.Float32);
        using var merged = Checkpoint.Load(published, ScalarType.Float32);
        var baseWeights = baseModel.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        int adapted = 0;
        float moved = 0;
        using (no_grad())
            foreach (var (name, weight) in merged.named_parameters())
            {
                string key = "base_model.model." + name[..^".weight".Length];
                if (name.EndsWith(".weight", StringComparison.Ordinal) && adapter.TryGetValue(key + ".lora_A.weight", out var loraA))
                {
                    var expected = baseWeights[name] + scaling * matmul(adapter[key + ".lora_B.weight"], loraA);
                    Assert.True(MaxDiff(weight, expected) <= 1e-6, $"{name}: the published weight is not W + s·B·A ({MaxDiff(weight, expected):E3})");
                    moved = Math.Max(moved, MaxDiff(weight, baseWeights[name]));
                    adapted++;
                }
                else
                    Assert.True(weight.equal(baseWeights[name]).all().item<bool>(), $"{name}: not adapted, yet not the base's");
            }
        Assert.Equal(adapter.Count / 2, adapted);
        Assert.True(moved > 1e-3, $"the adapters barely moved in two steps ({moved:E3}): the test would not tell the policy from the base");

        // 2. Each server's greedy tokens after that sync, and their log-probabilities, are those of the base with the adapter applied
        //    un-merged — decoded here — and not those of the base.
        int[] prompt = [.. sync["probe_prompt"]!.AsArray().Select(x => (int)x!)];
        using var policy = Checkpoint.Load(TinyModel.Directory, ScalarType.Float32);
        Lora.Load(policy, snapshot);
        int eos = R1Sharp.Text.Tokenization.HfTokenizer.Load(TinyModel.Directory).EosTokenId!.Value;
        var greedy = Greedy(policy, prompt, o.Rollout.ProbeTokens, eos);
        var reference = Checkpoints.LogProbs(policy, prompt, greedy);
        var baseline = Checkpoints.LogProbs(baseModel, prompt, greedy);
        Assert.True(reference.Zip(baseline).Max(p => Math.Abs(p.First - p.Second)) > 1e-4, "the adapter does not change the probe: it cannot tell the policy from the base");
        foreach (var server in sync["servers"]!.AsArray())
        {
            Assert.True((bool)server!["ok"]!, server.ToJsonString());
            int[] tokens = [.. server["probe"]!["tokens"]!.AsArray().Select(x => (int)x!)];
            float[] logprobs = [.. server["probe"]!["logprobs"]!.AsArray().Select(x => (float)x!)];
            Assert.Equal(greedy, tokens);
            for (int i = 0; i < tokens.Length; i++)
                Assert.True(Math.Abs(reference[i] - logprobs[i]) < 1e-5, $"{server["url"]}, token {i}: server {logprobs[i]}, base + adapter {reference[i]}");
        }
        foreach (var t in adapter.Values) t.Dispose();
    }

    [Fact]
    public async Task Adapter_only_sync_loads_each_versions_peft_files_on_serve_processes_through_vllms_lora_routes()
    {
        using var a = new ServeProcess();
        using var b = new ServeProcess();
        string output = Path.Combine(_dir, "run");
        var o = new GrpoOptions
        {
            TrainPrompts = 64, PromptsPerStep = 2, Generations = 4, Sampling = new() { MaxNewTokens = 16 }, Steps = 3, EvalPrompts = 0,
            MicroBatchSize = 8, CheckpointEvery = 100, Optimizer = new() { LearningRate = 2e-2, Schedule = ScheduleKind.Constant }, Seed = 5,
            Lora = new LoraOptions { R = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj", "up_proj", "down_proj"] },
            Rollout = new()
            {
                Endpoints = [a.Url.ToString(), b.Url.ToString()], Engine = R1Sharp.Engine.Fleet.FleetEngine.Vllm,
                WeightSync = R1Sharp.Engine.Fleet.FleetWeightSync.Adapter, KeepVersions = 100, ProbeTokens = 8, ProbeTolerance = 1e-5,
            },
        };
        var log = new List<string>();
        GrpoRecipe.Run(o, TinyModel.Directory, output, RunSettings.Quiet(log.Add), new WeightedRewards([new WeightedReward(new DigitShare())]));
        Assert.DoesNotContain(log, l => l.Contains("taken out of rotation"));

        // Every version sent is an adapter in PEFT's layout on the trainer's base, not a checkpoint.
        string weights = Path.Combine(output, "rollout-weights");
        for (int v = 0; v < 3; v++)
        {
            string dir = Path.Combine(weights, $"step-{v}");
            Assert.True(File.Exists(Path.Combine(dir, "adapter_model.safetensors")), dir);
            Assert.False(File.Exists(Path.Combine(dir, "model.safetensors")), dir);
            Assert.Equal(Path.GetFullPath(TinyModel.Directory), (string)JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "adapter_config.json")))!["base_model_name_or_path"]!);
        }
        var syncs = File.ReadAllLines(Path.Combine(output, "rollout-sync.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([0, 1, 2], syncs.Select(s => (int)s["version"]!));
        Assert.All(syncs, s => Assert.Equal(2, (int)s["in_rotation"]!));
        var completions = File.ReadAllLines(Path.Combine(output, "completions.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(3 * 2 * 4, completions.Count);
        Assert.All(completions, c => Assert.Equal((int)c["step"]! - 1, (int)c["weight_version"]!));

        // After the last sync each server's greedy probe is that of the base with step-2's adapter, decoded here.
        using var baseModel = Checkpoint.Load(TinyModel.Directory, ScalarType.Float32);
        using var policy = Checkpoint.Load(TinyModel.Directory, ScalarType.Float32);
        Lora.Load(policy, Path.Combine(weights, "step-2"));
        int[] prompt = [.. syncs[2]["probe_prompt"]!.AsArray().Select(x => (int)x!)];
        int eos = R1Sharp.Text.Tokenization.HfTokenizer.Load(TinyModel.Directory).EosTokenId!.Value;
        var greedy = Greedy(policy, prompt, o.Rollout.ProbeTokens, eos);
        var reference = Checkpoints.LogProbs(policy, prompt, greedy);
        Assert.True(reference.Zip(Checkpoints.LogProbs(baseModel, prompt, greedy)).Max(p => Math.Abs(p.First - p.Second)) > 1e-4, "the adapter does not change the probe");
        foreach (var server in syncs[2]["servers"]!.AsArray())
        {
            Assert.True((bool)server!["ok"]!, server.ToJsonString());
            Assert.Equal(greedy, server["probe"]!["tokens"]!.AsArray().Select(x => (int)x!));
            float[] logprobs = [.. server["probe"]!["logprobs"]!.AsArray().Select(x => (float)x!)];
            for (int i = 0; i < greedy.Count; i++)
                Assert.True(Math.Abs(reference[i] - logprobs[i]) < 1e-5, $"{server["url"]}, token {i}: server {logprobs[i]}, base + adapter {reference[i]}");
        }

        // What the servers say now, and what they refuse (vLLM's messages and statuses).
        using var http = new HttpClient { BaseAddress = a.Url };
        var models = JsonNode.Parse(await http.GetStringAsync("/v1/models"))!["data"]!.AsArray();
        Assert.Equal(["tiny", "step-2"], models.Select(m => (string)m!["id"]!));
        Assert.Equal("tiny", (string)models[1]!["parent"]!);
        Assert.Equal("step-2", (string)JsonNode.Parse(await http.GetStringAsync("/weight_version"))!["weight_version"]!);
        async Task<(int Status, string Body)> Post(string route, string json)
        {
            using var r = await http.PostAsync(route, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
            return ((int)r.StatusCode, await r.Content.ReadAsStringAsync());
        }
        var completion = """{"model": "MODEL", "prompt": [1, 2, 3], "max_tokens": 2}""";
        Assert.Equal(404, (await Post("/v1/completions", completion.Replace("MODEL", "step-1"))).Status);       // unloaded by the sync to step-2
        var baseRefused = await Post("/v1/completions", completion.Replace("MODEL", "tiny"));
        Assert.Equal(400, baseRefused.Status);
        Assert.Contains("one adapter at a time", baseRefused.Body);
        var again = await Post("/v1/load_lora_adapter", $$"""{"lora_name": "step-2", "lora_path": "{{Path.Combine(weights, "step-2")}}"}""");
        Assert.Equal(400, again.Status);
        Assert.Contains("has already been loaded", again.Body);
        Assert.Equal(400, (await Post("/v1/load_lora_adapter", """{"lora_name": "x"}""")).Status);
        var wrong = await Post("/v1/load_lora_adapter", $$"""{"lora_name": "x", "lora_path": "{{TinyModel.Directory}}"}""");
        Assert.Equal(400, wrong.Status);
        Assert.Contains("adapter_config.json", wrong.Body);
        Assert.Equal(404, (await Post("/v1/unload_lora_adapter", """{"lora_name": "step-1"}""")).Status);
        Assert.Equal(200, (await Post("/v1/completions", completion.Replace("MODEL", "step-2"))).Status);    // the refusals changed nothing

        // Unloading the adapter served brings the base back, exactly.
        var unloaded = await Post("/v1/unload_lora_adapter", """{"lora_name": "step-2"}""");
        Assert.Equal((200, "Success: LoRA adapter 'step-2' removed successfully."), unloaded);
        using var fleet = new R1Sharp.Engine.Fleet.RolloutFleet(new R1Sharp.Engine.Fleet.FleetOptions { Endpoints = [a.Url], Engine = R1Sharp.Engine.Fleet.FleetEngine.Vllm });
        var probe = new R1Sharp.Engine.Generation.GenerationRequest(R1Sharp.Engine.Generation.GenerationPrompt.FromTokens(prompt),
            new R1Sharp.Engine.Generation.GenerationOptions { Temperature = 0, MaxNewTokens = 8, StopTokenIds = [eos], LogProbs = true });
        var sample = (await fleet.ProbeAsync(fleet.Servers[0], probe)).Samples[0];
        var baseGreedy = Greedy(baseModel, prompt, 8, eos);
        Assert.Equal(baseGreedy, sample.TokenIds);
        var baseLogProbs = Checkpoints.LogProbs(baseModel, prompt, baseGreedy);
        for (int i = 0; i < baseGreedy.Count; i++) Assert.True(Math.Abs(baseLogProbs[i] - sample.LogProbs![i]) < 1e-5, $"token {i}: {sample.LogProbs![i]} vs base {baseLogProbs[i]}");
    }
}
