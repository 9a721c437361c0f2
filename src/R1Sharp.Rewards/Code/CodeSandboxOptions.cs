namespace R1Sharp.Rewards.Code;

/// <summary>How strongly <see cref="CodeSandbox"/> isolates a program.</summary>
public enum IsolationMode
{
    /// <summary>Namespaces when this machine permits them, otherwise rlimits only (with a warning, logged once).</summary>
    Auto,

    /// <summary>Linux namespaces (bubblewrap, else <c>unshare</c>) plus rlimits; construction fails when unavailable.</summary>
    Namespaces,

    /// <summary>Resource limits only: no network, filesystem or PID isolation. For machines that forbid namespaces.</summary>
    RlimitsOnly,
}

/// <summary>The isolation a <see cref="CodeSandbox"/> actually uses, after detection.</summary>
public enum SandboxBackend
{
    /// <summary><c>bwrap</c>: own user, PID, network, IPC, UTS and mount namespaces; read-only system view.</summary>
    Bubblewrap,

    /// <summary><c>unshare</c> (util-linux) + <c>setpriv</c>: own PID, network, IPC, UTS and mount namespaces.</summary>
    Unshare,

    /// <summary><c>prlimit</c> (+ <c>setpriv</c> to a throw-away uid when running as root): limits only.</summary>
    RlimitsOnly,
}

/// <summary>
/// Limits for one program run in <see cref="CodeSandbox"/>. Every limit applies to a single run (one test case).
/// The defaults suit competitive-programming tests: a few seconds, 512 MiB, small outputs.
/// </summary>
public sealed record CodeSandboxOptions
{
    /// <summary>Wall-clock limit per run, sandbox start-up included. The CPU-time limit (RLIMIT_CPU) is the same,
    /// rounded up to whole seconds (the kernel's granularity).</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Address-space limit (RLIMIT_AS) of every process in the sandbox, in MiB.</summary>
    public int MemoryMegabytes { get; init; } = 512;

    /// <summary>Process and thread limit (RLIMIT_NPROC), counted per sandbox: the program runs in its own user
    /// namespace (bubblewrap) or under a uid of its own (as root), so the count is the sandbox's alone.</summary>
    public int MaxProcesses { get; init; } = 32;

    /// <summary>Bytes of stdout plus stderr after which the run is killed and reported as
    /// <see cref="ExecutionStatus.OutputLimitExceeded"/>.</summary>
    public long MaxOutputBytes { get; init; } = 1 << 20;

    /// <summary>Size of the private writable folder (a tmpfs under namespaces), also the largest file the program
    /// may write (RLIMIT_FSIZE), in bytes.</summary>
    public long MaxDiskBytes { get; init; } = 32L << 20;

    /// <summary>Open file descriptors per process (RLIMIT_NOFILE).</summary>
    public int MaxOpenFiles { get; init; } = 64;

    /// <summary>How many programs run at once. Default: one per core.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Isolation to use; see <see cref="IsolationMode"/>.</summary>
    public IsolationMode Isolation { get; init; } = IsolationMode.Auto;

    /// <summary>Use bubblewrap when installed (otherwise <c>unshare</c>). Tests turn it off to exercise the
    /// <c>unshare</c> path.</summary>
    public bool PreferBubblewrap { get; init; } = true;

    /// <summary>Stderr kept in the result (its last bytes: the error is at the end of a traceback).</summary>
    public int MaxStderrBytesKept { get; init; } = 8192;

    /// <summary>Folders replaced by empty ones inside the sandbox (namespaces only): the users' homes and the
    /// runtime folders that hold sockets of system services. /tmp, /var/tmp and /dev/shm are always replaced by
    /// private writable tmpfs of <see cref="MaxDiskBytes"/> each.</summary>
    public IReadOnlyList<string> HiddenPaths { get; init; } = ["/home", "/root", "/run", "/var/run"];

    /// <summary>Checks the limits and returns this record; throws <see cref="ArgumentException"/> naming the field.</summary>
    public CodeSandboxOptions Validate()
    {
        if (TimeLimit <= TimeSpan.Zero) throw new ArgumentException($"{nameof(TimeLimit)} must be positive, got {TimeLimit}.");
        if (MemoryMegabytes < 16) throw new ArgumentException($"{nameof(MemoryMegabytes)} must be at least 16, got {MemoryMegabytes}.");
        if (MaxProcesses < 1) throw new ArgumentException($"{nameof(MaxProcesses)} must be at least 1, got {MaxProcesses}.");
        if (MaxOutputBytes < 1) throw new ArgumentException($"{nameof(MaxOutputBytes)} must be positive, got {MaxOutputBytes}.");
        if (MaxDiskBytes < 4096) throw new ArgumentException($"{nameof(MaxDiskBytes)} must be at least 4096, got {MaxDiskBytes}.");
        if (MaxOpenFiles < 8) throw new ArgumentException($"{nameof(MaxOpenFiles)} must be at least 8, got {MaxOpenFiles}.");
        if (Workers < 1) throw new ArgumentException($"{nameof(Workers)} must be at least 1, got {Workers}.");
        if (MaxStderrBytesKept < 0) throw new ArgumentException($"{nameof(MaxStderrBytesKept)} must not be negative.");
        foreach (var path in HiddenPaths)
        {
            if (!path.StartsWith('/') || path.Contains(',') || path.Any(char.IsWhiteSpace))
                throw new ArgumentException($"{nameof(HiddenPaths)}: '{path}' must be an absolute path without spaces or commas.");
        }
        return this;
    }
}
