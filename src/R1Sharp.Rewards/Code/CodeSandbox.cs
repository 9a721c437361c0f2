using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace R1Sharp.Rewards.Code;

/// <summary>
/// Runs untrusted programs locally, one at a time per worker slot, each in a fresh sandbox:
/// <list type="bullet">
/// <item>limits per run: wall time (killed by us), CPU time (RLIMIT_CPU), address space (RLIMIT_AS), processes
/// (RLIMIT_NPROC), file size (RLIMIT_FSIZE), open files, stdout + stderr bytes (killed as soon as exceeded);</item>
/// <item>the run's total memory (processes, memfd, tmpfs): a cgroup per run where the machine allows, else a
/// watchdog (as root); see <see cref="MemoryEnforcement"/>;</item>
/// <item>under bubblewrap: no network (own network namespace), own PID namespace (nothing outlives the run), a
/// seccomp filter (<see cref="SeccompFilter"/>), and a read-only view of the runtime only (/usr, /lib*, a minimal
/// /etc: no project, no /home, no other users' files), with fresh size-limited tmpfs as /tmp, /var/tmp and /dev/shm
/// (the only writable places; the program itself lies read-only in /tmp/src);</item>
/// <item>under unshare (root, no bwrap): the same namespaces and tmpfs over a read-only system view with empty
/// /home, /root and /run, no seccomp filter;</item>
/// <item>under rlimits only (machines that forbid namespaces): refused unless
/// <see cref="CodeSandboxOptions.AllowUnsandboxed"/>, then warned loudly: the limits, a fresh folder as the working
/// directory, and as root a throw-away uid whose processes are all killed after the run.</item>
/// </list>
/// Thread-safe; runs in parallel up to <see cref="CodeSandboxOptions.Workers"/>. See SandboxLauncher.cs for the
/// exact command lines.
/// </summary>
public sealed class CodeSandbox
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly SandboxLauncher _launcher;
    private readonly Channel<int> _slots;
    private readonly ConcurrentDictionary<string, string?> _interpreters = new();
    private readonly ILogger _logger;

    /// <summary>Detects the isolation this machine allows (a few milliseconds: it runs <c>true</c> in it). Warnings
    /// (unsandboxed runs allowed by <see cref="CodeSandboxOptions.AllowUnsandboxed"/>, no seccomp filter) go to
    /// <paramref name="logger"/>, or to standard error when there is none.</summary>
    /// <exception cref="SandboxUnavailableException">Programs would run without isolation (no namespaces here, or
    /// <see cref="IsolationMode.RlimitsOnly"/>) and <see cref="CodeSandboxOptions.AllowUnsandboxed"/> is not set.</exception>
    /// <exception cref="InvalidOperationException">Namespaces were required and are not available, or util-linux
    /// tools are missing.</exception>
    public CodeSandbox(CodeSandboxOptions? options = null, ILogger? logger = null)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The code sandbox needs Linux (namespaces, rlimits, util-linux).");
        Options = (options ?? new CodeSandboxOptions()).Validate();
        _logger = logger ?? NullLogger.Instance;
        var warnings = new List<string>();
        _launcher = SandboxLauncher.Detect(Options, warnings.Add);
        foreach (var warning in warnings)
        {
            if (logger is not null) logger.LogWarning("{Warning}", warning);
            else Console.Error.WriteLine(warning);
        }
        Warning = warnings.Count == 0 ? null : string.Join(" ", warnings);
        _logger.LogInformation("Code sandbox: {Isolation}, {Workers} workers", _launcher.Description, Options.Workers);
        _slots = Channel.CreateBounded<int>(Options.Workers);
        for (int i = 0; i < Options.Workers; i++) _slots.Writer.TryWrite(i);
    }

    /// <summary>The limits every run gets.</summary>
    public CodeSandboxOptions Options { get; }

    /// <summary>The isolation in use after detection.</summary>
    public SandboxBackend Backend => _launcher.Backend;

    /// <summary>One line describing the isolation in use, for logs and reports.</summary>
    public string IsolationDescription => _launcher.Description;

    /// <summary>True when <paramref name="uid"/> is one this sandbox runs programs under (as root), for leak checks.</summary>
    internal bool OwnsUid(int uid) => _launcher.SwitchesUser && _launcher.OwnsUid(uid);

    /// <summary>How each run's total memory is bounded here.</summary>
    public MemoryEnforcement MemoryEnforcement => _launcher.Memory;

    /// <summary>The warning given at creation (unsandboxed runs allowed, no seccomp filter), else null.</summary>
    public string? Warning { get; }

    /// <summary>
    /// Runs <paramref name="program"/> written in <paramref name="language"/> (a name from
    /// <see cref="CodeLanguages"/>, e.g. <c>python</c> or <c>bash</c>) with <paramref name="stdin"/> as its input.
    /// Never throws for anything the program does; throws <see cref="OperationCanceledException"/> when cancelled
    /// (the program is killed first).
    /// </summary>
    public async Task<ExecutionResult> RunAsync(string language, string program, string stdin, CancellationToken cancellationToken = default)
    {
        var lang = CodeLanguages.Find(language);
        if (lang is null)
            return Error($"no runner for language '{language}' (known: {string.Join(", ", CodeLanguages.All.Select(l => l.Name))})");
        var interpreter = _interpreters.GetOrAdd(lang.Name,
            _ => lang.InterpreterCandidates.Select(c => SandboxLauncher.Which(c, Options.HiddenPaths.Concat(["/tmp", "/var/tmp", "/dev/shm"])))
                .FirstOrDefault(p => p is not null && _launcher.VisibleInside(p)));
        if (interpreter is null)
            return Error($"no interpreter for {lang.Name} visible inside the sandbox (tried {string.Join(", ", lang.InterpreterCandidates)}" +
                         (Backend == SandboxBackend.Bubblewrap ? $"; only /usr, /bin, /sbin, /lib* and {nameof(CodeSandboxOptions.ReadOnlyPaths)} are shown)" : " outside the hidden folders)"));

        int slot = await _slots.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        string folder = CreateRunFolder();
        CgroupRun? cgroup = null;
        try
        {
            _launcher.NextUid(slot);
            File.WriteAllText(Path.Combine(folder, lang.FileName), program, Utf8);
            _launcher.PrepareFolder(slot, folder);
            try
            {
                cgroup = _launcher.Cgroup?.Create(CgroupLimitBytes(Options));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Error($"could not create the run's memory cgroup under {_launcher.Cgroup!.Parent}: {e.Message}");
            }
            string setupToken = SandboxLauncher.NewSetupToken();
            var psi = _launcher.Build(slot, folder, interpreter, lang.InterpreterArguments, lang.FileName, cgroup, setupToken);
            var result = await RunProcessAsync(psi, slot, lang, stdin, cgroup, setupToken, cancellationToken).ConfigureAwait(false);
            return result with { MemoryEnforcement = _launcher.Memory, PeakMemoryBytes = cgroup?.PeakBytes() };
        }
        finally
        {
            cgroup?.Dispose();
            DeleteRunFolder(folder);
            _slots.Writer.TryWrite(slot);
        }
    }

    private async Task<ExecutionResult> RunProcessAsync(ProcessStartInfo psi, int slot, CodeLanguage lang, string stdin, CgroupRun? cgroup, string setupToken, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = psi };
        try
        {
            await ProcessSpawner.StartAsync(process).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            return Error($"could not start the sandbox: {e.Message}");
        }

        // The first limit to trip wins; later kills keep the first reason.
        ExecutionStatus? killedFor = null;
        string killReason = "";
        var killLock = new object();
        void KillFor(ExecutionStatus status, string reason)
        {
            lock (killLock)
            {
                if (killedFor is not null) return;
                killedFor = status;
                killReason = reason;
            }
            _launcher.Kill(process, slot);
        }

        var output = new OutputCollector(Options.MaxOutputBytes, Options.MaxStderrBytesKept,
            () => KillFor(ExecutionStatus.OutputLimitExceeded, $"output limit of {Options.MaxOutputBytes} bytes exceeded"));
        var stdoutTask = output.PumpAsync(process.StandardOutput.BaseStream, isStdout: true);
        var stderrTask = output.PumpAsync(process.StandardError.BaseStream, isStdout: false);
        var stdinTask = WriteStdinAsync(process.StandardInput.BaseStream, stdin);
        using var exited = new CancellationTokenSource();
        var watchdog = cgroup is null ? WatchMemoryAsync(slot, KillFor, exited.Token) : WatchCgroupAsync(cgroup, KillFor, exited.Token);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.TimeLimit);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                exited.Cancel();
                _launcher.Kill(process, slot);
                throw;
            }
            KillFor(ExecutionStatus.TimeLimitExceeded, $"wall-clock limit of {Options.TimeLimit.TotalSeconds:0.###} s exceeded");
            try
            {
                await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                exited.Cancel();
                return Error($"the sandbox (pid {process.Id}) did not die within 10 s of SIGKILL");
            }
        }
        var duration = clock.Elapsed;
        exited.Cancel();
        await watchdog.ConfigureAwait(false);
        _launcher.AfterExit(process, slot);

        // Under namespaces every writer died with the run; under rlimits only the sweep killed the rest. Bound the
        // wait anyway: a pipe held open by a survivor must not hang the caller.
        var drained = Task.WhenAll(stdoutTask, stderrTask, stdinTask);
        if (await Task.WhenAny(drained, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false) != drained)
        {
            _launcher.Kill(process, slot);
            process.StandardOutput.BaseStream.Dispose();
            process.StandardError.BaseStream.Dispose();
        }

        string stdout = output.Stdout();
        string stderr = output.Stderr();
        int exitCode = process.ExitCode;
        if (killedFor is null && cgroup is not null && cgroup.OomKills() > 0)
            return new ExecutionResult(ExecutionStatus.MemoryLimitExceeded, null, stdout, stderr, duration, CgroupReason());
        if (killedFor is { } status)
            return new ExecutionResult(status, null, stdout, stderr, duration, killReason);
        // The wrapper's own failure (the program never started), told apart from a program that mimics it by the
        // run's secret setup token.
        if (SandboxLauncher.IsWrapperFailure(exitCode, stderr, setupToken, out string wrapperMessage))
            return Error($"could not start the sandbox: {wrapperMessage}");
        return Classify(exitCode, stdout, stderr, duration, lang);
    }

    /// <summary>Room above <see cref="CodeSandboxOptions.MemoryMegabytes"/> in the run's cgroup, which also charges
    /// the page cache of the files the run reads (the interpreter's libraries): without it, a single process near its
    /// RLIMIT_AS would thrash on evicted library pages instead of getting its MemoryError.</summary>
    internal const long CgroupHeadroomBytes = 64L << 20;

    /// <summary>The run cgroup's limit: the memory limit plus <see cref="CgroupHeadroomBytes"/>.</summary>
    internal static long CgroupLimitBytes(CodeSandboxOptions options) => ((long)options.MemoryMegabytes << 20) + CgroupHeadroomBytes;

    private string CgroupReason() =>
        $"memory limit of {Options.MemoryMegabytes} MiB exceeded by the run's processes, memfd and tmpfs together " +
        $"(OOM kill in its cgroup, limited to {CgroupLimitBytes(Options) >> 20} MiB with room for page cache)";

    /// <summary>
    /// With a cgroup the kernel enforces the limit: when the group reaches it, the OOM killer kills one process
    /// (cgroup v1; v2 with memory.oom.group kills the whole group). Every 50 ms this checks the group's OOM count
    /// and ends the whole run at the first kill, so survivors do not run on to the time limit.
    /// </summary>
    private Task WatchCgroupAsync(CgroupRun cgroup, Action<ExecutionStatus, string> killFor, CancellationToken exited) =>
        Watch(50, () =>
        {
            if (cgroup.OomKills() == 0) return false;
            killFor(ExecutionStatus.MemoryLimitExceeded, CgroupReason());
            return true;
        }, exited);

    /// <summary>
    /// RLIMIT_AS bounds each process, but a program may fork up to <see cref="CodeSandboxOptions.MaxProcesses"/>
    /// of them, and memfds and tmpfs files hold memory outside any address space. Without a cgroup, this watchdog
    /// bounds the sum: from 100 ms into the run, every 100 ms, it adds up the resident memory of the run's processes
    /// (found by the run's uid, so as root only), the memfds they hold open and the used space of the sandbox's
    /// private tmpfs, and kills the run when that exceeds the memory limit. Resident sizes double-count pages
    /// shared after fork, so a sum over the limit is confirmed with proportional set sizes (smaps_rollup Pss).
    /// </summary>
    private Task WatchMemoryAsync(int slot, Action<ExecutionStatus, string> killFor, CancellationToken exited)
    {
        if (!_launcher.SwitchesUser) return Task.CompletedTask;
        long limit = (long)Options.MemoryMegabytes << 20;
        return Watch(100, () =>
        {
            var memory = _launcher.MeasureRun(slot, limit);
            if (memory.Total <= limit) return false;
            killFor(ExecutionStatus.MemoryLimitExceeded,
                $"memory limit of {Options.MemoryMegabytes} MiB exceeded by the run's processes, memfd and tmpfs together " +
                $"({memory.Pss >> 20} MiB in processes ({memory.Rss >> 20} MiB resident), {memory.Memfd >> 20} MiB in memfds, {memory.Tmpfs >> 20} MiB in tmpfs; watchdog)");
            return true;
        }, exited);
    }

    /// <summary>
    /// Runs <paramref name="check"/> every <paramref name="periodMs"/> on a thread of its own until it returns true
    /// or <paramref name="exited"/> is cancelled. Not on the thread pool: each run's output pumps hold pool threads
    /// (pipe reads block one on Unix), and a timer continuation queued behind them came 0.7 s late on the 2-core
    /// machine — long enough for a program to fill a gigabyte of tmpfs between two checks.
    /// </summary>
    private static Task Watch(int periodMs, Func<bool> check, CancellationToken exited)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                var handle = exited.WaitHandle;
                while (!handle.WaitOne(periodMs))
                {
                    if (check()) break;
                }
            }
            catch (ObjectDisposedException) { } // the run ended on an error path without waiting for us
            done.TrySetResult();
        })
        {
            IsBackground = true,
            Name = "r1sharp-sandbox-watch",
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>Maps a finished run's exit code and stderr to a status and a reason line.</summary>
    private ExecutionResult Classify(int exitCode, string stdout, string stderr, TimeSpan duration, CodeLanguage lang)
    {
        const int sigXcpu = 24, sigXfsz = 25;
        // Quoted in reasons (logs, terminals): no escape sequences from the program.
        string lastLine = OutputComparer.Printable(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "");
        if (exitCode == 0)
            return new ExecutionResult(ExecutionStatus.Success, 0, stdout, stderr, duration, "exit code 0");
        if (exitCode == 128 + sigXcpu)
            return new ExecutionResult(ExecutionStatus.TimeLimitExceeded, exitCode, stdout, stderr, duration,
                $"CPU time limit of {Math.Max(1, Math.Ceiling(Options.TimeLimit.TotalSeconds))} s exceeded (SIGXCPU)");
        if (exitCode == 128 + sigXfsz || lang.DiskErrorMarkers.Any(m => stderr.Contains(m, StringComparison.Ordinal)))
            return new ExecutionResult(ExecutionStatus.DiskLimitExceeded, exitCode, stdout, stderr, duration,
                $"disk limit of {Options.MaxDiskBytes} bytes exceeded: {lastLine}");
        if (lang.MemoryErrorMarkers.Any(m => stderr.Contains(m, StringComparison.Ordinal)))
            return new ExecutionResult(ExecutionStatus.MemoryLimitExceeded, exitCode, stdout, stderr, duration,
                $"memory limit of {Options.MemoryMegabytes} MiB exceeded: {lastLine}");
        string how = exitCode > 128 && exitCode < 128 + 65 ? $"killed by signal {SignalName(exitCode - 128)}" : $"exit code {exitCode}";
        return new ExecutionResult(ExecutionStatus.RuntimeError, exitCode, stdout, stderr, duration,
            lastLine.Length > 0 ? $"{how}: {Truncate(lastLine, 200)}" : how);
    }

    private static async Task WriteStdinAsync(Stream stdin, string text)
    {
        try
        {
            if (text.Length > 0)
            {
                var bytes = Utf8.GetBytes(text);
                await stdin.WriteAsync(bytes).ConfigureAwait(false);
            }
        }
        catch (IOException) { } // the program closed stdin or died: not an error of ours
        catch (ObjectDisposedException) { }
        finally
        {
            try { stdin.Dispose(); } catch (IOException) { }
        }
    }

    private ExecutionResult Error(string reason) =>
        new(ExecutionStatus.SandboxError, null, "", "", TimeSpan.Zero, reason) { MemoryEnforcement = _launcher.Memory };

    private static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP", 2 => "SIGINT", 3 => "SIGQUIT", 4 => "SIGILL", 6 => "SIGABRT", 7 => "SIGBUS", 8 => "SIGFPE",
        9 => "SIGKILL", 11 => "SIGSEGV", 13 => "SIGPIPE", 14 => "SIGALRM", 15 => "SIGTERM", 24 => "SIGXCPU",
        25 => "SIGXFSZ", 31 => "SIGSYS", _ => signal.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";

    /// <summary>A fresh folder under the system temp folder for one run: mode 0711, so other users (other runs'
    /// uids) can reach a file by name but not list the folder. Removed after the run.</summary>
    internal static string CreateRunFolder()
    {
        string path = Path.Combine(Path.GetTempPath(), "r1sharp-sandbox-" + Guid.NewGuid().ToString("N"));
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("The code sandbox runs on Linux only.");
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                        UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        return path;
    }

    /// <summary>Deletes a run folder, whatever the program left in it. Symbolic links are removed, never followed
    /// (a program may plant `evil -> /etc`); folders it made unwritable are opened up first when needed.</summary>
    internal static void DeleteRunFolder(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
            return;
        }
        catch (DirectoryNotFoundException) { return; }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        try
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
            foreach (var dir in new DirectoryInfo(path).EnumerateDirectories("*", options))
            {
                if (dir.LinkTarget is not null || dir.Attributes.HasFlag(FileAttributes.ReparsePoint)) continue;
                try { if (OperatingSystem.IsLinux()) dir.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute; }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
            Directory.Delete(path, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Collects stdout (up to the cap) and the tail of stderr, counting both against the output cap.</summary>
    private sealed class OutputCollector(long maxOutputBytes, int stderrKept, Action onLimit)
    {
        private readonly MemoryStream _stdout = new();
        private readonly MemoryStream _stderr = new();
        private readonly object _gate = new();
        private long _total;

        internal async Task PumpAsync(Stream stream, bool isStdout)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    int n = await stream.ReadAsync(buffer).ConfigureAwait(false);
                    if (n == 0) return;
                    long total = Interlocked.Add(ref _total, n);
                    long room = Math.Max(0, n - Math.Max(0, total - maxOutputBytes));
                    lock (_gate)
                    {
                        if (isStdout) _stdout.Write(buffer, 0, (int)room);
                        else AppendTail(_stderr, buffer, n, stderrKept);
                    }
                    if (total > maxOutputBytes)
                    {
                        onLimit();
                        return;
                    }
                }
            }
            catch (IOException) { }
            catch (ObjectDisposedException) { }
        }

        internal string Stdout()
        {
            lock (_gate) return Utf8.GetString(_stdout.GetBuffer(), 0, (int)_stdout.Length);
        }

        internal string Stderr()
        {
            lock (_gate)
            {
                int start = (int)Math.Max(0, _stderr.Length - stderrKept);
                return Utf8.GetString(_stderr.GetBuffer(), start, (int)_stderr.Length - start);
            }
        }

        private static void AppendTail(MemoryStream tail, byte[] buffer, int count, int keep)
        {
            tail.Write(buffer, 0, count);
            if (tail.Length <= 2L * keep + 65536) return;
            var last = tail.GetBuffer().AsSpan((int)(tail.Length - keep), keep).ToArray();
            tail.SetLength(0);
            tail.Write(last);
        }
    }
}
