using R1Sharp.Training.Losses.Grpo;
using static TorchSharp.torch;

namespace R1Sharp.Training.Tests;

/// <summary>
/// GRPO's pieces on 2 groups × 3 samples, checked against numbers computed by hand.
/// Rewards [1, 0, 0 | 1, 1, 1]: group 1 has mean 1/3 and sample std √(1/3) = 0.57735; group 2 has std 0.
/// </summary>
public class GrpoMathTests
{
    static readonly double[] Rewards = [1, 0, 0, 1, 1, 1];
    const double S = 0.5773502691896258; // √(1/3)
    static readonly double APlus = (2.0 / 3) / (S + 1e-4), AMinus = (-1.0 / 3) / (S + 1e-4);

    [Fact]
    public void Advantages_AreGroupNormalised_ZeroMeanPerGroup_AndZeroStdGroupsFlagged()
    {
        var (a, zero) = GroupAdvantages.Compute(Rewards, 3, AdvantageScaling.Group);
        Assert.Equal(APlus, a[0], 5);
        Assert.Equal(AMinus, a[1], 5);
        Assert.Equal(AMinus, a[2], 5);
        Assert.Equal([0f, 0f, 0f], a[3..]);
        Assert.Equal([false, true], zero);
        Assert.Equal(0, a[0] + a[1] + a[2], 5);
    }

    [Fact]
    public void Advantages_BatchScalingAndNoScaling()
    {
        // Batch std of [1,0,0,1,1,1]: mean 2/3, Σ(r−m)² = 4·(1/9) + 2·(4/9) = 12/9, /5 → √(4/15) = 0.516398.
        var (batch, _) = GroupAdvantages.Compute(Rewards, 3, AdvantageScaling.Batch);
        Assert.Equal((2.0 / 3) / (Math.Sqrt(4.0 / 15) + 1e-4), batch[0], 5);
        var (none, _) = GroupAdvantages.Compute(Rewards, 3, AdvantageScaling.None);
        Assert.Equal(2.0 / 3, none[0], 6);
        Assert.Equal(-1.0 / 3, none[1], 6);
    }

    // Completion lengths 2, 1, 2, 2, 1, 2 over T = 2: Σ m = 10.
    static readonly float[,] Mask = { { 1, 1 }, { 1, 0 }, { 1, 1 }, { 1, 1 }, { 1, 0 }, { 1, 1 } };

    static (Tensor Loss, float[] Grad) Run(ILossAggregation aggregation)
    {
        var (adv, _) = GroupAdvantages.Compute(Rewards, 3, AdvantageScaling.Group);
        var logp = full(6, 2, -1.0f).requires_grad_(true);
        var mask = tensor(Mask);
        var perToken = PolicyLoss.Compute(logp, logp.detach(), tensor(adv), 0.2, 0.2);
        var loss = aggregation.Reduce(perToken.Loss, mask, new AggregationContext(MaxCompletionLength: 2, StepActiveTokens: 10, MicroBatches: 1));
        loss.backward();
        return (loss, logp.grad!.data<float>().ToArray());
    }

    static void AssertGrad(float[] grad, Func<int, double> perToken)
    {
        for (int i = 0; i < 6; i++)
            for (int t = 0; t < 2; t++)
                Assert.Equal(Mask[i, t] == 0 ? 0 : perToken(i), grad[i * 2 + t], 5);
    }

    static double A(int i) => i switch { 0 => APlus, 1 or 2 => AMinus, _ => 0 };
    static int Length(int i) => i is 1 or 4 ? 1 : 2;

    [Fact]
    public void Grpo_LossIsZeroAtRatioOne_GradientIsMinusAOverLengthOverB()
    {
        var (loss, grad) = Run(new GrpoAggregation());
        Assert.Equal(0, loss.item<float>(), 6);           // advantages are zero-mean per group: the famous "loss ≈ 0"
        AssertGrad(grad, i => -A(i) / Length(i) / 6);
    }

    [Fact]
    public void Bnpo_TokenLevelMean()
    {
        var (loss, grad) = Run(new BnpoAggregation());
        double expected = -(2 * APlus + 1 * AMinus + 2 * AMinus) / 10; // = −0.057725
        Assert.Equal(expected, loss.item<float>(), 5);
        AssertGrad(grad, i => -A(i) / 10);
    }

    [Fact]
    public void Dapo_NormalisesByTheStepsActiveTokens()
    {
        var (loss, grad) = Run(new DapoAggregation());
        Assert.Equal(-(2 * APlus + 3 * AMinus) / 10, loss.item<float>(), 5);
        AssertGrad(grad, i => -A(i) / 10);
    }

    [Fact]
    public void DrGrpo_ConstantNormaliser()
    {
        var (loss, grad) = Run(new DrGrpoAggregation());
        Assert.Equal(-(2 * APlus + 3 * AMinus) / 12, loss.item<float>(), 5);
        AssertGrad(grad, i => -A(i) / 12);
    }

    [Fact]
    public void RatioIsOneWhenOldEqualsCurrent_AndClippingBindsOnlyInTheAdvantagesDirection()
    {
        var logp = tensor(new float[,] { { -1f, -1f } });
        var same = PolicyLoss.Compute(logp, logp, tensor(new[] { 1f }), 0.2, 0.28);
        Assert.Equal([-1f, -1f], same.Loss.data<float>().ToArray());

        // ρ = e^0.5 = 1.6487 > 1 + ε_high: with Â > 0 the clipped term binds (loss −1.28·Â, no gradient);
        // with Â < 0 the unclipped term is the minimum.
        var old = logp - 0.5f;
        var pos = PolicyLoss.Compute(logp, old, tensor(new[] { 2f }), 0.2, 0.28);
        Assert.Equal(-1.28f * 2, pos.Loss[0, 0].item<float>(), 5);
        Assert.True(pos.HighClipped[0, 0].item<bool>());
        var neg = PolicyLoss.Compute(logp, old, tensor(new[] { -2f }), 0.2, 0.28);
        Assert.Equal(Math.Exp(0.5) * 2, neg.Loss[0, 0].item<float>(), 4);
        Assert.False(neg.HighClipped[0, 0].item<bool>());
        Assert.False(neg.LowClipped[0, 0].item<bool>());

        // ρ = e^−0.5 = 0.6065 < 1 − ε_low with Â < 0: the lower clip binds.
        var low = PolicyLoss.Compute(logp, logp + 0.5f, tensor(new[] { -1f }), 0.2, 0.28);
        Assert.True(low.LowClipped[0, 0].item<bool>());
        Assert.Equal(0.8f * -1 * -1, low.Loss[0, 0].item<float>(), 5);
    }

    [Fact]
    public void K3Kl_IsZeroForEqualPolicies_PositiveOtherwise_AndMatchesTheFormula()
    {
        var logp = tensor(new float[,] { { -1f, -2f } });
        var equal = PolicyLoss.Compute(logp, logp, tensor(new[] { 0f }), 0.2, 0.2, refLogProbs: logp, beta: 0.1);
        Assert.All(equal.Kl!.data<float>().ToArray(), v => Assert.Equal(0f, v, 7));

        var reference = tensor(new float[,] { { -1.5f, -1f } });
        var kl = PolicyLoss.Compute(logp, logp, tensor(new[] { 0f }), 0.2, 0.2, refLogProbs: reference, beta: 0.1).Kl!.data<float>().ToArray();
        // d = ref − logp: −0.5 → e^−0.5 + 0.5 − 1 = 0.106531;  +1 → e − 2 = 0.718282
        Assert.Equal(0.106531, kl[0], 5);
        Assert.Equal(0.718282, kl[1], 5);
        var random = randn(50, 20);
        var k = PolicyLoss.Compute(random, random, zeros(50), 0.2, 0.2, refLogProbs: randn(50, 20), beta: 1).Kl!;
        Assert.True(k.min().item<float>() >= 0);
    }

    [Fact]
    public void Aggregations_are_chosen_by_loss_type()
    {
        Assert.Equal(["grpo", "bnpo", "dapo", "dr_grpo"], Enum.GetValues<LossType>().Select(t => LossAggregations.For(t).Name));
        Assert.IsType<DrGrpoAggregation>(LossAggregations.For(LossType.DrGrpo));
        Assert.Throws<ArgumentOutOfRangeException>(() => LossAggregations.For((LossType)42));
    }
}
