using R1Sharp.Model;
using R1Sharp.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Training.Runs;

/// <summary>
/// A model being trained, as the run's dtype asks: in float32 one model does everything; in bfloat16 or float16
/// (Micikevicius et al. 2018, "Mixed Precision Training", for a runtime without autocast) the working copy runs forward
/// and backward in that dtype while a float32 master holds the weights the optimiser updates and its state
/// (<see cref="MasterWeights"/>): pure bf16 AdamW would lose every update below a weight's bf16 spacing (2⁻⁸ relative),
/// which at fine-tuning learning rates is most of them. Checkpoints save the master; the final model is saved as the
/// working copy.
/// </summary>
public sealed class Trainable<T> : IDisposable where T : nn.Module, IPretrainedModel
{
    readonly T? working;

    /// <param name="master">The weights in float32 (loaded or freshly initialised), on the run's device.</param>
    /// <param name="dtype">The run's dtype.</param>
    /// <param name="create">Builds an empty model of the same config in a dtype, on the master's device (the working copy).</param>
    public Trainable(T master, ScalarType dtype, Func<ModelConfig, ScalarType, T> create)
    {
        if (master.DType != ScalarType.Float32)
            throw new ArgumentException($"the master weights must be float32, got {master.DType}", nameof(master));
        Master = master;
        if (dtype != ScalarType.Float32)
        {
            working = create(master.Config, dtype);
            Sync = new MasterWeights(working, master);
        }
    }

    /// <summary>
    /// A model with LoRA adapters (R1Sharp.Model's Lora.cs): its frozen base in the run's dtype and float32 adapters, the only
    /// trainable parameters. It is its own master: there is no float32 copy of the base, and the optimiser and the
    /// checkpoints cover only the adapters.
    /// </summary>
    public static Trainable<T> Adapted(T model) => new(model);

    Trainable(T adapted) => Master = adapted;

    /// <summary>The model that runs forward and backward, in the run's dtype.</summary>
    public T Model => working ?? Master;

    /// <summary>The float32 weights the optimiser updates (the same object as <see cref="Model"/> in float32 runs).</summary>
    public T Master { get; }

    /// <summary>Moves gradients into the master and weights back (null in float32 runs).</summary>
    internal MasterWeights? Sync { get; }

    public ModelConfig Config => Master.Config;

    public void Dispose()
    {
        working?.Dispose();
        Master.Dispose();
    }
}
