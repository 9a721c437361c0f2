using R1Sharp.Engine;
using R1Sharp.Engine.Generation;

namespace R1Sharp.Engine.Tests;

/// <summary>The sampler's per-token observer (streaming, per-row limits) and top log-probabilities.</summary>
public class SamplerObserverTests
{
    [Fact]
    public void ObserverSeesEveryTokenOnce_InRowOrderOfTheResult_WithTheSamplersVerdict()
    {
        var prompts = new IReadOnlyList<int>[] { [1, 5], [8], [0, 0, 0, 2] };
        var seen = new List<SampledToken>();
        var c = new Sampler(FakeModel.Counting(16)) { MaxBatchSize = 4 }.Generate(prompts,
            new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [10], Temperature = 0 }, samplesPerPrompt: 2,
            observer: (in SampledToken t) => { seen.Add(t); return null; });
        Assert.Equal(6, c.Count); // 4 rows per batch: prompts 0–1 in the first, prompt 2 in the second
        for (int row = 0; row < c.Count; row++)
        {
            var mine = seen.Where(t => t.Row == row).ToList();
            Assert.Equal(c[row].Tokens, mine.Select(t => t.Token));
            Assert.Equal(c[row].LogProbs, mine.Select(t => t.LogProb));
            Assert.All(mine.SkipLast(1), t => Assert.Null(t.Finish));
            Assert.Equal(c[row].FinishReason, mine[^1].Finish);
        }
        Assert.Equal([6, 7, 8, 9, 10], c[0].Tokens);       // stop token 10
        Assert.Equal([3, 4, 5, 6, 7, 8], c[4].Tokens);     // max new tokens
    }

    [Fact]
    public void ObserverEndsRowsEarly_WithItsOwnReason_OthersContinue()
    {
        var prompts = new IReadOnlyList<int>[] { [0], [20], [40] };
        int[] limits = [2, 5, 100];
        var c = new Sampler(FakeModel.Counting(64)).Generate(prompts, new GenerationOptions { MaxNewTokens = 8, Temperature = 0 },
            observer: (in SampledToken t) => t.Token == limits[t.Row] ? FinishReason.Length : t.Token == 23 ? FinishReason.Stop : null);
        Assert.Equal([1, 2], c[0].Tokens);
        Assert.Equal(FinishReason.Length, c[0].FinishReason);
        Assert.Equal([21, 22, 23], c[1].Tokens);
        Assert.Equal(FinishReason.Stop, c[1].FinishReason);
        Assert.Equal(Enumerable.Range(41, 8), c[2].Tokens); // the sampler's own limit
        Assert.Equal(FinishReason.Length, c[2].FinishReason);
    }

    [Fact]
    public void TopLogProbsAreTheMostProbableTokensOfTheScaledDistribution()
    {
        float[] halving = [0.5f, 0.25f, 0.125f, 0.0625f, 0.03125f, 0.03125f];
        var tops = new List<SampledToken>();
        new Sampler(new FakeModel(halving)).Generate([[0]], new GenerationOptions { MaxNewTokens = 3, Temperature = 1, TopLogProbs = 3, Seed = 1 },
            observer: (in SampledToken t) => { tops.Add(t); return null; });
        Assert.Equal(3, tops.Count);
        foreach (var t in tops)
        {
            Assert.Equal([0, 1, 2], t.TopTokens!);
            Assert.Equal([Math.Log(0.5), Math.Log(0.25), Math.Log(0.125)], t.TopLogProbs!.Select(x => (double)x), new ToleranceComparer(1e-5));
        }

        // Temperature 0.5: q ∝ p², so the top log-probability is log(0.25 / Σp²).
        tops.Clear();
        new Sampler(new FakeModel(halving)).Generate([[0]], new GenerationOptions { MaxNewTokens = 1, Temperature = 0.5, TopLogProbs = 1, Seed = 1 },
            observer: (in SampledToken t) => { tops.Add(t); return null; });
        double z = halving.Sum(p => (double)p * p);
        Assert.Equal(Math.Log(0.25 / z), tops[0].TopLogProbs![0], 4);
    }

    sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(double x) => 0;
    }
}
