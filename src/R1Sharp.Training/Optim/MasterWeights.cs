using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace R1Sharp.Training.Optim;

/// <summary>
/// bfloat16 training with float32 master weights (Micikevicius et al. 2018, "Mixed Precision Training"), for a runtime
/// without autocast: the working model runs forward and backward in bf16; its gradients are added, in float32, to a
/// float32 copy of the model (the master), which the optimiser updates and which is copied back into the working
/// model after each step. Pure bf16 AdamW would lose every update smaller than the weight's bf16 spacing
/// (2⁻⁸ relative), which at fine-tuning learning rates is most of them. Checkpoints save the master.
/// </summary>
public sealed class MasterWeights
{
    readonly (Parameter Working, Parameter Master)[] pairs;

    /// <param name="working">The model that runs forward and backward (bfloat16).</param>
    /// <param name="master">The same architecture in float32, holding the weights; build the optimiser on it.</param>
    public MasterWeights(nn.Module working, nn.Module master)
    {
        var masters = master.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        pairs = working.named_parameters()
            .Select(p => (p.parameter, masters.TryGetValue(p.name, out var m) ? m : throw new ArgumentException($"master has no parameter '{p.name}'")))
            .ToArray();
        CopyWeights();
    }

    /// <summary>master.grad += working.grad (in float32); the working gradients are cleared. Call after each backward.</summary>
    public void AccumulateGradients()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (working, master) in pairs)
        {
            var g = working.grad;
            if (g is null) continue;
            var sum = master.grad;
            if (sum is null) master.grad = g.to(ScalarType.Float32);
            else sum.add_(g);
            working.grad = null;
        }
    }

    /// <summary>working ← master, rounded to the working dtype. Call after each optimiser step.</summary>
    public void CopyWeights()
    {
        using var noGrad = no_grad();
        foreach (var (working, master) in pairs) working.copy_(master);
    }
}
