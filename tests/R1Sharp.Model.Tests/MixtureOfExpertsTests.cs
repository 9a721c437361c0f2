using System.Text.Json.Nodes;
using R1Sharp.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Model.Tests;

/// <summary>
/// Routing on a 2-token, 4-expert example worked by hand; the balancing losses against their formulas on the same
/// example; the KV cache against the full forward; gradients through the experts; parameter counts; the dsv3-1m preset.
/// </summary>
public class MixtureOfExpertsTests
{
    static readonly Device Cpu = CPU;

    // h = e₁, e₂, so the router's logits for token t are column t of its weight.
    static Tensor TwoTokens() => tensor(new float[] { 1, 0, 0, 1 }).view(2, 2);

    static ModelConfig TinyConfig(MoeSettings moe) => new()
    {
        Architecture = moe.Router == RouterKind.Softmax ? Architecture.Qwen3Moe : Architecture.DeepseekV3,
        VocabSize = 16, HiddenSize = 2, IntermediateSize = 4, NumLayers = 1, NumHeads = 1, NumKvHeads = 1, HeadDim = 2, Moe = moe,
    };

    [Fact]
    public void Softmax_router_picks_the_top_two_and_renormalises()
    {
        using var scope = NewDisposeScope();
        var moe = new MoeSettings { Router = RouterKind.Softmax, NumExperts = 4, TopK = 2, ExpertIntermediateSize = 3, NormTopkProb = true };
        using var router = new Router(2, moe, ScalarType.Float32, Cpu);
        using (no_grad()) // token 1: probabilities (0.1, 0.2, 0.3, 0.4); token 2: (0.4, 0.3, 0.2, 0.1)
            router.weight.copy_(tensor(new[] { 1, 4, 2, 3, 3, 2, 4, 1 }.Select(v => (float)Math.Log(v)).ToArray()).view(4, 2));
        var (experts, weights, _) = router.Route(TwoTokens());
        Assert.Equal(new long[] { 3, 2, 0, 1 }, experts.data<long>().ToArray());
        AssertClose([4 / 7.0, 3 / 7.0, 4 / 7.0, 3 / 7.0], weights);

        using var plain = new Router(2, moe with { NormTopkProb = false }, ScalarType.Float32, Cpu);
        using (no_grad()) plain.weight.copy_(router.weight);
        AssertClose([0.4, 0.3, 0.4, 0.3], plain.Route(TwoTokens()).Weights);
    }

    static Router GroupedRouter(MoeSettings moe)
    {
        var router = new Router(2, moe, ScalarType.Float32, Cpu);
        float Logit(double p) => (float)Math.Log(p / (1 - p));
        // sigmoid scores: token 1 (0.9, 0.2, 0.6, 0.5), token 2 (0.3, 0.8, 0.1, 0.7); bias (−0.5, 0, 0, 0.1)
        double[] t1 = [0.9, 0.2, 0.6, 0.5], t2 = [0.3, 0.8, 0.1, 0.7];
        using (no_grad())
        {
            router.weight.copy_(tensor(Enumerable.Range(0, 4).SelectMany(e => new[] { Logit(t1[e]), Logit(t2[e]) }).ToArray()).view(4, 2));
            router.e_score_correction_bias!.copy_(tensor(new[] { -0.5f, 0f, 0f, 0.1f }));
        }
        return router;
    }

    [Fact]
    public void Grouped_sigmoid_router_selects_with_the_bias_and_weights_without_it()
    {
        using var scope = NewDisposeScope();
        var moe = new MoeSettings
        {
            Router = RouterKind.SigmoidGrouped, NumExperts = 4, TopK = 2, ExpertIntermediateSize = 3, NormTopkProb = true,
            NumGroups = 2, TopkGroup = 1, RoutedScalingFactor = 2.5,
        };
        using var router = GroupedRouter(moe);
        var (experts, weights, scores) = router.Route(TwoTokens());
        // Biased c: token 1 (0.4, 0.2, 0.6, 0.6): groups {0,1} = 0.6, {2,3} = 1.2 → experts 2, 3 (unbiased 0.6, 0.5).
        // Token 2 (−0.2, 0.8, 0.1, 0.8): groups 0.6 and 0.9 → group {2,3}: expert 1 (score 0.8) is out, experts 3, 2.
        var chosen = experts.data<long>().ToArray();
        Assert.Equal(new long[] { 2, 3 }, chosen[..2].Order().ToArray());
        Assert.Equal(new long[] { 2, 3 }, chosen[2..].Order().ToArray());
        var w = weights.data<float>().ToArray();
        double WeightOf(int token, long expert) => w[token * 2 + Array.IndexOf(chosen, expert, token * 2, 2) - token * 2];
        Assert.Equal(2.5 * 0.6 / 1.1, WeightOf(0, 2), 5);
        Assert.Equal(2.5 * 0.5 / 1.1, WeightOf(0, 3), 5);
        Assert.Equal(2.5 * 0.1 / 0.8, WeightOf(1, 2), 5);
        Assert.Equal(2.5 * 0.7 / 0.8, WeightOf(1, 3), 5);

        // Sequence-wise balance loss, one sequence of the two tokens: f = (0, 0, 2, 2), P = mean of the normalised scores.
        double expected = (0.6 + 0.5) / 2.2 + (0.1 + 0.7) / 1.9;
        Assert.Equal(expected, ExpertBalance.SequenceLoss(scores, experts, 1, 2, 4, 2).item<float>(), 5);

        // Without groups the best two biased scores win: token 2 takes experts 1 and 3.
        using var flat = GroupedRouter(moe with { NumGroups = 1, TopkGroup = 1 });
        Assert.Equal(new long[] { 1, 3 }, flat.Route(TwoTokens()).Experts.data<long>().ToArray()[2..].Order().ToArray());
    }

    [Fact]
    public void Switch_loss_matches_its_formula()
    {
        using var scope = NewDisposeScope();
        // Probabilities (0.1, 0.2, 0.3, 0.4) and (0.4, 0.3, 0.2, 0.1): first choices 3 and 0, second 2 and 1,
        // so f = ((½,0,0,½), (0,½,½,0)), P = ¼ each, loss = 4 · Σ f·P = 4 · 2 · ¼ · ... = 2.
        var logits = tensor(new[] { 1, 2, 3, 4, 4, 3, 2, 1 }.Select(v => (float)Math.Log(v)).ToArray()).view(2, 4);
        Assert.Equal(2.0, ExpertBalance.SwitchLoss(logits, 4, 2).item<float>(), 5);
        // All probability on the experts every token picks: f = ((1,0,0,0),(0,1,0,0)), P = (½, ½, 0, 0) → 4 · (½ + ½) = 4.
        var skewed = tensor(new float[] { 10, 10, -10, -10, 10, 10, -10, -10 }).view(2, 4);
        Assert.Equal(4.0, ExpertBalance.SwitchLoss(skewed, 4, 2).item<float>(), 3);
    }

    [Fact]
    public void Sparse_block_sums_the_chosen_experts_weighted_and_adds_the_shared_one()
    {
        using var scope = NewDisposeScope();
        var moe = new MoeSettings
        {
            Router = RouterKind.SigmoidGrouped, NumExperts = 4, TopK = 2, ExpertIntermediateSize = 3, NormTopkProb = true,
            NumGroups = 2, TopkGroup = 1, RoutedScalingFactor = 2.5, NumSharedExperts = 1,
        };
        using var block = new SparseMoe(TinyConfig(moe), ScalarType.Float32, Cpu);
        var generator = new Generator(7, Cpu);
        using (no_grad())
            foreach (var (name, p) in block.named_parameters())
                if (!name.StartsWith("gate.")) p.copy_(randn(p.shape, generator: generator));
        using var router = GroupedRouter(moe);
        using (no_grad())
        {
            block.gate.weight.copy_(router.weight);
            block.gate.e_score_correction_bias!.copy_(router.e_score_correction_bias!);
        }
        var h = TwoTokens();
        var y = block.forward(h.unsqueeze(0)).squeeze(0);
        // By hand: token 1 → 2.5·(0.6·E2 + 0.5·E3)/1.1, token 2 → 2.5·(0.1·E2 + 0.7·E3)/0.8, plus the shared expert.
        Tensor E(int i, int t) => block.experts[i].forward(h.narrow(0, t, 1));
        var expected = cat([
            E(2, 0) * (2.5 * 0.6 / 1.1) + E(3, 0) * (2.5 * 0.5 / 1.1),
            E(2, 1) * (2.5 * 0.1 / 0.8) + E(3, 1) * (2.5 * 0.7 / 0.8)], 0) + block.shared_experts!.forward(h);
        Assert.True((y - expected).abs().max().item<float>() < 1e-5);
        Assert.Equal(new long[] { 0, 0, 2, 2 }, block.LastLoad);
    }

    static void AssertClose(double[] expected, Tensor actual)
    {
        var a = actual.to(ScalarType.Float32).data<float>().ToArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.Equal(expected[i], a[i], 5);
    }

    [Theory]
    [InlineData("qwen3-moe-tiny")]
    [InlineData("deepseek-v3-tiny")]
    public void Cached_decoding_gives_the_full_forward_logits(string name)
    {
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", name), ScalarType.Float32);
        using var noGrad = no_grad();
        var ids = tensor(new long[] { 5, 17, 99, 3, 250, 41, 8, 77, 120, 64, 9, 200, 31, 7 }).view(2, 7);
        var full = model.Forward(ids);                                   // (2, 7, V)
        using var cache = model.NewCache(2, 7);
        var prefill = model.Forward(ids.narrow(1, 0, 4), cache: cache);  // positions 0..3
        var steps = new List<Tensor> { prefill };
        for (int t = 4; t < 7; t++) steps.Add(model.Forward(ids.narrow(1, t, 1), cache: cache));
        var incremental = cat(steps, 1);
        Assert.True((incremental - full).abs().max().item<float>() < 1e-4);
        // The explicit-mask path (padded batches) agrees with the causal one.
        var causal = ones(7, 7, dtype: ScalarType.Bool).tril().expand(2, 1, 7, 7);
        Assert.True((model.Forward(ids, mask: causal) - full).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Gradients_reach_the_router_and_the_chosen_experts_but_not_the_correction_bias()
    {
        using var scope = NewDisposeScope();
        var config = ModelPresets.Create("dsv3-1m", 64, 128, null, 1, 1);
        using var model = new CausalLM(config);
        model.InitializeWeights(3);
        var ids = randint(0, 64, [2, 12], generator: new Generator(5, Cpu));
        var logits = model.Forward(ids);
        var loss = nn.functional.cross_entropy(logits.narrow(1, 0, 11).reshape(-1, 64), ids.narrow(1, 1, 11).reshape(-1));
        var aux = ExpertBalance.AuxiliaryLoss(model);
        Assert.NotNull(aux);
        (loss + aux!).backward();
        var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        Assert.True(grads["model.layers.1.mlp.gate.weight"]!.abs().sum().item<float>() > 0);
        Assert.True(grads["model.layers.1.mlp.shared_experts.up_proj.weight"]!.abs().sum().item<float>() > 0);
        Assert.True(grads["model.layers.1.self_attn.kv_b_proj.weight"]!.abs().sum().item<float>() > 0);
        Assert.Null(grads["model.layers.1.mlp.gate.e_score_correction_bias"]);
        var layer = ExpertBalance.Layers(model)[0];
        for (int e = 0; e < config.Moe!.NumExperts; e++)
        {
            var g = grads[$"model.layers.1.mlp.experts.{e}.down_proj.weight"];
            Assert.Equal(layer.LastLoad[e] > 0, g is not null && g.abs().sum().item<float>() > 0);
        }
    }

    [Fact]
    public void Qwen3_moe_adds_the_switch_loss_only_with_output_router_logits()
    {
        using var scope = NewDisposeScope();
        var dir = RepoPaths.Fixture("hf-tiny", "qwen3-moe-tiny");
        using var model = Checkpoint.Load(dir, ScalarType.Float32);
        var ids = tensor(new long[] { 4, 8, 15, 16, 23, 42, 7, 9 }).view(2, 4);
        model.Forward(ids);
        Assert.Null(ExpertBalance.AuxiliaryLoss(model)); // output_router_logits is false in the fixture, as in Qwen's releases

        var config = model.Config with { Moe = model.Config.Moe! with { OutputRouterLogits = true, RouterAuxLossCoef = 0.5 } };
        using var withLoss = new CausalLM(config);
        using (no_grad())
        {
            var weights = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in withLoss.named_parameters()) p.copy_(weights[name]);
        }
        withLoss.Forward(ids);
        var layers = ExpertBalance.Layers(withLoss);
        Assert.Equal(2, layers.Count); // layers 1 and 5
        var aux = ExpertBalance.AuxiliaryLoss(withLoss)!;
        // The layers' router logits are concatenated (2 × 8 rows), as transformers' load_balancing_loss_func does.
        var expected = ExpertBalance.SwitchLoss(cat([layers[0].LastScores!, layers[1].LastScores!], 0), 8, 2) * 0.5;
        Assert.Equal(expected.item<float>(), aux.item<float>(), 6);
        Assert.InRange(aux.item<float>(), 1e-6, 0.5 * 8 * 2); // 0 < E·Σ_k Σ_i f·P ≤ E·k (Σ_i f_{k,i} = 1, P_i ≤ 1)
        aux.backward();
        Assert.True(withLoss.named_parameters().Single(p => p.name == "model.layers.1.mlp.gate.weight").parameter.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Bias_update_moves_overloaded_experts_down_and_underloaded_up()
    {
        using var scope = NewDisposeScope();
        using var model = new CausalLM(ModelPresets.Create("dsv3-1m", 64, 128, null, 1, 1));
        model.InitializeWeights(4);
        model.Forward(randint(0, 64, [2, 10], generator: new Generator(6, Cpu)));
        var layers = ExpertBalance.Layers(model);
        var loads = layers.Select(l => (long[])l.PendingLoad.Clone()).ToList();
        Assert.All(loads, l => Assert.Equal(2 * 10 * 2, l.Sum())); // every token to top-2
        var ratios = ExpertBalance.UpdateBiases(model, model, 0.01);
        for (int i = 0; i < layers.Count; i++)
        {
            double mean = loads[i].Average();
            var bias = layers[i].gate.e_score_correction_bias!.data<float>().ToArray();
            for (int e = 0; e < bias.Length; e++) Assert.Equal(-0.01 * Math.Sign(loads[i][e] - mean), bias[e], 6);
            Assert.Equal(loads[i].Max() / mean, ratios[i], 6);
            Assert.All(layers[i].PendingLoad, l => Assert.Equal(0, l));
        }
        // Forwards without gradients (generation) are not counted.
        using (no_grad()) model.Forward(randint(0, 64, [1, 5]));
        Assert.All(layers, l => Assert.Equal(0, l.PendingLoad.Sum()));
    }

    [Theory]
    [InlineData("qwen3-moe-tiny")]
    [InlineData("deepseek-v3-tiny")]
    [InlineData("deepseek-v3-tiny-plain")]
    public void Parameter_counts_match_the_stored_tensors(string name)
    {
        var summary = Checkpoint.Inspect(RepoPaths.Fixture("hf-tiny", name));
        var c = summary.Config;
        Assert.Equal(c.ParameterCount(), summary.StoredBytes / 4);
        var moe = c.Moe!;
        int sparse = Enumerable.Range(0, c.NumLayers).Count(moe.IsSparse);
        long perExpert = 3L * c.HiddenSize * moe.ExpertIntermediateSize;
        Assert.Equal(c.ParameterCount() - sparse * (moe.NumExperts - moe.TopK) * perExpert, c.ActiveParameterCount());
    }

    [Fact]
    public void Qwen3_moe_sparse_layers_follow_decoder_sparse_step_and_mlp_only_layers()
    {
        var c = Checkpoint.Inspect(RepoPaths.Fixture("hf-tiny", "qwen3-moe-tiny")).Config;
        Assert.Equal([1, 5], Enumerable.Range(0, c.NumLayers).Where(c.Moe!.IsSparse));
        var d = Checkpoint.Inspect(RepoPaths.Fixture("hf-tiny", "deepseek-v3-tiny")).Config;
        Assert.Equal([1, 2], Enumerable.Range(0, d.NumLayers).Where(d.Moe!.IsSparse));
    }

    [Theory]
    [InlineData("qwen3-moe-tiny")]
    [InlineData("deepseek-v3-tiny")]
    public void Configs_and_checkpoints_round_trip(string name)
    {
        using var scope = NewDisposeScope();
        var dir = RepoPaths.Fixture("hf-tiny", name);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        var config = ModelConfig.FromJson(json);
        var again = ModelConfig.FromJson(JsonNode.Parse(config.ToJson().ToJsonString())!.AsObject());
        Assert.Equal(config.ToJson().ToJsonString(), again.ToJson().ToJsonString());
        var written = again.ToJson();
        foreach (var key in new[] { "num_experts_per_tok", "moe_intermediate_size", "norm_topk_prob", "q_lora_rank", "n_group", "mlp_only_layers",
                     "decoder_sparse_step", "routed_scaling_factor", "kv_lora_rank", "rope_interleave", "first_k_dense_replace" })
            if (json.ContainsKey(key)) Assert.Equal(json[key]!.ToJsonString(), written[key]!.ToJsonString());

        var target = Path.Combine(Path.GetTempPath(), $"r1sharp-moe-{Guid.NewGuid():N}");
        try
        {
            using var model = Checkpoint.Load(dir, ScalarType.Float32);
            Checkpoint.Save(model, target);
            using var loaded = Checkpoint.Load(target, ScalarType.Float32);
            using var noGrad = no_grad();
            var ids = tensor(new long[] { 4, 8, 15, 16, 23, 42 }).view(1, 6);
            Assert.Equal(0f, (model.Forward(ids) - loaded.Forward(ids)).abs().max().item<float>());
        }
        finally { if (Directory.Exists(target)) Directory.Delete(target, recursive: true); }
    }

    [Fact]
    public void The_dsv3_preset_has_about_one_million_active_parameters_and_round_trips()
    {
        var config = ModelPresets.Create("dsv3-1m", 1024, 512, null, 2, 2);
        Assert.InRange(config.ActiveParameterCount(), 700_000, 1_100_000);
        Assert.True(config.ParameterCount() > config.ActiveParameterCount() * 3 / 2);
        var json = config.ToJson();
        var again = ModelConfig.FromJson(JsonNode.Parse(json.ToJsonString())!.AsObject());
        Assert.Equal(json.ToJsonString(), again.ToJson().ToJsonString());
        using var model = new CausalLM(again);
        Assert.Equal(config.ParameterCount(), model.parameters().Sum(p => p.numel()));
    }
}
