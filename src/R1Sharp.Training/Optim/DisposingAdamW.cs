using R1Sharp.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Training.Optim;

/// <summary>
/// TorchSharp's AdamW, step for step the same arithmetic (bit for bit), but every Scalar it passes to libtorch is disposed
/// as soon as the call returns instead of being left to the finalizer.
/// <para>
/// TorchSharp's own step makes eight temporary Scalars per parameter (β₁, 1 − β₁, β₂, 1 − β₂, 1 − lr·λ, √(1 − β₂ᵗ), ε,
/// −lr / (1 − β₁ᵗ)). Each owns a few bytes of native memory that only a garbage collection frees (and R1Sharp delays that
/// free by ten seconds, docs/torchsharp-native.md), and managed allocations are so few in a training loop that a collection
/// comes every hundred steps or so. Meanwhile glibc carves each of those small blocks out of a freed activation block, which
/// then no longer fits the next step's activation: the C heap grew by 12–17 MB every step of the pipeline's pretraining
/// (1.7–2.1 GB resident for a 0.9M-parameter model) and the fresh pages cost page faults. The state, the parameter groups
/// and the checkpoint format are TorchSharp's (the base class keeps them); only <see cref="step"/> is replaced.
/// </para>
/// </summary>
public sealed class DisposingAdamW : TorchSharp.Modules.AdamW
{
    public DisposingAdamW(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
        : base(groups, lr, beta1, beta2, eps, weightDecay, false, false)
    {
    }

    /// <summary>One update: p ← p·(1 − lr·λ) − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε), m and v as TorchSharp's AdamW keeps them.</summary>
    public override Tensor step(Func<Tensor>? closure = null)
    {
        Tensor? loss = null;
        if (closure is not null)
            using (enable_grad()) loss = closure();
        using var noGrad = no_grad();
        foreach (var group in _parameter_groups)
        {
            var o = (Options)group.Options;
            double beta1 = o.beta1!.Value, beta2 = o.beta2!.Value, decay = o.weight_decay!.Value, eps = o.eps!.Value;
            double lr = o.LearningRate!.Value;
            bool amsgrad = o.amsgrad!.Value, maximize = o.maximize!.Value;
            using Scalar keep = 1 - lr * decay, b1 = beta1, oneMinusB1 = 1 - beta1, b2 = beta2, oneMinusB2 = 1 - beta2, epsilon = eps;
            foreach (var param in group.Parameters)
            {
                if (param.grad is not { } g) continue;
                var state = (State)_state[param.Handle];
                using var scope = NewDisposeScope();
                var grad = maximize ? -g : g;
                state.step += 1;
                param.mul_(keep);
                double correction1 = 1 - Math.Pow(beta1, state.step), correction2 = 1 - Math.Pow(beta2, state.step);
                state.exp_avg.mul_(b1).add_(grad, alpha: oneMinusB1);
                state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2);
                if (amsgrad)
                {
                    var previous = state.max_exp_avg_sq;
                    state.max_exp_avg_sq = maximum(previous, state.exp_avg_sq).DetachFromDisposeScope();
                    previous.Dispose();
                }
                using Scalar root = Math.Sqrt(correction2), stepSize = -(lr / correction1);
                var denom = (amsgrad ? state.max_exp_avg_sq : state.exp_avg_sq).sqrt().div_(root).add_(epsilon, TorchSharpScalars.One); // add_(ε) alone would make an alpha = 1 Scalar
                param.addcdiv_(state.exp_avg, denom, value: stepSize);
            }
        }
        return loss!;
    }
}
