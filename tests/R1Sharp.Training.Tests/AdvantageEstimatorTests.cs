using R1Sharp.Training.Losses.Grpo;

namespace R1Sharp.Training.Tests;

/// <summary>
/// The advantage estimators on the same 2 groups × 3 samples as <see cref="GrpoMathTests"/>, against numbers worked out by
/// hand from each paper's formula. Rewards [1, 0, 0 | 1, 1, 1]; completion lengths [2, 1, 2 | 2, 1, 2] (10 tokens).
/// </summary>
public class AdvantageEstimatorTests
{
    static readonly double[] Rewards = [1, 0, 0, 1, 1, 1];
    static readonly int[] Tokens = [2, 1, 2, 2, 1, 2];

    static float[] Run(AdvantageType type) => AdvantageEstimators.For(type).Compute(Rewards, 3, Tokens);

    [Fact]
    public void Grpo_is_the_group_normalised_advantage_scaled_as_scale_rewards_says()
    {
        const double s = 0.5773502691896258; // √(1/3), the sample std of [1, 0, 0]
        var a = Run(AdvantageType.Grpo);
        Assert.Equal((2.0 / 3) / (s + 1e-4), a[0], 5);
        Assert.Equal((-1.0 / 3) / (s + 1e-4), a[1], 5);
        Assert.Equal([0f, 0f, 0f], a[3..]);
        var drGrpo = AdvantageEstimators.For(AdvantageType.Grpo, AdvantageScaling.None).Compute(Rewards, 3, Tokens);
        Assert.Equal([2f / 3, -1f / 3, -1f / 3, 0, 0, 0], drGrpo);
    }

    [Fact]
    public void Rloo_subtracts_the_mean_of_the_other_samples()
    {
        // Group 1: 1 − (0 + 0)/2 = 1;  0 − (1 + 0)/2 = −0.5 (twice).  Group 2: 1 − (1 + 1)/2 = 0.
        Assert.Equal([1f, -0.5f, -0.5f, 0f, 0f, 0f], Run(AdvantageType.Rloo));
        // = G/(G − 1) · (r − mean): 3/2 · 2/3 = 1.  With one sample there is nobody to leave out: Â = r (verl).
        Assert.Equal([0.7f, 0.2f], new RlooAdvantage().Compute([0.7, 0.2], 1, [1, 1]));
    }

    [Fact]
    public void ReinforcePlusPlus_whitens_the_rewards_over_the_tokens_of_the_batch()
    {
        // Token-weighted mean: (2·1 + 1·0 + 2·0 + 2·1 + 1·1 + 2·1) / 10 = 0.7.
        // Σ L (r − 0.7)² = 7 tokens · 0.09 + 3 tokens · 0.49 = 2.1;  unbiased variance 2.1 / 9.
        double std = Math.Sqrt(2.1 / 9 + 1e-8);
        var a = Run(AdvantageType.ReinforcePlusPlus);
        foreach (int i in new[] { 0, 3, 4, 5 }) Assert.Equal(0.3 / std, a[i], 5);  // 0.621059
        foreach (int i in new[] { 1, 2 }) Assert.Equal(-0.7 / std, a[i], 5);        // −1.449138
        // No group baseline: the all-correct group still gets a positive advantage.
        Assert.True(a[3] > 0);

        // With equal lengths it is the batch z-score with the sample std: (1 − 2/3) / √(4/15).
        var equal = new ReinforcePlusPlusAdvantage().Compute(Rewards, 3, [5, 5, 5, 5, 5, 5]);
        double batchStd = Math.Sqrt((12.0 / 9 * 5) / 29); // Σ over 30 tokens: 5 · 12/9, Bessel over 30
        Assert.Equal((1.0 / 3) / batchStd, equal[0], 5);
    }

    [Fact]
    public void ReinforcePlusPlusBaseline_subtracts_the_group_mean_then_whitens_over_the_batch()
    {
        // Centred: [2/3, −1/3, −1/3 | 0, 0, 0]. Token-weighted mean: (2·2/3 − 1/3 − 2·1/3) / 10 = 1/30.
        // Σ L (c − 1/30)² = 2·(19/30)² + 1·(11/30)² + 2·(11/30)² + 5·(1/30)² = 1090/900;  variance (1090/900) / 9.
        double std = Math.Sqrt(1090.0 / 900 / 9 + 1e-8);
        var a = Run(AdvantageType.ReinforcePlusPlusBaseline);
        Assert.Equal((19.0 / 30) / std, a[0], 5);   // 1.726483
        Assert.Equal((-11.0 / 30) / std, a[1], 5);  // −0.999543
        Assert.Equal((-11.0 / 30) / std, a[2], 5);
        foreach (int i in new[] { 3, 4, 5 }) Assert.Equal((-1.0 / 30) / std, a[i], 5);
        // The whitened advantages have token-weighted mean 0.
        Assert.Equal(0, Enumerable.Range(0, 6).Sum(i => Tokens[i] * (double)a[i]), 4);
    }

    [Fact]
    public void ReinforcePlusPlus_ignores_masked_completions_in_its_statistics()
    {
        // The third completion is masked (0 tokens): the statistics are those of [1, 0] with 2 and 1 tokens.
        var a = new ReinforcePlusPlusAdvantage().Compute([1, 0, 5], 3, [2, 1, 0]);
        double mean = 2.0 / 3, std = Math.Sqrt((2 * (1 - mean) * (1 - mean) + mean * mean) / 2 + 1e-8);
        Assert.Equal((1 - mean) / std, a[0], 5);
        Assert.Equal(-mean / std, a[1], 5);
        Assert.Equal([0f, 0f], new ReinforcePlusPlusAdvantage().Compute([1, 0], 2, [0, 1])); // fewer than 2 tokens
    }

    [Fact]
    public void MaxRl_divides_by_the_group_mean_so_hard_prompts_weigh_more()
    {
        // Group 1: mean 1/3 → (1 − 1/3) / (1/3 + 1e-6) ≈ 2, (0 − 1/3) / (1/3 + 1e-6) ≈ −1.  Group 2: mean 1 → 0.
        var a = Run(AdvantageType.MaxRl);
        Assert.Equal((2.0 / 3) / (1.0 / 3 + 1e-6), a[0], 5);
        Assert.Equal((-1.0 / 3) / (1.0 / 3 + 1e-6), a[1], 5);
        Assert.Equal([0f, 0f, 0f], a[3..]);
        // A prompt solved once in 4 weighs 3× one solved 3 times in 4 (1/p̂): Â(correct) = (1 − p̂)/p̂.
        var hard = new MaxRlAdvantage().Compute([1, 0, 0, 0, 1, 1, 1, 0], 4, [1, 1, 1, 1, 1, 1, 1, 1]);
        Assert.Equal(3, hard[0], 4);
        Assert.Equal(1 / 3.0, hard[4], 4);
        Assert.Equal([0f, 0f], new MaxRlAdvantage().Compute([0, 0], 2, [1, 1])); // nothing solved: no signal, no division by 0
    }

    [Fact]
    public void Estimators_are_chosen_by_advantage_type_and_refuse_ragged_groups()
    {
        Assert.Equal(["grpo", "rloo", "reinforce_plus_plus", "reinforce_plus_plus_baseline", "max_rl"],
            Enum.GetValues<AdvantageType>().Select(t => AdvantageEstimators.For(t).Name));
        Assert.Equal(AdvantageScaling.Batch, Assert.IsType<GrpoAdvantage>(AdvantageEstimators.For(AdvantageType.Grpo, AdvantageScaling.Batch)).Scaling);
        Assert.Throws<ArgumentOutOfRangeException>(() => AdvantageEstimators.For((AdvantageType)42));
        foreach (var type in Enum.GetValues<AdvantageType>())
            Assert.Throws<ArgumentException>(() => AdvantageEstimators.For(type).Compute([1, 0, 1, 0, 1], 2, [1, 1, 1, 1, 1]));
    }
}
