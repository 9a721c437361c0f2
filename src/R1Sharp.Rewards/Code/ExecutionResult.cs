namespace R1Sharp.Rewards.Code;

/// <summary>How a sandboxed run ended.</summary>
public enum ExecutionStatus
{
    /// <summary>Exited with code 0 within every limit.</summary>
    Success,

    /// <summary>Exited with a non-zero code or was killed by a signal it brought on itself (including refused
    /// network or file access, which programs report as exceptions).</summary>
    RuntimeError,

    /// <summary>Ran past the wall-clock limit (killed by the sandbox) or the CPU-time limit (SIGXCPU).</summary>
    TimeLimitExceeded,

    /// <summary>Hit the address-space limit (MemoryError, bad_alloc, "Cannot allocate memory"), or the run as a whole
    /// (processes, memfd, tmpfs) went over the memory limit: OOM-killed in its cgroup, or killed by the watchdog.</summary>
    MemoryLimitExceeded,

    /// <summary>Wrote more than the output cap to stdout + stderr; killed as soon as it did.</summary>
    OutputLimitExceeded,

    /// <summary>Filled its private folder or hit the file-size limit.</summary>
    DiskLimitExceeded,

    /// <summary>The sandbox itself failed (no interpreter for the language, launch failure): the program was not
    /// judged.</summary>
    SandboxError,
}

/// <summary>
/// The outcome of one <see cref="CodeSandbox.RunAsync"/>. <paramref name="Stdout"/> holds at most the output cap;
/// <paramref name="Stderr"/> holds the last <see cref="CodeSandboxOptions.MaxStderrBytesKept"/> bytes.
/// <paramref name="ExitCode"/> is the program's code, or 128 + signal when a signal ended it, or null when the
/// sandbox killed it (limits) or never started it. <paramref name="Reason"/> is one human-readable line.
/// </summary>
public sealed record ExecutionResult(
    ExecutionStatus Status,
    int? ExitCode,
    string Stdout,
    string Stderr,
    TimeSpan Duration,
    string Reason)
{
    /// <summary>True when the program exited with code 0 within every limit.</summary>
    public bool Succeeded => Status == ExecutionStatus.Success;

    /// <summary>How the run's total memory was bounded.</summary>
    public MemoryEnforcement MemoryEnforcement { get; init; }

    /// <summary>The most memory the run's cgroup held (processes, memfd, tmpfs, page cache), when a cgroup was in
    /// force and the kernel reports it; else null.</summary>
    public long? PeakMemoryBytes { get; init; }
}
