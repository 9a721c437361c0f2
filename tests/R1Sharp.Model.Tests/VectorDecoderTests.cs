using R1Sharp.Tests;
using static TorchSharp.torch;

namespace R1Sharp.Model.Tests;

/// <summary>
/// The SIMD decode step (VectorDecoder.cs) against transformers' logits and greedy continuations (tests/fixtures/hf-tiny)
/// and against libtorch's own step on left-padded batches.
/// </summary>
public class VectorDecoderTests
{
    public static TheoryData<string> DenseModels => new() { "qwen2-tiny", "llama3-tiny", "qwen3-tiny" };

    static CausalLM Load(string name) => Checkpoint.Load(RepoPaths.Fixture("hf-tiny", name), ScalarType.Float32);

    [Theory, MemberData(nameof(DenseModels))]
    public void Token_by_token_steps_reproduce_transformers_logits(string name)
    {
        using var scope = NewDisposeScope();
        var c = HfFixtureTests.ReadCase(name);
        var rows = c.InputIds;
        var expected = tensor(c.Logits).view(c.Shape); // (B, T, V)
        using var model = Load(name);
        using var noGrad = no_grad();
        var decoder = VectorDecoder.For(model, new SpinTeam(2))!;
        Assert.NotNull(decoder);
        int b = rows.Length, t = rows[0].Length;
        using var cache = model.NewCache(b, t);
        var valid = ones(b, t, dtype: ScalarType.Bool);
        double worst = 0;
        for (int p = 0; p < t; p++)
        {
            var ids = tensor(rows.Select(r => r[p]).ToArray()).view(b, 1);
            var logits = decoder.Step(ids, full(b, p, dtype: ScalarType.Int64), valid, cache);
            Assert.NotNull(logits);
            Assert.Equal(p + 1, cache.Length);
            for (int r = 0; r < b; r++)
            {
                worst = Math.Max(worst, (logits![r] - expected[r, p]).abs().max().item<float>());
            }
        }
        Assert.True(worst <= 1e-4, $"{name}: max |logit difference| against transformers = {worst:E3}");
    }

    [Theory, MemberData(nameof(DenseModels))]
    public void Greedy_continuation_is_transformers_own(string name)
    {
        using var scope = NewDisposeScope();
        var c = HfFixtureTests.ReadCase(name);
        var (prompt, continuation) = (c.GreedyPrompt, c.GreedyContinuation);
        using var model = Load(name);
        using var noGrad = no_grad();
        var decoder = VectorDecoder.For(model, new SpinTeam(2))!;
        using var cache = model.NewCache(1, prompt.Length + continuation.Length);
        var next = model.Forward(tensor(prompt).unsqueeze(0), cache: cache, lastTokens: 1).argmax(-1); // (1, 1)
        var valid = ones(1, prompt.Length + continuation.Length, dtype: ScalarType.Bool);
        var generated = new List<long>();
        for (int i = 0; i < continuation.Length; i++)
        {
            generated.Add(next.item<long>());
            next = decoder.Step(next, tensor(new long[] { prompt.Length + i }), valid, cache)!.argmax(-1).unsqueeze(1);
        }
        Assert.Equal(continuation, generated.ToArray());
    }

    /// <summary>
    /// Rows of different lengths, left-padded, with per-row positions and masked padding, at 1, 3 and 6 rows (the 4 × 4 tiles
    /// and the rows left over), at each vector width; "odd" has widths that no vector width divides (hidden 40, head 10,
    /// MLP 53, a 37-token vocabulary), so every kernel's scalar tail and the output rows outside whole tiles run.
    /// </summary>
    [Theory]
    [InlineData("qwen2-tiny", 1, 0)]
    [InlineData("llama3-tiny", 3, 0)]
    [InlineData("qwen3-tiny", 6, 0)]
    [InlineData("qwen3-tiny", 6, 256)]
    [InlineData("llama3-tiny", 5, 128)]
    [InlineData("odd", 6, 0)]
    [InlineData("odd", 5, 256)]
    public void Left_padded_steps_match_libtorch_step(string name, int rows, int vectorBits)
    {
        using var scope = NewDisposeScope();
        using var model = name == "odd" ? OddModel() : Load(name);
        using var noGrad = no_grad();
        var decoder = VectorDecoder.For(model, new SpinTeam(3), vectorBits)!;
        int prompt = 7, steps = 6, capacity = prompt + steps;
        var generator = new Generator(5);
        var ids = randint(0, model.Config.VocabSize, [rows, prompt], dtype: ScalarType.Int64, generator: generator);
        var valid = ones(rows, capacity, dtype: ScalarType.Bool);
        for (int r = 0; r < rows; r++) valid[r, ..(r % prompt)] = false; // row r has r mod 7 padding columns
        var positions = (valid.narrow(1, 0, prompt).to(ScalarType.Int64).cumsum(1) - 1).clamp_min(0);
        var causal = ones(prompt, prompt, dtype: ScalarType.Bool).tril().unsqueeze(0) & valid.narrow(1, 0, prompt).unsqueeze(1);
        var mask = (causal | eye(prompt, dtype: ScalarType.Bool).unsqueeze(0)).unsqueeze(1);

        using var torchCache = model.NewCache(rows, capacity);
        using var vectorCache = model.NewCache(rows, capacity);
        var first = model.Forward(ids, positions, mask, torchCache, lastTokens: 1).squeeze(1);
        model.Forward(ids, positions, mask, vectorCache, lastTokens: 1);
        var next = first.argmax(-1).unsqueeze(1);
        var position = positions[.., -1] + 1;
        double worst = 0, worstLogProb = 0;
        for (int i = 0; i < steps; i++)
        {
            int s = torchCache.Length + 1;
            var expected = model.Forward(next, position.unsqueeze(1), valid.narrow(1, 0, s).unsqueeze(1).unsqueeze(1), torchCache).squeeze(1);
            var actual = decoder.Step(next, position, valid, vectorCache);
            Assert.NotNull(actual);
            worst = Math.Max(worst, (actual! - expected).abs().max().item<float>());
            worstLogProb = Math.Max(worstLogProb, (actual!.log_softmax(-1) - expected.log_softmax(-1)).abs().max().item<float>());
            Assert.Equal(expected.argmax(-1).data<long>().ToArray(), actual!.argmax(-1).data<long>().ToArray());
            next = expected.argmax(-1).unsqueeze(1);
            position = position + 1;
        }
        Assert.True(worst <= 1e-5 && worstLogProb <= 1e-5, $"{name}, {rows} rows: max |logit difference| {worst:E3}, |log-prob difference| {worstLogProb:E3}");
    }

    /// <summary>A random Qwen2 model whose widths are not multiples of 4, 8 or 16.</summary>
    static CausalLM OddModel()
    {
        var config = new ModelConfig
        {
            Architecture = Architecture.Qwen2, VocabSize = 37, HiddenSize = 40, IntermediateSize = 53, NumLayers = 2, NumHeads = 4,
            NumKvHeads = 2, HeadDim = 10, MaxPositionEmbeddings = 64, RmsNormEps = 1e-6, RopeTheta = 10000, TieWordEmbeddings = false,
            AttentionBias = true, EosTokenIds = [0], TorchDtype = "float32",
        };
        var model = new CausalLM(config);
        model.InitializeWeights(seed: 3);
        using var noGrad = no_grad();
        foreach (var (pname, p) in model.named_parameters())
            if (pname.EndsWith(".bias") || pname.EndsWith("norm.weight")) p.add_(randn(p.shape, generator: new Generator(11)) * 0.1); // non-trivial biases and norms
        return model;
    }

    [Theory]
    [InlineData("qwen3-moe-tiny")]
    [InlineData("deepseek-v3-tiny")]
    public void Experts_and_latent_attention_take_libtorch_path(string name)
    {
        using var model = Load(name);
        Assert.Null(VectorDecoder.For(model));
    }

    [Fact]
    public void A_model_with_lora_adapters_another_dtype_or_autograd_on_is_left_to_libtorch()
    {
        using var scope = NewDisposeScope();
        using var model = Load("qwen2-tiny");
        using var noGrad = no_grad();
        var decoder = VectorDecoder.For(model, new SpinTeam(1))!;
        using (var cacheWithGrad = model.NewCache(1, 4))
        using (enable_grad()) // logits that autograd would follow come from libtorch
            Assert.Null(decoder.Step(tensor(new long[] { 3 }).view(1, 1), tensor(new long[] { 0 }), ones(1, 4, dtype: ScalarType.Bool), cacheWithGrad));
        Lora.Attach(model, new LoraOptions { R = 2, Alpha = 4, TargetModules = ["q_proj"] }, seed: 1);
        using var cache = model.NewCache(1, 4);
        Assert.Null(decoder.Step(tensor(new long[] { 3 }).view(1, 1), tensor(new long[] { 0 }), ones(1, 4, dtype: ScalarType.Bool), cache));
        Assert.Equal(0, cache.Length);

        using var half = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", "qwen2-tiny"), ScalarType.BFloat16);
        Assert.Null(VectorDecoder.For(half));
    }

    [Fact]
    public void Team_runs_every_unit_once_and_passes_on_a_failure()
    {
        using var team = new SpinTeam(3);
        for (int round = 0; round < 200; round++)
        {
            var seen = new int[round + 1];
            team.Run(seen.Length, (first, end, _) => { for (int i = first; i < end; i++) Interlocked.Increment(ref seen[i]); });
            Assert.All(seen, n => Assert.Equal(1, n));
            if (round % 50 == 0) Thread.Sleep(5); // the workers go to sleep and must wake for the next region
        }
        for (int failing = 0; failing < 9; failing++) // whichever thread claims the failing unit
        {
            var e = Assert.Throws<AggregateException>(() => team.Run(9, (first, end, thread) =>
            {
                if (first <= failing && failing < end) throw new InvalidOperationException($"unit {failing}");
            }));
            Assert.Equal($"unit {failing}", e.InnerException!.Message);
        }
        int total = 0;
        team.Run(9, (first, end, _) => Interlocked.Add(ref total, end - first));
        Assert.Equal(9, total);
    }
}
