using System.Collections.Concurrent;
using System.Diagnostics;

namespace R1Sharp.Rewards.Code;

/// <summary>
/// Starts sandbox processes from one dedicated, never-ending thread. Linux delivers the parent-death signal
/// (PR_SET_PDEATHSIG, set by bwrap's --die-with-parent and setpriv --pdeathsig) when the parent THREAD exits, not
/// the parent process: a process forked from a thread-pool thread would be SIGKILLed whenever the pool retires that
/// thread. Forking from a thread that lives as long as the process makes the signal mean "the host died".
/// </summary>
internal static class ProcessSpawner
{
    private static readonly BlockingCollection<(Process Process, TaskCompletionSource Started)> Requests = new();

    static ProcessSpawner()
    {
        var thread = new Thread(Loop) { IsBackground = true, Name = "r1sharp-sandbox-spawner" };
        thread.Start();
    }

    /// <summary>Starts <paramref name="process"/> on the spawner thread; faults like <see cref="Process.Start()"/>.</summary>
    internal static Task StartAsync(Process process)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Requests.Add((process, started));
        return started.Task;
    }

    private static void Loop()
    {
        foreach (var (process, started) in Requests.GetConsumingEnumerable())
        {
            try
            {
                process.Start();
                started.SetResult();
            }
            catch (Exception e)
            {
                started.SetException(e);
            }
        }
    }
}
