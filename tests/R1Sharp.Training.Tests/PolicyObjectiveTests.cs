using R1Sharp.Training.Losses.Grpo;
using static TorchSharp.torch;

namespace R1Sharp.Training.Tests;

/// <summary>
/// The policy objectives on small batches whose ratios are chosen by hand (log π_θ is a leaf, log π_old = log π_θ − δ, so
/// log ρ = δ exactly), checked against each paper's formula worked out by hand — loss values and gradients.
/// </summary>
public class PolicyObjectiveTests
{
    /// <summary>log π_θ (a leaf with gradient) and log π_old such that log ρ = <paramref name="logRatio"/>.</summary>
    static (Tensor LogProbs, Tensor Old) Ratios(float[,] logProbs, float[,] logRatio)
    {
        var logp = tensor(logProbs).requires_grad_(true);
        return (logp, logp.detach() - tensor(logRatio));
    }

    static float[] Grad(Tensor scalar, Tensor leaf)
    {
        scalar.backward();
        return leaf.grad!.data<float>().ToArray();
    }

    static void Near(double[] expected, float[] actual, int digits = 5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < Math.Pow(10, -digits), $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void DualClip_bounds_the_loss_of_negative_advantages_by_c_times_the_advantage()
    {
        // Â = −1 on both rows. Row 0: ρ = e^1.5 = 4.4817 > c = 3: PPO's loss ρ·|Â| = 4.4817 is capped at c·|Â| = 3 (no gradient).
        // Row 1: ρ = e^0.5 = 1.6487 < c: the PPO loss −ρÂ = 1.6487, gradient dℓ/dlog π = ρ = 1.6487.
        var (logp, old) = Ratios(new float[,] { { -1f }, { -1f } }, new float[,] { { 1.5f }, { 0.5f } });
        var x = new PolicyInputs(logp, old, tensor(new[] { -1f, -1f }), ones(2, 1));
        var terms = new DualClipObjective(0.2, 0.2, 3).Compute(x);
        Near([3, Math.Exp(0.5)], terms.Loss.data<float>().ToArray());
        Assert.Equal([true, false], terms.DualClipped!.data<bool>().ToArray());
        Near([0, Math.Exp(0.5)], Grad(terms.Loss.sum(), logp));

        // PPO clip alone leaves row 0 unbounded (4.4817, gradient 4.4817); positive advantages are PPO clip's.
        var ppo = new PpoClipObjective(0.2, 0.2).Compute(x);
        Assert.Equal(Math.Exp(1.5), ppo.Loss[0, 0].item<float>(), 4);
        Assert.Null(ppo.DualClipped);
        var (lp2, old2) = Ratios(new float[,] { { -1f } }, new float[,] { { 1.5f } });
        var positive = new PolicyInputs(lp2, old2, tensor(new[] { 1f }), ones(1, 1));
        Assert.Equal(-1.2f, new DualClipObjective(0.2, 0.2, 3).Compute(positive).Loss.item<float>(), 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DualClipObjective(0.2, 0.2, 1.0));
    }

    [Fact]
    public void Gspo_clips_one_length_normalised_ratio_per_sequence()
    {
        // Row 0 (2 tokens, Â = 1): log ρ = [0.2, −0.1] → s = exp(0.05) = 1.051271, inside [0.8, 1.2]: ℓ = −1.051271 on each token.
        // Row 1 (1 token counted, Â = 1): log ρ = 0.3 (the masked 5.0 does not count) → s = 1.349859 > 1.2: ℓ = −1.2, no gradient.
        var (logp, old) = Ratios(new float[,] { { -1f, -2f }, { -1f, -3f } }, new float[,] { { 0.2f, -0.1f }, { 0.3f, 5f } });
        var mask = tensor(new float[,] { { 1, 1 }, { 1, 0 } });
        var terms = new GspoObjective(0.2, 0.2).Compute(new PolicyInputs(logp, old, tensor(new[] { 1f, 1f }), mask));
        Near([-Math.Exp(0.05), -Math.Exp(0.05), -1.2, -1.2], terms.Loss.contiguous().data<float>().ToArray());
        Near([Math.Exp(0.05), Math.Exp(0.05), Math.Exp(0.3), Math.Exp(0.3)], terms.Ratio.contiguous().data<float>().ToArray());
        Assert.Equal([false, false, true, true], terms.HighClipped.contiguous().data<bool>().ToArray());

        // Mean over sequences of the token mean (loss_type grpo) = (ℓ_0 + ℓ_1) / 2: ∂/∂log π_0t = −Â·s_0 / |o_0| / 2.
        var loss = new GrpoAggregation().Reduce(terms.Loss, mask, new AggregationContext(2, 3, 1));
        Near([-Math.Exp(0.05) / 4, -Math.Exp(0.05) / 4, 0, 0], Grad(loss, logp));
    }

    [Fact]
    public void Gspo_on_policy_gives_the_same_gradient_as_ppo_clip_with_sequence_mean()
    {
        // μ = 1: π_old = sg(π_θ), s = 1, and ∇ = −Â · mean_t ∇log π_t — exactly GRPO's per-sequence mean.
        var values = new float[,] { { -1f, -2f, -0.5f }, { -0.3f, -1.5f, -2f } };
        var mask = tensor(new float[,] { { 1, 1, 1 }, { 1, 1, 0 } });
        var adv = tensor(new[] { 0.7f, -1.3f });
        var context = new AggregationContext(3, 5, 1);
        float[] GradOf(IPolicyObjective objective)
        {
            var logp = tensor(values).requires_grad_(true);
            var terms = objective.Compute(new PolicyInputs(logp, logp.detach(), adv, mask));
            return Grad(new GrpoAggregation().Reduce(terms.Loss, mask, context), logp);
        }
        Near(GradOf(new PpoClipObjective(0.2, 0.2)).Select(v => (double)v).ToArray(), GradOf(new GspoObjective(3e-4, 4e-4)), 6);
    }

    [Fact]
    public void Cispo_weights_log_pi_by_the_clipped_importance_weight_and_keeps_every_tokens_gradient()
    {
        // ρ = [e^0.5 = 1.6487, e^−1.5 = 0.2231]; ε_low 1 (no lower bound), ε_high 0.5: r̂ = [1.5, 0.2231]. Â = 2.
        // ℓ = −r̂·Â·log π = [−1.5·2·(−1), −0.2231·2·(−2)] = [3, 0.8925];  ∂ℓ/∂log π = −r̂·Â = [−3, −0.4463].
        var (logp, old) = Ratios(new float[,] { { -1f, -2f } }, new float[,] { { 0.5f, -1.5f } });
        var x = new PolicyInputs(logp, old, tensor(new[] { 2f }), ones(1, 2));
        var terms = new CispoObjective(1, 0.5).Compute(x);
        Near([3, 4 * Math.Exp(-1.5)], terms.Loss.data<float>().ToArray(), 4);
        Assert.Equal([true, false], terms.HighClipped.data<bool>().ToArray());
        Assert.Equal([false, false], terms.LowClipped.data<bool>().ToArray());
        Near([-3, -2 * Math.Exp(-1.5)], Grad(terms.Loss.sum(), logp), 4);

        // PPO clip gives the first token no gradient at all (ρ > 1 + ε with Â > 0): the token CISPO keeps.
        var (lp2, old2) = Ratios(new float[,] { { -1f, -2f } }, new float[,] { { 0.5f, -1.5f } });
        var ppo = new PpoClipObjective(0.2, 0.5).Compute(new PolicyInputs(lp2, old2, tensor(new[] { 2f }), ones(1, 2)));
        Assert.Equal(0f, Grad(ppo.Loss.sum(), lp2)[0]);
    }

    [Fact]
    public void Cispo_on_policy_is_reinforce_with_the_same_gradient_as_ppo_clip()
    {
        // ρ = 1: ∇ = −Â ∇log π for both; only the loss value differs (−Â·log π against −Â).
        var values = new float[,] { { -1f, -2f }, { -0.5f, -3f } };
        var adv = tensor(new[] { 1.5f, -0.5f });
        var mask = ones(2, 2);
        float[] GradOf(IPolicyObjective objective)
        {
            var logp = tensor(values).requires_grad_(true);
            return Grad(objective.Compute(new PolicyInputs(logp, logp.detach(), adv, mask)).Loss.sum(), logp);
        }
        Near(GradOf(new PpoClipObjective(0.2, 0.2)).Select(v => (double)v).ToArray(), GradOf(new CispoObjective(1, 4)), 6);
        Near([-1.5, -1.5, 0.5, 0.5], GradOf(new CispoObjective(1, 4)));
    }

    [Fact]
    public void Gmpo_takes_the_geometric_mean_of_token_ratios_clipped_in_log_space()
    {
        // Both rows: log ρ = [0.5, −0.6, 0.2], ε = 0.4 (ratios in (e^−0.4, e^0.4)).
        // Row 0, Â = +1: min(log ρ, clip) = [0.4, −0.6, 0.2] → mean 0 → ratio 1, ℓ = −1;
        //   ∂ℓ/∂log π = −Â·ratio/3 on the unclipped tokens = [0, −1/3, −1/3].
        // Row 1, Â = −1: max(log ρ, clip) = [0.5, −0.4, 0.2] → mean 0.1 → ratio e^0.1 = 1.105171, ℓ = −Â·ratio = 1.105171;
        //   gradient [e^0.1/3, 0, e^0.1/3] = [0.368390, 0, 0.368390].
        var (logp, old) = Ratios(new float[,] { { -1f, -2f, -1f }, { -1f, -2f, -1f } }, new float[,] { { 0.5f, -0.6f, 0.2f }, { 0.5f, -0.6f, 0.2f } });
        var mask = ones(2, 3);
        var terms = new GmpoObjective(0.4, 0.4).Compute(new PolicyInputs(logp, old, tensor(new[] { 1f, -1f }), mask));
        Near([-1, -1, -1, Math.Exp(0.1), Math.Exp(0.1), Math.Exp(0.1)], terms.Loss.contiguous().data<float>().ToArray());
        Assert.Equal([true, false, false, false, false, false], terms.HighClipped.contiguous().data<bool>().ToArray());
        Assert.Equal([false, false, false, false, true, false], terms.LowClipped.contiguous().data<bool>().ToArray());
        // loss_type grpo: mean over the 2 sequences of each sequence's (constant) token mean.
        var loss = new GrpoAggregation().Reduce(terms.Loss, mask, new AggregationContext(3, 6, 1));
        Near([0, -1.0 / 6, -1.0 / 6, Math.Exp(0.1) / 6, 0, Math.Exp(0.1) / 6], Grad(loss, logp));
    }

    [Fact]
    public void Token_weights_scale_the_policy_term_only_and_the_kl_is_added_after()
    {
        // ρ = 1, Â = 1: the PPO term is −1 per token; w = [0.5, 0] (say a truncated importance weight and an IcePop mask).
        // KL(ref − log π = [−0.5, 1]) = [e^−0.5 + 0.5 − 1, e − 2] = [0.106531, 0.718282], β = 0.1.
        var logp = tensor(new float[,] { { -1f, -2f } });
        var reference = tensor(new float[,] { { -1.5f, -1f } });
        var x = new PolicyInputs(logp, logp, tensor(new[] { 1f }), ones(1, 2));
        var l = PolicyLoss.Compute(new PpoClipObjective(0.2, 0.2), x, reference, 0.1, tokenWeights: tensor(new float[,] { { 0.5f, 0f } }));
        Near([-0.5 + 0.1 * 0.106531, 0 + 0.1 * 0.718282], l.Loss.data<float>().ToArray());
        Near([0.106531, 0.718282], l.Kl!.data<float>().ToArray());
        Assert.Null(PolicyLoss.Compute(new PpoClipObjective(0.2, 0.2), x, reference, beta: 0).Kl);
    }

    [Fact]
    public void Objectives_are_chosen_by_policy_loss_type()
    {
        Assert.Equal(["ppo_clip", "dual_clip", "gspo", "cispo", "gmpo"],
            Enum.GetValues<PolicyLossType>().Select(t => PolicyObjectives.For(t, 0.2, 0.2).Name));
        Assert.Equal(5.0, Assert.IsType<DualClipObjective>(PolicyObjectives.For(PolicyLossType.DualClip, 0.2, 0.2, 5)).C);
        var gspo = Assert.IsType<GspoObjective>(PolicyObjectives.For(PolicyLossType.Gspo, 3e-4, 4e-4));
        Assert.Equal((3e-4, 4e-4), (gspo.EpsilonLow, gspo.EpsilonHigh));
        Assert.Throws<ArgumentOutOfRangeException>(() => PolicyObjectives.For((PolicyLossType)42, 0.2, 0.2));
    }
}
