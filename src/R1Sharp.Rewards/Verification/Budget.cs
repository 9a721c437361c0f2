using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace R1Sharp.Rewards.Verification;

/// <summary>Thrown (and caught inside the verifier) when a check runs out of its time or work budget.</summary>
internal sealed class BudgetExceededException : Exception
{
    public BudgetExceededException(string message) : base(message) { }
}

/// <summary>
/// The per-call bound on work: a wall-clock deadline checked cooperatively (no threads, timers or signals,
/// unlike Math-Verify's <c>signal.alarm</c>, so it works on any thread) plus a step counter. Every loop and
/// recursion in parsing and comparison calls <see cref="Tick"/>. One instance per call: not shared.
/// </summary>
internal sealed class Budget
{
    private readonly long _deadline;
    private readonly long _maxSteps;
    private long _steps;

    public Budget(TimeSpan timeout, long maxSteps = 5_000_000)
    {
        var ticks = (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        _deadline = ticks <= 0 ? long.MaxValue : Stopwatch.GetTimestamp() + ticks;
        _maxSteps = maxSteps;
    }


    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Tick(int cost = 1)
    {
        _steps += cost;
        if ((_steps & 255) < cost || cost > 64) Check();
    }

    private void Check()
    {
        if (_steps > _maxSteps) throw new BudgetExceededException("step budget exceeded");
        if (_deadline != long.MaxValue && Stopwatch.GetTimestamp() > _deadline) throw new BudgetExceededException("deadline exceeded");
        // Deep recursion on adversarial input: fail cleanly instead of overflowing the stack.
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new BudgetExceededException("stack budget exceeded");
    }
}
