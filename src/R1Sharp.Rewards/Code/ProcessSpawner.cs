using System.Collections.Concurrent;
using System.Diagnostics;

namespace R1Sharp.Rewards.Code;

/// <summary>
/// Starts sandbox processes from one dedicated, never-ending thread. Linux delivers the parent-death signal
/// (PR_SET_PDEATHSIG, set by bwrap's --die-with-parent and setpriv --pdeathsig) when the parent THREAD exits, not
/// the parent process: a process forked from a thread-pool thread would be SIGKILLed whenever the pool retires that
/// thread. Forking from a thread that lives as long as the process makes the signal mean "the host died".
/// <para>Before each start it marks close-on-exec every descriptor of this process above 2 that lacks the flag.
/// .NET opens its own with O_CLOEXEC, but descriptors the host process inherited (from a shell, a job runner) or
/// that native code opened without it would otherwise pass into every sandboxed program. (.NET 10's Process cannot
/// restrict inheritance per child, and dash, the wrapper shell, cannot name descriptors above 9.) The flag only
/// stops inheritance across exec; this process keeps using them.</para>
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

    /// <summary>Sets FD_CLOEXEC on every open descriptor above 2 that lacks it (a few dozen fcntl calls).</summary>
    internal static void MarkInheritedCloseOnExec()
    {
        const int getFlags = 1, setFlags = 2, closeOnExec = 1;
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                if (!int.TryParse(Path.GetFileName(entry), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int fd) || fd <= 2)
                    continue;
                int flags = SandboxLauncher.NativeMethods.fcntl(fd, getFlags, 0);
                if (flags >= 0 && (flags & closeOnExec) == 0) _ = SandboxLauncher.NativeMethods.fcntl(fd, setFlags, flags | closeOnExec);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static void Loop()
    {
        foreach (var (process, started) in Requests.GetConsumingEnumerable())
        {
            try
            {
                MarkInheritedCloseOnExec();
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
