using R1Sharp.Engine;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Engine.Tests;

/// <summary>
/// Keyed sampling (GRPO's rollouts on several ranks): a completion depends on (seed, its prompt's key, its sample index)
/// and not on which other prompts are sampled with it; its tokens still follow the model's (filtered) distribution.
/// </summary>
public class KeyedSamplingTests
{
    static readonly float[] Halving = [0.5f, 0.25f, 0.125f, 0.0625f, 0.03125f, 0.03125f];

    [Fact]
    public void A_prompts_completions_do_not_depend_on_the_batch_it_is_sampled_in()
    {
        IReadOnlyList<int>[] prompts = [[1], [2, 3], [4, 5, 6], [7]];
        long[] keys = [40, 41, 42, 43];
        var o = new GenerationOptions { MaxNewTokens = 12, Temperature = 1, Seed = 9 };
        var model = FakeModel.Uniform(16);
        var together = new Sampler(model) { MaxBatchSize = 64 }.Generate(prompts, o, samplesPerPrompt: 3, promptKeys: keys);
        // The same prompts split 1 + 3, the second part reordered and decoded two prompts (6 rows) at a time.
        var first = new Sampler(model).Generate([prompts[0]], o, 3, promptKeys: [keys[0]]);
        var rest = new Sampler(model) { MaxBatchSize = 6 }.Generate([prompts[3], prompts[1], prompts[2]], o, 3, promptKeys: [keys[3], keys[1], keys[2]]);
        string Tokens(Completion c) => string.Join(",", c.Tokens);
        for (int j = 0; j < 3; j++)
        {
            Assert.Equal(Tokens(together[j]), Tokens(first[j]));
            Assert.Equal(Tokens(together[3 + j]), Tokens(rest[3 + j]));  // prompt 1
            Assert.Equal(Tokens(together[6 + j]), Tokens(rest[6 + j]));  // prompt 2
            Assert.Equal(Tokens(together[9 + j]), Tokens(rest[j]));      // prompt 3
        }
        // The samples of one prompt differ from each other, and another seed or key gives other completions.
        Assert.Equal(3, together.Take(3).Select(Tokens).Distinct().Count());
        var reseeded = new Sampler(model).Generate([prompts[0]], o with { Seed = 10 }, 3, promptKeys: [keys[0]]);
        var rekeyed = new Sampler(model).Generate([prompts[0]], o, 3, promptKeys: [99]);
        Assert.NotEqual(Tokens(first[0]), Tokens(reseeded[0]));
        Assert.NotEqual(Tokens(first[0]), Tokens(rekeyed[0]));
    }

    [Fact]
    public void Keyed_draws_follow_the_model_distribution_and_its_filters()
    {
        var prompts = Enumerable.Range(0, 200).Select(_ => (IReadOnlyList<int>)[0]).ToList();
        var keys = Enumerable.Range(0, 200).Select(i => (long)i).ToList();
        var all = new Sampler(new FakeModel(Halving)).Generate(prompts, new GenerationOptions { MaxNewTokens = 20, Temperature = 1, Seed = 3 }, promptKeys: keys)
            .SelectMany(c => c.Tokens).ToArray();
        Assert.Equal(4000, all.Length);
        double chi2 = Enumerable.Range(0, Halving.Length).Sum(t =>
        {
            double expected = all.Length * (double)Halving[t], seen = all.Count(x => x == t);
            return (seen - expected) * (seen - expected) / expected;
        });
        Assert.True(chi2 < 20.5, $"chi² = {chi2:F1} over 5 degrees of freedom (20.5 = χ²₅ at 0.999)");

        // top-k 2: only the two most probable tokens, in proportion 2 : 1.
        var topK = new Sampler(new FakeModel(Halving)).Generate(prompts, new GenerationOptions { MaxNewTokens = 20, TopK = 2, Seed = 4 }, promptKeys: keys)
            .SelectMany(c => c.Tokens).ToArray();
        Assert.Equal([0, 1], topK.Distinct().Order());
        double share = topK.Count(t => t == 0) / (double)topK.Length;
        Assert.InRange(share, 2 / 3.0 - 0.03, 2 / 3.0 + 0.03); // 4000 draws: σ ≈ 0.0075
    }

    [Fact]
    public void Keyed_uniforms_lie_in_the_open_unit_interval_and_are_spread_evenly()
    {
        var u = Enumerable.Range(0, 10_000).Select(i => Sampler.KeyedUniform(7, i / 100, i % 10, i % 37)).ToArray();
        Assert.All(u, x => Assert.InRange(x, float.Epsilon, 1 - 1e-8f));
        var bins = new int[10];
        foreach (var x in u) bins[(int)(x * 10)]++;
        Assert.All(bins, b => Assert.InRange(b, 850, 1150)); // 1000 expected, σ ≈ 30
        Assert.Equal(Sampler.KeyedUniform(7, 3, 1, 2), Sampler.KeyedUniform(7, 3, 1, 2));
        Assert.NotEqual(Sampler.KeyedUniform(7, 3, 1, 2), Sampler.KeyedUniform(7, 3, 2, 1));
    }
}
