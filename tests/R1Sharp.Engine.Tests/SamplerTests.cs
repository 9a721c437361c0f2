using R1Sharp.Engine;
using R1Sharp.Engine.Generation;
using R1Sharp.Model;
using R1Sharp.Tests;
using static TorchSharp.torch;

namespace R1Sharp.Engine.Tests;

/// <summary>Sampling logic on fake models whose distributions are known exactly.</summary>
public class SamplerTests
{
    static readonly float[] Halving = [0.5f, 0.25f, 0.125f, 0.0625f, 0.03125f, 0.03125f];
    static IReadOnlyList<int>[] Prompts(int count) => Enumerable.Range(0, count).Select(_ => (IReadOnlyList<int>)[0]).ToArray();

    static int[] Draw(FakeModel model, GenerationOptions o, int rows = 64)
        => new Sampler(model).Generate(Prompts(rows), o with { MaxNewTokens = 8 }).SelectMany(c => c.Tokens).ToArray();

    [Fact]
    public void UniformModel_TokensAreUniform_AndLogProbIsMinusLogV()
    {
        var completions = new Sampler(FakeModel.Uniform(8)).Generate(Prompts(64), new GenerationOptions { MaxNewTokens = 50, Seed = 1 });
        var all = completions.SelectMany(c => c.Tokens).ToArray();
        Assert.Equal(64 * 50, all.Length);
        var counts = Enumerable.Range(0, 8).Select(t => all.Count(x => x == t)).ToArray();
        double expected = all.Length / 8.0;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 24.3, $"chi² = {chi2:F1} over 7 degrees of freedom (p ≈ 0.001 bound)"); // 24.3 = χ²₇ at 0.999
        Assert.All(completions.SelectMany(c => c.LogProbs), lp => Assert.Equal(-Math.Log(8), lp, 5));
    }

    [Theory]
    [InlineData(1.0)] // unfiltered: the probabilities are exp(z − logsumexp z)
    [InlineData(0.5)] // q_i ∝ p_i²
    public void SkewedModel_TokensFollowTheTemperatureScaledDistribution(double temperature)
    {
        var all = new Sampler(new FakeModel(Halving)).Generate(Prompts(64), new GenerationOptions { MaxNewTokens = 64, Temperature = temperature, Seed = 11 })
            .SelectMany(c => c.Tokens).ToArray();
        var q = Halving.Select(p => Math.Pow(p, 1 / temperature)).ToArray();
        double z = q.Sum();
        double chi2 = 0;
        for (int t = 0; t < q.Length; t++)
        {
            double expected = all.Length * q[t] / z;
            double seen = all.Count(x => x == t);
            chi2 += (seen - expected) * (seen - expected) / expected;
        }
        Assert.True(chi2 < 20.5, $"chi² = {chi2:F1} over 5 degrees of freedom (p ≈ 0.001 bound)"); // 20.5 = χ²₅ at 0.999
    }

    [Fact]
    public void TopK_KeepsTheKMostProbable()
        => Assert.Equal([0, 1, 2], Draw(new FakeModel(Halving), new GenerationOptions { TopK = 3, Seed = 2 }).Distinct().Order());

    [Fact]
    public void TopP_KeepsTheSmallestSetReachingP()
    {
        // Masses 0.5, 0.25, 0.125…: top-p 0.75 keeps {0, 1}; 0.8 also needs token 2.
        Assert.Equal([0, 1], Draw(new FakeModel(Halving), new GenerationOptions { TopP = 0.75, Seed = 3 }).Distinct().Order());
        Assert.Equal([0, 1, 2], Draw(new FakeModel(Halving), new GenerationOptions { TopP = 0.8, Seed = 3 }).Distinct().Order());
    }

    [Fact]
    public void MinP_DropsTokensBelowMinPTimesTheTopProbability()
        // min-p 0.25: threshold 0.125 keeps tokens with p ≥ 0.125.
        => Assert.Equal([0, 1, 2], Draw(new FakeModel(Halving), new GenerationOptions { MinP = 0.25, Seed = 4 }).Distinct().Order());

    [Fact]
    public void LogProbIsOfTheTemperatureScaledDistributionBeforeFiltering()
    {
        var c = new Sampler(new FakeModel(Halving)).Generate(Prompts(16), new GenerationOptions { MaxNewTokens = 4, Temperature = 0.5, TopK = 2, Seed = 5 });
        // p^(1/T) renormalised: with T = 0.5, q_i ∝ p_i².
        double z = Halving.Sum(p => (double)p * p);
        foreach (var comp in c)
            for (int i = 0; i < comp.Tokens.Length; i++)
                Assert.Equal(Math.Log(Halving[comp.Tokens[i]] * (double)Halving[comp.Tokens[i]] / z), comp.LogProbs[i], 4);
    }

    [Fact]
    public void TemperatureZeroIsGreedy()
    {
        var tokens = Draw(new FakeModel([0.1f, 0.2f, 0.4f, 0.3f]), new GenerationOptions { Temperature = 0 });
        Assert.All(tokens, t => Assert.Equal(2, t));
    }

    [Fact]
    public void SameSeedSameTokens_DifferentSeedDifferentTokens()
    {
        var model = FakeModel.Uniform(50);
        var o = new GenerationOptions { MaxNewTokens = 20, Seed = 7 };
        var a = new Sampler(model).Generate(Prompts(4), o).SelectMany(c => c.Tokens).ToArray();
        var b = new Sampler(model).Generate(Prompts(4), o).SelectMany(c => c.Tokens).ToArray();
        var c = new Sampler(model).Generate(Prompts(4), o with { Seed = 8 }).SelectMany(c => c.Tokens).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void StopTokenEndsTheRowAndIsKept_OthersRunToTheLimit()
    {
        // Counting model: prompt ending in t continues t+1, t+2, … ; stop token 10.
        var prompts = new IReadOnlyList<int>[] { [1, 5], [8], [0, 0, 0, 2], [11] };
        var c = new Sampler(FakeModel.Counting(16)).Generate(prompts, new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [10], Temperature = 0 });
        Assert.Equal([6, 7, 8, 9, 10], c[0].Tokens);
        Assert.Equal(FinishReason.Stop, c[0].FinishReason);
        Assert.Equal([9, 10], c[1].Tokens);
        Assert.Equal([3, 4, 5, 6, 7, 8], c[2].Tokens);
        Assert.Equal(FinishReason.Length, c[2].FinishReason);
        Assert.Equal([12, 13, 14, 15, 0, 1], c[3].Tokens);
        Assert.Equal([0, 1, 2, 3], c.Select(x => x.PromptIndex));
    }

    [Fact]
    public void FinishedRowsAreDroppedFromTheBatch()
    {
        var model = FakeModel.Counting(64);
        var prompts = Enumerable.Range(0, 8).Select(i => (IReadOnlyList<int>)[40 + i]).ToArray(); // row i stops after 10 - i tokens
        var c = new Sampler(model).Generate(prompts, new GenerationOptions { MaxNewTokens = 20, StopTokenIds = [50], Temperature = 0 });
        for (int i = 0; i < 8; i++) Assert.Equal(Enumerable.Range(41 + i, 10 - i), c[i].Tokens);
        Assert.True(model.BatchSizes.Last() < 8, "the batch shrank as rows finished");
    }

    [Fact]
    public void StopStringEndsTheRow_TextIsCutBeforeIt()
    {
        var model = FakeModel.Counting(256);
        var sampler = new Sampler(model, ByteTokens.Decode);
        var c = sampler.Generate([ByteTokens.Encode("a")], new GenerationOptions { MaxNewTokens = 20, Stop = ["de"], Temperature = 0 })[0];
        Assert.Equal("bcde", ByteTokens.Decode(c.Tokens));
        Assert.Equal("de", c.StopString);
        Assert.Equal(FinishReason.Stop, c.FinishReason);
        Assert.Equal("bc", Sampler.TrimAtStop(ByteTokens.Decode(c.Tokens), c.StopString));
    }

    [Fact]
    public void SamplesPerPrompt_PrefillOnceAndGroupByPrompt()
    {
        var model = FakeModel.Uniform(10);
        var c = new Sampler(model).Generate(Prompts(3), new GenerationOptions { MaxNewTokens = 3, Seed = 1 }, samplesPerPrompt: 4);
        Assert.Equal(12, c.Count);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2], c.Select(x => x.PromptIndex));
        Assert.Equal(1, model.Prefills);
    }

    [Fact]
    public void InvalidOptionsAreRejected()
    {
        var s = new Sampler(FakeModel.Uniform(4));
        Assert.Throws<ArgumentException>(() => s.Generate(Prompts(1), new GenerationOptions { TopP = 0 }));
        Assert.Throws<ArgumentException>(() => s.Generate(Prompts(1), new GenerationOptions { Temperature = -1 }));
        Assert.Throws<ArgumentException>(() => s.Generate([Array.Empty<int>()], new GenerationOptions()));
        Assert.Throws<ArgumentException>(() => s.Generate(Prompts(1), new GenerationOptions { Stop = ["x"] }));
    }
}

/// <summary>The sampler on the real fixture models: padding, caching and batching change nothing.</summary>
public class SamplerOnFixtureTests
{
    [Theory]
    [InlineData("qwen2-tiny")]
    [InlineData("llama3-tiny")]
    [InlineData("qwen3-tiny")]
    public void BatchedGreedyWithMixedPromptLengthsEqualsOneByOne(string name)
    {
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", name), ScalarType.Float32);
        var lm = new CausalLMLanguageModel(model);
        var prompts = new IReadOnlyList<int>[] { [165, 299, 204, 8, 63, 73, 11, 261, 79], [5, 17], [42, 100, 7, 9, 250], [3] };
        var o = new GenerationOptions { MaxNewTokens = 12, Temperature = 0 };
        var batched = new Sampler(lm).Generate(prompts, o);
        for (int i = 0; i < prompts.Length; i++)
        {
            var single = new Sampler(lm).Generate([prompts[i]], o)[0];
            Assert.Equal(single.Tokens, batched[i].Tokens);
            for (int t = 0; t < single.LogProbs.Length; t++) Assert.Equal(single.LogProbs[t], batched[i].LogProbs[t], 1e-3);
        }
    }

    // Continuous batching: rows end at different lengths (the observer stops row r after Limit(r) tokens) and waiting prompts
    // join the running batch, the longest prompt after shorter ones (the running cache is padded on the left for it).
    static readonly IReadOnlyList<int>[] Waiting =
        [[5, 17], [42, 100, 7], [3], [9, 8], [165, 299, 204, 8, 63, 73, 11, 261, 79, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23], [6, 6, 6], [250, 1]];
    static int Limit(int row) => 2 + row * 5 % 11;

    [Theory]
    [InlineData("qwen2-tiny")]
    [InlineData("qwen3-tiny")]
    [InlineData("deepseek-v3-tiny")] // the latent cache
    [InlineData("qwen3-moe-tiny")]
    public void PromptsJoiningARunningBatch_GetTheirOneByOneGreedyCompletions(string name)
    {
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", name), ScalarType.Float32);
        var lm = new CausalLMLanguageModel(model);
        var o = new GenerationOptions { MaxNewTokens = 12, Temperature = 0 };
        var order = new List<int>();
        var joined = new Sampler(lm) { MaxBatchSize = 3 }.Generate(Waiting, o, observer: Limited(order));
        Assert.True(order.IndexOf(3) < order.LastIndexOf(2), "prompt 3 joined while prompt 2 was decoding");
        Assert.True(order.IndexOf(4) < order.LastIndexOf(2), "the longest prompt joined while prompt 2 was decoding");
        Assert.True(order.IndexOf(6) > order.IndexOf(5));
        for (int i = 0; i < Waiting.Length; i++)
        {
            var single = new Sampler(lm).Generate([Waiting[i]], o with { MaxNewTokens = Limit(i) })[0];
            Assert.Equal(single.Tokens, joined[i].Tokens);
            for (int t = 0; t < single.LogProbs.Length; t++) Assert.Equal(single.LogProbs[t], joined[i].LogProbs[t], 1e-3);
        }
    }

    [Fact]
    public void KeyedSamplesJoiningARunningBatch_EqualThoseOfOneBatch()
    {
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", "qwen2-tiny"), ScalarType.Float32);
        var lm = new CausalLMLanguageModel(model);
        var o = new GenerationOptions { MaxNewTokens = 12, Temperature = 1, Seed = 3 };
        long[] keys = [.. Enumerable.Range(100, Waiting.Length).Select(k => (long)k)];
        var order = new List<int>();
        var one = new Sampler(lm) { MaxBatchSize = 64 }.Generate(Waiting, o, 2, observer: Limited([]), promptKeys: keys);
        var joined = new Sampler(lm) { MaxBatchSize = 4 }.Generate(Waiting, o, 2, observer: Limited(order), promptKeys: keys);
        Assert.True(order.IndexOf(4) < order.LastIndexOf(2), "prompt 2 joined while prompt 1 was decoding");
        for (int row = 0; row < one.Count; row++)
        {
            Assert.Equal(Math.Min(Limit(row), 12), joined[row].Tokens.Length);
            Assert.Equal(one[row].Tokens, joined[row].Tokens);
            for (int t = 0; t < one[row].LogProbs.Length; t++) Assert.Equal(one[row].LogProbs[t], joined[row].LogProbs[t], 1e-3);
        }
    }

    /// <summary>
    /// Decode steps through VectorDecoder (the default at these batch sizes) and through libtorch alone draw the same tokens
    /// with the same log-probabilities, across continuous batching (rows joining a running batch) and keyed sampling at T = 1.
    /// </summary>
    [Theory]
    [InlineData("qwen2-tiny")]
    [InlineData("llama3-tiny")]
    [InlineData("qwen3-tiny")]
    public void VectorDecoderSamplesWhatLibtorchSamples(string name)
    {
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", name), ScalarType.Float32);
        var o = new GenerationOptions { MaxNewTokens = 16, Temperature = 1, Seed = 5 };
        long[] keys = [.. Enumerable.Range(7, Waiting.Length).Select(k => (long)k)];
        var vector = new Sampler(new CausalLMLanguageModel(model)) { MaxBatchSize = 4 }.Generate(Waiting, o, 2, observer: Limited([]), promptKeys: keys);
        var libtorch = new Sampler(new CausalLMLanguageModel(model, vectorRows: 0)) { MaxBatchSize = 4 }.Generate(Waiting, o, 2, observer: Limited([]), promptKeys: keys);
        for (int row = 0; row < vector.Count; row++)
        {
            Assert.Equal(libtorch[row].Tokens, vector[row].Tokens);
            for (int t = 0; t < vector[row].LogProbs.Length; t++) Assert.Equal(libtorch[row].LogProbs[t], vector[row].LogProbs[t], 1e-5);
        }
    }

    /// <summary>An observer that logs the order rows produce tokens in and ends row r after <see cref="Limit"/>(r) tokens.</summary>
    static TokenObserver Limited(List<int> order)
    {
        var counts = new Dictionary<int, int>();
        return (in SampledToken t) =>
        {
            order.Add(t.Row);
            counts[t.Row] = counts.GetValueOrDefault(t.Row) + 1;
            return counts[t.Row] >= Limit(t.Row) ? FinishReason.Length : null;
        };
    }

    [Fact]
    public void GreedyEqualsTheFixtureContinuation()
    {
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", "llama3-tiny"), ScalarType.Float32);
        var c = new Sampler(new CausalLMLanguageModel(model)).Generate(
            [new[] { 165, 299, 204, 8, 63, 73, 11, 261, 79 }], new GenerationOptions { MaxNewTokens = 12, Temperature = 0 })[0];
        Assert.Equal([186, 87, 204, 135, 71, 283, 163, 204, 135, 257, 71, 283], c.Tokens);
    }

    [Fact]
    public void CachedDecodingOfAPaddedBatchGivesTheFullForwardLogits()
    {
        using var scope = NewDisposeScope();
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", "qwen2-tiny"), ScalarType.Float32);
        using var noGrad = no_grad();
        long[][] rows = [[10, 20, 30, 40, 50, 60, 70], [11, 21, 31, 41, 51, 61, 71]];
        int promptA = 3, promptB = 5; // row 0 has a 3-token prompt, row 1 a 5-token prompt, left-padded to 5
        using var batch = new CausalLMLanguageModel(model).Start(2, 10);
        var ids = tensor(new long[] { 0, 0, 10, 20, 30, 11, 21, 31, 41, 51 }, [2, 5]);
        var valid = tensor(new[] { false, false, true, true, true, true, true, true, true, true }, [2, 5]);
        var stepLogits = new List<Tensor> { batch.Prefill(ids, valid) };
        stepLogits.Add(batch.Step(tensor(new long[] { 40, 61 }, [2, 1])));
        stepLogits.Add(batch.Step(tensor(new long[] { 50, 71 }, [2, 1])));

        var fullA = model.Forward(tensor(rows[0][..(promptA + 2)]).unsqueeze(0)).squeeze(0); // (T, V)
        var fullB = model.Forward(tensor(new long[] { 11, 21, 31, 41, 51, 61, 71 }).unsqueeze(0)).squeeze(0);
        for (int k = 0; k < 3; k++)
        {
            Assert.True((stepLogits[k][0] - fullA[promptA - 1 + k]).abs().max().item<float>() < 1e-4, $"row 0 step {k}");
            Assert.True((stepLogits[k][1] - fullB[promptB - 1 + k]).abs().max().item<float>() < 1e-4, $"row 1 step {k}");
        }
    }
}

/// <summary>
/// Decoding leaves no Scalar to the finalizer at any token (docs/torchsharp-native.md: each one can pin a freed block of
/// the C heap until a collection): a completion 32 tokens longer leaves no more of them. Alone in its collection, as the
/// finalized-Scalar count is process-wide.
/// </summary>
[Collection(nameof(ScalarCountCollection))]
public class SamplerScalarTests
{
    [Theory]
    [InlineData(0)]  // libtorch's decode step
    [InlineData(64)] // VectorDecoder's
    public void A_longer_completion_leaves_no_more_Scalars(int vectorRows)
    {
        Assert.True(TorchSharpScalars.Deferred); // the count comes from the hook
        using var model = Checkpoint.Load(RepoPaths.Fixture("hf-tiny", "qwen2-tiny"), ScalarType.Float32);
        var sampler = new Sampler(new CausalLMLanguageModel(model, vectorRows));
        var o = new GenerationOptions { Temperature = 0.7, TopK = 50, TopP = 0.9, MinP = 0.01, Seed = 3 };
        IReadOnlyList<int>[] prompts = [[5, 17, 42], [100, 7], [3, 9, 8, 250]];
        long Left(int tokens) => TorchSharpScalars.LeftToFinalizer(() =>
            Assert.All(sampler.Generate(prompts, o with { MaxNewTokens = tokens }), x => Assert.Equal(tokens, x.Tokens.Length)));
        Left(4); // warm-up
        Assert.Equal(Left(4), Left(36));
    }
}

[CollectionDefinition(nameof(ScalarCountCollection), DisableParallelization = true)]
public class ScalarCountCollection;
