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

    /// <summary>Share of a completion's characters that are digits: it varies between an untrained model's samples, so there is a gradient.</summary>
    sealed class DigitShare : R1Sharp.Rewards.IReward
    {
        public string Name => "digits";
        public IReadOnlyList<double?> Score(IReadOnlyList<R1Sharp.Rewards.RewardInput> batch, CancellationToken cancellationToken = default)
            => [.. batch.Select(i => (double?)(i.Completion.Length == 0 ? 0 : i.Completion.Count(char.IsDigit) / (double)i.Completion.Length))];
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
}
