using R1Sharp.Model;
using R1Sharp.Training.Distributed;
using R1Sharp.Training.Optim;
using R1Sharp.Training.State;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using OptimizerOptions = R1Sharp.Training.Optim.OptimizerOptions;

namespace R1Sharp.Training.Runs;

/// <summary>What one optimiser step did.</summary>
/// <param name="Applied">False when the non-finite guard skipped it.</param>
/// <param name="GradNorm">The global gradient norm before clipping.</param>
/// <param name="LearningRate">The rate the step used.</param>
public readonly record struct StepResult(bool Applied, double GradNorm, double LearningRate);

/// <summary>
/// The one optimiser step every trainer takes: gradients of each micro-batch go to the float32 master as they are
/// computed (<see cref="Backward"/>); then <see cref="Apply"/> clips the global norm, lets the non-finite guard veto the
/// step, sets the scheduled rate, steps AdamW on the master, copies the master back into the working model and zeroes
/// the gradients. AdamW's parameter groups are transformers' (decay on matrices, none on biases and norms).
/// </summary>
/// <remarks>
/// In a data-parallel job (more than one rank) <see cref="Apply"/> first all-reduces the master's gradients over the ranks,
/// before clipping, as <see cref="Reduction"/> says; every rank then takes the same step from the same gradients.
/// </remarks>
public sealed class OptimizerStep<T> where T : nn.Module, IPretrainedModel
{
    readonly Trainable<T> model;
    readonly OptimizerOptions options;
    readonly NonFiniteGuard guard;
    readonly ICollective collective;
    readonly bool routedExperts; // DeepSeek-V3 layers whose expert biases move after each step

    public OptimizerStep(Trainable<T> model, OptimizerOptions options, int totalSteps, Action<string> warn, ICollective? collective = null)
    {
        this.model = model;
        this.options = options;
        this.collective = collective ?? SingleProcess.Instance;
        Schedule = options.ScheduleFor(totalSteps);
        Optimizer = Optimizers.AdamW(model.Master, options.LearningRate, options.WeightDecay, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon);
        guard = new NonFiniteGuard(warn: warn);
        routedExperts = ExpertBalance.Layers(model.Model).Count > 0;
        Optimizer.zero_grad();
    }

    public LearningRateSchedule Schedule { get; }

    /// <summary>AdamW over the master's parameters (for checkpoints).</summary>
    public OptimizerHelper Optimizer { get; }

    /// <summary>
    /// How the ranks' gradients combine. <see cref="ReduceOp.Average"/> (the default) is right when each rank's loss is a
    /// mean over a whole batch (or every rank computes the same one); <see cref="ReduceOp.Sum"/> when each rank
    /// back-propagates its share of the global step's loss: the sum of its per-token (or per-row) terms divided by the
    /// token (or row) count of the whole global batch — then the sum over ranks is exactly the one-process step's gradient.
    /// </summary>
    public ReduceOp Reduction { get; set; } = ReduceOp.Average;

    /// <summary>Steps the guard skipped so far.</summary>
    public int Skipped => guard.Skipped;

    /// <summary>
    /// Max / mean tokens per expert over the last step's training forwards, averaged over the sparse layers (1 = balanced);
    /// null for dense models.
    /// </summary>
    public double? ExpertLoad { get; private set; }

    /// <summary>
    /// Back-propagates one micro-batch's share of the step's loss and moves its gradients into the master. For a
    /// mixture-of-experts model the balancing term of the micro-batch's forward (ExpertBalance.AuxiliaryLoss, over its real
    /// tokens) is added, times <paramref name="share"/>: the micro-batch's fraction of the step's sequences (over all ranks),
    /// so that the micro-batches' terms add up to the full batch's.
    /// </summary>
    public void Backward(Tensor loss, double share = 1.0)
    {
        if (ExpertBalance.TakeAuxiliaryLoss(model.Model, options.ExpertSequenceLoss) is { } aux) loss = loss + (share == 1.0 ? aux : aux * share);
        loss.backward();
        model.Sync?.AccumulateGradients();
    }

    /// <summary>
    /// Ends the step (0-based <paramref name="step"/> picks the rate): clip → guard → schedule → AdamW → master weights →
    /// zero grad. <paramref name="loss"/> is the step's loss, for the guard.
    /// </summary>
    public StepResult Apply(int step, double loss)
    {
        using var scope = NewDisposeScope();
        ZeroMissingGradients();
        if (collective.Size > 1) loss = ReduceGradients(loss);
        double gradNorm = Optimizers.ClipGradients(model.Master, options.MaxGradNorm);
        double rate = Schedule.At(step);
        bool applied = guard.Allow(step + 1, loss, gradNorm);
        if (applied)
        {
            Optimizers.SetLearningRate(Optimizer, rate);
            Optimizer.step();
            if (routedExperts) // DeepSeek-V3's bias update, on the master (copied to the working model next)
            {
                if (collective.Size > 1) SumExpertLoads();
                ExpertLoad = ExpertBalance.UpdateBiases(model.Model, model.Master, options.ExpertBiasUpdate).DefaultIfEmpty(0).Average();
            }
            model.Sync?.CopyWeights();
        }
        Optimizer.zero_grad();
        return new StepResult(applied, gradNorm, rate);
    }

    /// <summary>
    /// Gives every trainable parameter without a gradient (a mixture-of-experts expert no token reached) a zero one, so
    /// that AdamW treats it alike in every step, whether the run started fresh or resumed (where no gradient exists yet).
    /// </summary>
    void ZeroMissingGradients()
    {
        foreach (var p in model.Master.parameters())
            if (p.requires_grad && p.grad is null) p.grad = zeros_like(p).DetachFromDisposeScope();
    }

    /// <summary>
    /// Sums each sparse layer's expert load over the ranks, so that every rank moves the routing biases by the load of the
    /// global batch, as one process does (a rank's own share would move each rank's biases its own way).
    /// </summary>
    void SumExpertLoads()
    {
        var layers = ExpertBalance.Layers(model.Model);
        var loads = layers.SelectMany(l => l.PendingLoad.Select(x => (double)x)).ToArray(); // token counts: exact in a double
        collective.AllReduce(loads, ReduceOp.Sum);
        int i = 0;
        foreach (var layer in layers)
            for (int e = 0; e < layer.PendingLoad.Length; e++) layer.PendingLoad[e] = (long)loads[i++];
    }

    /// <summary>
    /// All-reduces the master's gradients (a rank that computed none contributes the zeros <see cref="ZeroMissingGradients"/>
    /// gave it) and whether any rank's loss was non-finite, so that the guard decides alike everywhere. Returns the loss
    /// (NaN if any rank's was not finite).
    /// </summary>
    double ReduceGradients(double loss)
    {
        var grads = model.Master.parameters().Where(p => p.requires_grad).Select(p => p.grad!).ToList();
        collective.AllReduce(grads, Reduction);
        double[] bad = [double.IsFinite(loss) ? 0 : 1];
        collective.AllReduce(bad, ReduceOp.Max);
        return bad[0] > 0 ? double.NaN : loss;
    }

    /// <summary>Restores AdamW's state and the generators from a checkpoint; returns where the run stood.</summary>
    public TrainerState Restore(string checkpoint, Generator? sampling = null) => TrainingCheckpoint.Restore(checkpoint, Optimizer, sampling);
}
