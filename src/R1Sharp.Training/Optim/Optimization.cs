using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace R1Sharp.Training.Optim;

/// <summary>AdamW with decay / no-decay parameter groups, as transformers' Trainer builds it.</summary>
public static class Optimizers
{
    /// <summary>
    /// AdamW (Loshchilov &amp; Hutter) over two groups: weight decay on matrices (projections and embeddings),
    /// none on biases and norm weights (transformers' get_decay_parameter_names excludes biases and LayerNorm).
    /// </summary>
    public static DisposingAdamW AdamW(nn.Module model, double learningRate, double weightDecay = 0.0,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        var parameters = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        var decay = parameters.Where(p => !NoDecay(p.name)).Select(p => p.parameter).ToList();
        var noDecay = parameters.Where(p => NoDecay(p.name)).Select(p => p.parameter).ToList();
        var groups = new List<AdamW.ParamGroup>
        {
            new(decay, learningRate, beta1, beta2, eps, weightDecay, false, false),
        };
        if (noDecay.Count > 0) groups.Add(new AdamW.ParamGroup(noDecay, learningRate, beta1, beta2, eps, 0.0, false, false));
        return new DisposingAdamW(groups, learningRate, beta1, beta2, eps, weightDecay);
    }

    static bool NoDecay(string name) => name.EndsWith(".bias", StringComparison.Ordinal) || name.Contains("norm", StringComparison.Ordinal);

    public static void SetLearningRate(OptimizerHelper optimizer, double learningRate)
    {
        foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;
    }

    /// <summary>Clips the global L2 norm of all gradients to <paramref name="maxNorm"/> (≤ 0: no clipping); returns the norm before clipping.</summary>
    public static double ClipGradients(nn.Module model, double maxNorm)
    {
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        if (maxNorm > 0) return nn.utils.clip_grad_norm_(parameters, maxNorm, 2.0);
        using var scope = NewDisposeScope();
        var norms = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!.norm()).ToList();
        return norms.Count == 0 ? 0 : stack(norms).norm().item<float>();
    }
}

/// <summary>How the learning rate moves after warm-up.</summary>
public enum ScheduleKind
{
    /// <summary>Half a cosine from the peak down to MinRatio × peak at the last step (transformers' cosine schedule with a floor).</summary>
    Cosine,
    /// <summary>A straight line from the peak down to MinRatio × peak at the last step.</summary>
    Linear,
    /// <summary>The peak, throughout (TRL's GRPO default).</summary>
    Constant,
}

/// <summary>Linear warm-up to the peak rate over <paramref name="WarmupSteps"/>, then <paramref name="Kind"/>.</summary>
public sealed record LearningRateSchedule(double Peak, int WarmupSteps, int TotalSteps, double MinRatio = 0.0, ScheduleKind Kind = ScheduleKind.Cosine)
{
    public double At(int step) // step counts from 0
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        if (Kind == ScheduleKind.Constant) return Peak;
        int decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        double progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0, 1);
        double scale = Kind == ScheduleKind.Linear ? 1 - progress : 0.5 * (1 + Math.Cos(Math.PI * progress));
        return Peak * (MinRatio + (1 - MinRatio) * scale);
    }
}
