using R1Sharp.Rewards.Code;

namespace R1Sharp.Rewards.Tests.Code;

/// <summary>
/// The isolation paths this machine can exercise: bubblewrap when installed, unshare when running as root, and
/// rlimits only always. Tests run against each one present, so they pass (exercising the fallback) without bwrap.
/// </summary>
internal static class SandboxModes
{
    internal const string Bubblewrap = "bwrap";
    internal const string Unshare = "unshare";
    internal const string Rlimits = "rlimits";

    internal static readonly bool IsRoot = SandboxLauncherAccess.IsRoot;

    /// <summary>The test collection of the classes whose runs are timed (throughput, time and memory limits that
    /// must trip early) or load the machine (gigabyte memory bombs): one at a time, so they do not skew each other.</summary>
    internal const string TimingSensitive = "sandbox: timed or heavy runs";

    /// <summary>The strongest backend here.</summary>
    internal static string Best =>
        SandboxLauncherAccess.Which("bwrap") is not null ? Bubblewrap : IsRoot ? Unshare : Rlimits;

    /// <summary>Namespace backends available here (bwrap, unshare).</summary>
    public static TheoryData<string> Namespaces()
    {
        var data = new TheoryData<string>();
        if (SandboxLauncherAccess.Which("bwrap") is not null) data.Add(Bubblewrap);
        if (IsRoot && SandboxLauncherAccess.Which("unshare") is not null) data.Add(Unshare);
        return data;
    }

    /// <summary>Every backend available here.</summary>
    public static TheoryData<string> All()
    {
        var data = Namespaces();
        data.Add(Rlimits);
        return data;
    }

    /// <summary>Backends in which a program cannot signal the test process: namespaces, or rlimits as root
    /// (the program runs under a throw-away uid).</summary>
    public static TheoryData<string> SignalSafe()
    {
        var data = Namespaces();
        if (IsRoot) data.Add(Rlimits);
        return data;
    }

    /// <summary>A sandbox for <paramref name="mode"/> with small limits so hostile tests stay fast.</summary>
    internal static CodeSandbox Create(string mode, Func<CodeSandboxOptions, CodeSandboxOptions>? tweak = null)
    {
        var options = new CodeSandboxOptions
        {
            TimeLimit = TimeSpan.FromSeconds(2),
            MemoryMegabytes = 256,
            MaxProcesses = 16,
            MaxOutputBytes = 64 * 1024,
            MaxDiskBytes = 4L << 20,
            Workers = 2,
            Isolation = mode == Rlimits ? IsolationMode.RlimitsOnly : IsolationMode.Namespaces,
            PreferBubblewrap = mode == Bubblewrap,
            AllowUnsandboxed = mode == Rlimits,
        };
        var log = new ListLogger();
        var sandbox = new CodeSandbox(tweak is null ? options : tweak(options), log);
        if (mode == Rlimits) Assert.Contains(log.Warnings, w => w.Contains("UNSANDBOXED", StringComparison.Ordinal));
        var expected = mode switch
        {
            Bubblewrap => SandboxBackend.Bubblewrap,
            Unshare => SandboxBackend.Unshare,
            _ => SandboxBackend.RlimitsOnly,
        };
        Assert.Equal(expected, sandbox.Backend);
        return sandbox;
    }
}

/// <summary>Test access to internals of the launcher.</summary>
internal static class SandboxLauncherAccess
{
    internal static bool IsRoot => SandboxLauncher.NativeMethods.geteuid() == 0;

    internal static string? Which(string name) => SandboxLauncher.Which(name);

    internal static bool IsWrapperFailure(int exitCode, string stderr, string token, out string message) =>
        SandboxLauncher.IsWrapperFailure(exitCode, stderr, token, out message);

    internal static IReadOnlyList<string> EtcEntries => SandboxLauncher.EtcEntries;

    /// <summary>True when the seccomp filter could be built here (x86_64 with libseccomp).</summary>
    internal static bool SeccompAvailable => SandboxLauncher.Seccomp.Bpf is not null;

    private static readonly Lazy<CgroupMemory?> Detected = new(() => CgroupMemory.Detect(null, out _));

    /// <summary>True when this machine lets the sandbox make per-run memory cgroups.</summary>
    internal static bool CgroupAvailable => Detected.Value is not null;

    /// <summary>The folder per-run groups go in here, or null.</summary>
    internal static string? DetectedCgroupParent => Detected.Value?.Parent;

    internal static List<CgroupMemory.Mount> ParseMountinfo(string text) => CgroupMemory.ParseMountinfo(text);

    internal static string? Map(CgroupMemory.Mount mount, string path) => CgroupMemory.Map(mount, path);

    internal static Dictionary<string, string> ParseProcCgroup(string text) => CgroupMemory.ParseProcCgroup(text);
}

/// <summary>Collects what a sandbox logs.</summary>
internal sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
{
    private readonly List<(Microsoft.Extensions.Logging.LogLevel Level, string Message)> _entries = [];

    internal IReadOnlyList<string> Warnings
    {
        get { lock (_entries) return _entries.Where(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => e.Message).ToList(); }
    }

    internal IReadOnlyList<string> All
    {
        get { lock (_entries) return _entries.Select(e => e.Message).ToList(); }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
        Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries) _entries.Add((logLevel, formatter(state, exception)));
    }
}

internal static class ResultAssert
{
    /// <summary>Asserts the status, showing reason and stderr when it differs.</summary>
    internal static void Status(ExecutionStatus expected, ExecutionResult result) =>
        Assert.True(expected == result.Status,
            $"expected {expected}, got {result.Status}: {result.Reason}\nstdout: {Clip(result.Stdout)}\nstderr: {Clip(result.Stderr)}");

    private static string Clip(string s) => s.Length <= 2000 ? s : s[..2000] + "…";
}
