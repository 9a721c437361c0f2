using R1Sharp.Model;
using R1Sharp.Training.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace R1Sharp.Training.Tests;

/// <summary>
/// R1Sharp's AdamW is TorchSharp's, bit for bit, without the Scalars left to the finalizer (DisposingAdamW.cs). Alone in
/// its collection: the finalized-Scalar count is process-wide, and other tests' arithmetic would add to it.
/// </summary>
[Collection(nameof(ScalarCountCollection))]
public class DisposingAdamWTests
{
    /// <summary>A linear layer and a norm weight: two groups (decay on the linear's weight and bias, whose name has no ".bias"; none on the norm), as Optimizers.AdamW makes them.</summary>
    sealed class Net : nn.Module
    {
        public Parameter weight = new(randn(6, 5, generator: new Generator(1)));
        public Parameter bias = new(randn(6, generator: new Generator(2)));
        public Parameter norm_weight = new(ones(5));

        public Net() : base(nameof(Net)) => RegisterComponents();

        public Tensor Loss(Tensor x) => (nn.functional.linear(x * norm_weight, weight, bias).tanh() - 0.25).pow(2).sum();
    }

    static (List<Tensor> Parameters, List<Tensor> Moments) Train(Func<Net, TorchSharp.Modules.AdamW> makeOptimizer)
    {
        var net = new Net();
        var optimizer = makeOptimizer(net);
        var generator = new Generator(7);
        for (int step = 0; step < 12; step++)
        {
            using var scope = NewDisposeScope();
            if (step == 5) Optimizers.SetLearningRate(optimizer, 3e-3); // a schedule's change between steps
            if (step == 8) net.bias.grad = null;                           // a parameter without a gradient this step is skipped
            net.Loss(randn(4, 5, generator: generator)).backward();
            if (step == 8) net.bias.grad = null;
            optimizer.step();
            optimizer.zero_grad();
        }
        var moments = optimizer.state_dict().State.SelectMany(s => new[] { ((TorchSharp.Modules.AdamW.State)s).exp_avg, ((TorchSharp.Modules.AdamW.State)s).exp_avg_sq }).ToList();
        return (net.parameters().Select(p => p.detach().clone()).ToList(), moments);
    }

    [Fact]
    public void Updates_are_TorchSharps_AdamW_bit_for_bit()
    {
        var ours = Train(net => Optimizers.AdamW(net, 1e-2, weightDecay: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6));
        var theirs = Train(net =>
        {
            var all = net.named_parameters().ToList();
            return optim.AdamW(
            [
                new TorchSharp.Modules.AdamW.ParamGroup(all.Where(p => p.name != "norm_weight").Select(p => p.parameter), 1e-2, 0.8, 0.95, 1e-6, 0.1, false, false),
                new TorchSharp.Modules.AdamW.ParamGroup(all.Where(p => p.name == "norm_weight").Select(p => p.parameter), 1e-2, 0.8, 0.95, 1e-6, 0.0, false, false),
            ], 1e-2, 0.8, 0.95, 1e-6, 0.1);
        });
        Assert.Equal(3, ours.Parameters.Count);
        Assert.Equal(theirs.Moments.Count, ours.Moments.Count);
        foreach (var (a, b) in ours.Parameters.Zip(theirs.Parameters)) Assert.True(a.eq(b).all().item<bool>(), $"parameter differs by {(a - b).abs().max().item<float>()}");
        foreach (var (a, b) in ours.Moments.Zip(theirs.Moments)) Assert.True(a.eq(b).all().item<bool>(), "moment differs");
        Assert.False(ours.Parameters[0].eq(new Net().weight.detach()).all().item<bool>()); // it did train
    }

    [Fact]
    public void A_step_leaves_no_Scalar_to_the_finalizer()
    {
        Assert.True(TorchSharpScalars.Deferred); // the count below comes from the hook
        var net = new Net();
        var optimizer = Optimizers.AdamW(net, 1e-2, weightDecay: 0.1);
        using (var scope = NewDisposeScope()) net.Loss(ones(4, 5)).backward();

        var torchSharps = optim.AdamW(net.parameters(), 1e-2);
        Assert.True(TorchSharpScalars.LeftToFinalizer(() => torchSharps.step()) >= 8 * 3, "TorchSharp's own step no longer makes Scalars: this test counts nothing");
        Assert.Equal(0L, TorchSharpScalars.LeftToFinalizer(() => { for (int i = 0; i < 5; i++) optimizer.step(); }));
    }
}

[CollectionDefinition(nameof(ScalarCountCollection), DisableParallelization = true)]
public class ScalarCountCollection;
