namespace R1Sharp.Rewards.Code;

/// <summary>How strongly <see cref="CodeSandbox"/> isolates a program.</summary>
public enum IsolationMode
{
    /// <summary>Namespaces when this machine permits them, otherwise rlimits only (with a warning, logged once).</summary>
    Auto,

    /// <summary>Linux namespaces (bubblewrap, else <c>unshare</c>) plus rlimits; construction fails when unavailable.</summary>
    Namespaces,

    /// <summary>Resource limits only: no network, filesystem or PID isolation. For machines that forbid namespaces;
    /// refused unless <see cref="CodeSandboxOptions.AllowUnsandboxed"/> is set.</summary>
    RlimitsOnly,
}

/// <summary>How the memory of a whole run (all its processes, and what it stores in memory-backed files) is bounded,
/// on top of the per-process address-space limit (RLIMIT_AS) every run gets.</summary>
public enum MemoryEnforcement
{
    /// <summary>A cgroup v2 per run (<c>memory.max</c>): the kernel counts processes, memfd, tmpfs and kernel memory
    /// together and OOM-kills the run at the limit.</summary>
    CgroupV2,

    /// <summary>A cgroup v1 memory group per run (<c>memory.limit_in_bytes</c>): processes, memfd and tmpfs pages
    /// together, OOM kill at the limit.</summary>
    CgroupV1,

    /// <summary>No usable cgroup, running as root: every 100 ms the sandbox adds up the run's resident memory, its
    /// memfds and its private tmpfs, and kills it above the limit.</summary>
    Watchdog,

    /// <summary>No cgroup and not root: only each process's address space is limited.</summary>
    PerProcessOnly,
}

/// <summary>The code sandbox would have to run untrusted programs without isolation and was not allowed to
/// (<see cref="CodeSandboxOptions.AllowUnsandboxed"/>). The message says why and how to fix or opt in.</summary>
public sealed class SandboxUnavailableException(string message) : InvalidOperationException(message);

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

    /// <summary>Memory limit in MiB: the address-space limit (RLIMIT_AS) of every process in the sandbox, and the
    /// bound on the whole run — its processes, memfds and tmpfs together — enforced by a cgroup (which gets 64 MiB
    /// more for page cache) or the watchdog; see <see cref="MemoryEnforcement"/>.</summary>
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

    /// <summary>Folders replaced by empty ones inside the <c>unshare</c> sandbox: the users' homes and the runtime
    /// folders that hold sockets of system services. (That sandbox already covers every top-level folder but /usr,
    /// /bin, /sbin, /lib*, /etc, /dev, /proc, /tmp and those holding <see cref="ReadOnlyPaths"/>, so entries matter
    /// below those; a bubblewrap sandbox shows only the runtime, so none of them.)
    /// /tmp, /var/tmp and /dev/shm are always replaced by private writable tmpfs of <see cref="MaxDiskBytes"/> each.</summary>
    public IReadOnlyList<string> HiddenPaths { get; init; } = ["/home", "/root", "/run", "/var/run"];

    /// <summary>Accept running programs WITHOUT isolation (rlimits only: they can reach the network and this
    /// machine's services, read your files and write into /tmp) when namespaces are unavailable or
    /// <see cref="IsolationMode.RlimitsOnly"/> is asked for. Without it, creating the sandbox then throws
    /// <see cref="SandboxUnavailableException"/>; with it, the sandbox warns loudly (to the logger, else stderr).</summary>
    public bool AllowUnsandboxed { get; init; }

    /// <summary>Host folders or files shown read-only inside a bubblewrap sandbox, besides the runtime (/usr, /bin,
    /// /sbin, /lib*, a minimal /etc): e.g. an interpreter installed under /opt. Nothing else of the host is visible.
    /// The unshare sandbox keeps the top-level folder of each one visible (all of /opt for /opt/python).</summary>
    public IReadOnlyList<string> ReadOnlyPaths { get; init; } = [];

    /// <summary>Bound each run's total memory with a cgroup (v2, else the v1 memory controller) where this machine
    /// allows creating one; false uses the watchdog instead (see <see cref="MemoryEnforcement"/>).</summary>
    public bool UseCgroup { get; init; } = true;

    /// <summary>The cgroup folder to create per-run groups in (e.g. a delegated subtree); null finds one: this
    /// process's own group, or the cgroup v2 root when running as root.</summary>
    public string? CgroupParent { get; init; }

    /// <summary>Test hook: behave as on a machine whose namespaces are all refused.</summary>
    internal bool SimulateNoNamespaces { get; init; }

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
        foreach (var path in ReadOnlyPaths)
        {
            if (!path.StartsWith('/') || path.TrimEnd('/').Length == 0)
                throw new ArgumentException($"{nameof(ReadOnlyPaths)}: '{path}' must be an absolute path other than /.");
        }
        if (CgroupParent is not null && !CgroupParent.StartsWith('/'))
            throw new ArgumentException($"{nameof(CgroupParent)}: '{CgroupParent}' must be an absolute path.");
        return this;
    }
}
