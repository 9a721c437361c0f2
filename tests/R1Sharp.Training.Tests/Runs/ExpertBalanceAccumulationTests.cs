using R1Sharp.Model;
using R1Sharp.Training.Batching;
using R1Sharp.Training.Optim;
using R1Sharp.Training.Runs;
using static TorchSharp.torch;

namespace R1Sharp.Training.Tests.Runs;

/// <summary>
/// OptimizerStep.Backward's mixture-of-experts balancing term under gradient accumulation: two micro-batches back-propagated
/// with their shares of the step's sequences leave the router the gradient of the whole batch in one micro-batch, padding
/// (TokenBatch's right-padded rows) left out.
/// </summary>
public class ExpertBalanceAccumulationTests
{
    static Tensor RouterGradients(CausalLM model, Action<OptimizerStep<CausalLM>> backward)
    {
        model.zero_grad();
        var step = new OptimizerStep<CausalLM>(Trainable<CausalLM>.Adapted(model), new OptimizerOptions { ExpertSequenceLoss = 1.0 }, 1, _ => { });
        backward(step);
        return cat(model.named_parameters().Where(p => p.name.EndsWith("mlp.gate.weight")).Select(p => p.parameter.grad!.reshape(-1).clone()).ToList(), 0);
    }

    [Fact]
    public void Micro_batches_weighted_by_their_share_give_the_full_batch_router_gradient()
    {
        using var scope = NewDisposeScope();
        using var model = new CausalLM(ModelPresets.Create("dsv3-1m", 64, 128, null, 1, 1));
        model.InitializeWeights(12);
        var generator = new Random(3);
        var sequences = new[] { 10, 6, 9, 4 }.Select(n => new TokenSequence(
            Enumerable.Range(0, n).Select(_ => generator.Next(3, 64)).ToArray(), Enumerable.Repeat(true, n).ToArray())).ToList();

        // The LM loss is multiplied by 0: only the balancing term reaches the router, so the comparison is about it alone.
        void Micro(OptimizerStep<CausalLM> step, List<TokenSequence> rows, double share)
        {
            var batch = TokenBatch.Padded(rows, CPU);
            step.Backward(batch.TargetLogits(model).sum() * 0.0, share);
        }
        var full = RouterGradients(model, step => Micro(step, sequences, 1.0));
        var accumulated = RouterGradients(model, step =>
        {
            Micro(step, sequences.GetRange(0, 1), 0.25);
            Micro(step, sequences.GetRange(1, 3), 0.75);
        });
        Assert.True(full.abs().max().item<float>() > 0);
        Assert.True((full - accumulated).abs().max().item<float>() <= 1e-6 * Math.Max(1, full.abs().max().item<float>()),
            $"{(full - accumulated).abs().max().item<float>()}");

        // Without the shares each micro-batch would add its whole term: a different (larger) gradient.
        var unweighted = RouterGradients(model, step =>
        {
            Micro(step, sequences.GetRange(0, 1), 1.0);
            Micro(step, sequences.GetRange(1, 3), 1.0);
        });
        Assert.True((full - unweighted).abs().max().item<float>() > 1e-4 * full.abs().max().item<float>());
    }
}
