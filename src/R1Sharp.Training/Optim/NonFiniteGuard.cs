namespace R1Sharp.Training.Optim;

/// <summary>
/// Skips optimiser steps whose loss or gradient norm is not finite (the update would destroy the weights), and
/// stops the run after <paramref name="maxConsecutive"/> such steps in a row — the last good checkpoint stays.
/// </summary>
public sealed class NonFiniteGuard(int maxConsecutive = 5, Action<string>? warn = null)
{
    int consecutive;

    public int Skipped { get; private set; }

    /// <summary>True when the step may be applied.</summary>
    public bool Allow(int step, double loss, double gradNorm)
    {
        if (double.IsFinite(loss) && double.IsFinite(gradNorm))
        {
            consecutive = 0;
            return true;
        }
        consecutive++;
        Skipped++;
        warn?.Invoke($"step {step}: non-finite {(double.IsFinite(loss) ? "gradient norm" : "loss")} (loss {loss}, grad norm {gradNorm}); update skipped");
        if (consecutive >= maxConsecutive)
            throw new TrainingDivergedException(
                $"{consecutive} consecutive steps with a non-finite loss or gradient (last at step {step}); stopping. " +
                "The last good checkpoint is kept. Lower the learning rate or check the data.");
        return false;
    }
}

public sealed class TrainingDivergedException(string message) : Exception(message);
