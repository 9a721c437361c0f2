using R1Sharp.Model;
using R1Sharp.Training.Batching;
using static TorchSharp.torch;

namespace R1Sharp.Training.Tests.Batching;

/// <summary>
/// The chunked log-probabilities and entropies of <see cref="PromptCompletionBatch.CompletionLogProbsAndEntropy"/> against the
/// direct computation over the whole (B, Lc, V) logits: log_softmax(logits / T)[token] and −Σ p log p, values and gradients.
/// </summary>
public class CompletionLogProbsTests
{
    static CausalLM Model()
    {
        var config = new ModelConfig
        {
            Architecture = Architecture.Qwen2, VocabSize = 97, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 4,
            NumKvHeads = 2, HeadDim = 8, MaxPositionEmbeddings = 64, RopeTheta = 10000, TieWordEmbeddings = true, AttentionBias = true,
        };
        var model = new CausalLM(config);
        model.InitializeWeights(3);
        return model;
    }

    static PromptCompletionBatch Batch() => PromptCompletionBatch.Build(
        [[5, 6, 7], [8, 9], [10, 11, 12, 13]],
        [[20, 21, 22, 23, 24, 25, 26], [30, 31], [40, 41, 42, 43, 44]], CPU);

    [Theory]
    [InlineData(1.0, 97L)]         // one position per chunk
    [InlineData(0.7, 3 * 97 * 3L)] // three positions per chunk, the last chunk shorter
    [InlineData(0.7, 1L << 22)]    // one chunk
    public void ChunkedLogProbsAndEntropy_EqualTheFullLogSoftmax_AndTheirGradients(double temperature, long chunkElements)
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var batch = Batch();
        var mask = batch.CompletionMask;

        var (logp, entropy) = batch.CompletionLogProbsAndEntropy(model, temperature, chunkElements);
        (logp * mask).sum().backward();
        var grads = model.parameters().Select(p => p.grad!.clone()).ToList();
        foreach (var p in model.parameters()) p.grad = null;

        var full = batch.CompletionLogits(model, temperature).log_softmax(-1);                 // (B, Lc, V)
        var expected = full.gather(-1, batch.CompletionIds.unsqueeze(-1)).squeeze(-1);
        var expectedEntropy = -(full.exp() * full).sum(-1);
        (expected * mask).sum().backward();

        Assert.Equal(new long[] { 3, 7 }, logp.shape);
        Assert.True(logp.allclose(expected, rtol: 0, atol: 1e-5), $"max |Δ log p| {(logp - expected).abs().max().item<float>()}");
        Assert.True(entropy.allclose(expectedEntropy, rtol: 0, atol: 1e-5), $"max |Δ H| {(entropy - expectedEntropy).abs().max().item<float>()}");
        Assert.False(entropy.requires_grad);
        Assert.True(entropy.min().item<float>() > 0);
        foreach (var (g, p) in grads.Zip(model.parameters()))
            Assert.True(g.allclose(p.grad!, rtol: 1e-4, atol: 1e-6), $"max |Δ grad| {(g - p.grad!).abs().max().item<float>()}");
    }
}
