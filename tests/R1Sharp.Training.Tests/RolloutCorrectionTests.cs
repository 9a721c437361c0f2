using R1Sharp.Training.Losses.Grpo;
using static TorchSharp.torch;

namespace R1Sharp.Training.Tests;

/// <summary>
/// The rollout corrections and the mismatch statistics on two sequences whose token ratios π_trainer / π_sampler are chosen
/// by hand: sequence 1 has ratios 2, 0.5, 1 (product 1), sequence 2 has 1, 6 and a padded position whose values are garbage.
/// </summary>
public class RolloutCorrectionTests
{
    static Tensor Trainer => tensor(new[] { MathF.Log(0.5f), MathF.Log(0.2f), MathF.Log(0.9f), MathF.Log(0.3f), MathF.Log(0.6f), -50f }, [2, 3]);
    static Tensor Sampler => tensor(new[] { MathF.Log(0.25f), MathF.Log(0.4f), MathF.Log(0.9f), MathF.Log(0.3f), MathF.Log(0.1f), 0f }, [2, 3]);
    static Tensor Mask => tensor(new[] { 1f, 1, 1, 1, 1, 0 }, [2, 3]);

    static void Equal(float[] expected, Tensor actual)
    {
        var got = actual.contiguous().data<float>().ToArray();
        Assert.Equal(expected.Length, got.Length);
        for (int i = 0; i < got.Length; i++) Assert.True(Math.Abs(expected[i] - got[i]) < 1e-5, $"[{i}]: expected {expected[i]}, got {got[i]}");
    }

    [Fact]
    public void Tis_token_level_caps_each_tokens_ratio()
        => Equal([1.5f, 0.5f, 1, 1, 1.5f, 0], new TruncatedImportanceSampling(1.5).Weights(Trainer, Sampler, Mask));

    [Fact]
    public void Tis_sequence_level_caps_the_product_of_the_ratios_for_every_token()
        // products: 2 · 0.5 · 1 = 1 (under the cap), 1 · 6 = 6 → 3
        => Equal([1, 1, 1, 3, 3, 0], new TruncatedImportanceSampling(3, CorrectionLevel.Sequence).Weights(Trainer, Sampler, Mask));

    [Fact]
    public void Mis_masks_sequences_whose_ratio_is_outside_the_band()
        => Equal([1, 1, 1, 0, 0, 0], new SequenceMasking(0.5, 2).Weights(Trainer, Sampler, Mask));

    [Fact]
    public void IcePop_keeps_the_ratio_inside_the_band_and_masks_tokens_outside()
    {
        Equal([2, 0.5f, 1, 1, 0, 0], new IcePop(0.45, 5).Weights(Trainer, Sampler, Mask));
        // A narrow band keeps only the token whose ratio is in it.
        Equal([0, 0.5f, 0, 0, 0, 0], new IcePop(0.45, 0.55).Weights(Trainer, Sampler, Mask));
    }

    [Fact]
    public void Combined_corrections_multiply()
        => Equal([1.5f, 0.5f, 1, 0, 0, 0],
            new CombinedCorrection([new TruncatedImportanceSampling(1.5), new SequenceMasking(0.5, 2)]).Weights(Trainer, Sampler, Mask));

    [Fact]
    public void Weights_multiply_the_per_token_loss_and_carry_no_gradient()
    {
        var logp = Trainer.clone().requires_grad_(true);
        var w = new TruncatedImportanceSampling(1.5).Weights(logp, Sampler, Mask);
        Assert.False(w.requires_grad);
        var loss = (-(logp - logp.detach()).exp() * w * Mask).sum();   // surrogate with Â = 1: ∂/∂logp = −w
        loss.backward();
        Equal([-1.5f, -0.5f, -1, -1, -1.5f, 0], logp.grad!);
    }

    [Fact]
    public void Mismatch_is_the_k3_kl_the_extreme_ratios_and_the_mean_absolute_log_ratio_over_real_tokens()
    {
        var m = new RolloutMismatch();
        m.Add(Trainer, Sampler, Mask);
        // k3 = e^r − 1 − r: r = ln 2 → 0.3068528, ln ½ → 0.1931472, 0, 0, ln 6 → 3.2082405; mean over 5 tokens.
        Assert.Equal((0.3068528 + 0.1931472 + 3.2082405) / 5, m.MeanKl, 5);
        Assert.Equal(6, m.MaxRatio, 4);
        Assert.Equal(0.5, m.MinRatio, 5);
        Assert.Equal((2 * Math.Log(2) + Math.Log(6)) / 5, m.MeanAbsLogRatio, 5);
        Assert.Equal(5, m.Tokens);
        // Accumulates over micro-batches: the same batch again leaves the means and extremes unchanged.
        m.Add(Trainer, Sampler, Mask);
        Assert.Equal((0.3068528 + 0.1931472 + 3.2082405) / 5, m.MeanKl, 5);
        Assert.Equal(10, m.Tokens);
    }

    [Fact]
    public void Identical_log_probabilities_give_no_mismatch_and_unit_weights()
    {
        var m = new RolloutMismatch();
        m.Add(Trainer, Trainer, Mask);
        Assert.Equal(0, m.MeanKl, 7);
        Assert.Equal(1, m.MaxRatio, 6);
        Equal([1, 1, 1, 1, 1, 0], new IcePop().Weights(Trainer, Trainer, Mask));
        Equal([1, 1, 1, 1, 1, 0], new TruncatedImportanceSampling(2, CorrectionLevel.Sequence).Weights(Trainer, Trainer, Mask));
    }
}
