using System.Diagnostics;
using System.Runtime.InteropServices;

namespace R1Sharp.Rewards.Code;

/// <summary>Backend detection (once per process) and the helper programs and libc calls the launcher uses.</summary>
internal sealed partial class SandboxLauncher
{
    /// <summary>
    /// Chooses the backend for <paramref name="options"/>: tries bubblewrap (when preferred and installed; with
    /// the ≥ 0.8 flags, then without), then unshare (root only), each by running <c>true</c> through its real
    /// command line (memory cgroup and seccomp filter included). When none works — or when
    /// <see cref="IsolationMode.RlimitsOnly"/> was asked for — the program would run unsandboxed: that throws
    /// <see cref="SandboxUnavailableException"/> (saying why and how to opt in) unless
    /// <see cref="CodeSandboxOptions.AllowUnsandboxed"/> is set, and then reports a loud warning through
    /// <paramref name="warn"/>. <see cref="IsolationMode.Namespaces"/> never falls back. A bubblewrap sandbox without
    /// a seccomp filter (not x86_64, libseccomp missing) is reported through <paramref name="warn"/> too.
    /// </summary>
    internal static SandboxLauncher Detect(CodeSandboxOptions options, Action<string> warn)
    {
        var tools = Tools.Find();
        var missing = tools.MissingEssentials();
        if (missing.Count > 0)
            throw new InvalidOperationException(
                $"The code sandbox needs {string.Join(", ", missing)} (util-linux) on PATH; install util-linux.");
        foreach (var path in options.ReadOnlyPaths)
            if (!Directory.Exists(path) && !File.Exists(path))
                throw new ArgumentException($"{nameof(CodeSandboxOptions.ReadOnlyPaths)}: '{path}' does not exist.");
        // Probing costs a few process starts: once per process and kind of request.
        var cgroup = options.UseCgroup ? Cgroups.GetOrAdd(options.CgroupParent ?? "", p => new(() =>
        {
            var found = CgroupMemory.Detect(p.Length == 0 ? null : p, out string whyNot);
            return (found, whyNot);
        })).Value : (null, "disabled (UseCgroup = false)");
        if (options.CgroupParent is not null && cgroup.Found is null)
            throw new InvalidOperationException($"{nameof(CodeSandboxOptions.CgroupParent)} '{options.CgroupParent}' cannot hold memory groups: {cgroup.WhyNot}");
        var key = (options.Isolation, options.PreferBubblewrap, string.Join(',', options.HiddenPaths), string.Join(',', options.ReadOnlyPaths),
                   cgroup.Found?.Parent ?? "", options.SimulateNoNamespaces);
        var verdict = Verdicts.GetOrAdd(key, _ => Probe(options, tools, cgroup.Found));
        if (verdict.Error is not null) throw new InvalidOperationException(verdict.Error);
        if (verdict.Backend == SandboxBackend.RlimitsOnly)
        {
            string why = options.Isolation == IsolationMode.RlimitsOnly
                ? "IsolationMode.RlimitsOnly was requested"
                : "Linux namespaces are not available here (" + string.Join("; ", verdict.Failures) + ")";
            if (!options.AllowUnsandboxed) throw new SandboxUnavailableException(RefusalMessage(why));
            warn(UnsandboxedWarning(why));
        }
        else if (verdict.Backend == SandboxBackend.Bubblewrap && Seccomp.Bpf is null)
        {
            warn($"Code sandbox: bubblewrap runs WITHOUT a seccomp filter because {Seccomp.WhyNot}. Programs stay in their " +
                 "namespaces, but the kernel interfaces the filter closes (ptrace, io_uring, keyctl, bpf, userfaultfd…) stay open.");
        }
        return new SandboxLauncher(options, verdict.Backend, tools, verdict.BwrapModern, cgroup.Found) { CgroupWhyNot = cgroup.WhyNot };
    }

    /// <summary>Why no memory cgroup is used ("" when one is).</summary>
    internal string CgroupWhyNot { get; private init; } = "";

    /// <summary>The refusal: why the code would run unsandboxed, what that would allow, and the two ways out.</summary>
    internal static string RefusalMessage(string why) =>
        $"The code sandbox refuses to run untrusted programs without isolation: {why}. With resource limits only, a " +
        "program could connect to the network and to services on this machine's 127.0.0.1, read every file your " +
        "user can read, and write into /tmp and your other writable folders. To isolate programs, install bubblewrap " +
        "(Debian/Ubuntu package 'bubblewrap') and allow unprivileged user namespaces (sysctl user.max_user_namespaces > 0, " +
        "kernel.unprivileged_userns_clone=1 where it exists, kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor " +
        "profile for bwrap on Ubuntu ≥ 23.10; in a container: --security-opt seccomp=unconfined or a user-namespace-enabled " +
        "runtime), or run as root to use unshare. To run them anyway on a machine you accept to expose, opt in explicitly: " +
        "CodeSandboxOptions.AllowUnsandboxed = true, the code reward option allow_unsandboxed=true, or --allow-unsandboxed " +
        "on the command line.";

    private static string UnsandboxedWarning(string why) =>
        "WARNING: UNSANDBOXED CODE EXECUTION. The code reward runs untrusted programs with resource limits only, because " +
        $"{why} and AllowUnsandboxed (allow_unsandboxed / --allow-unsandboxed) was given. Programs can reach the network " +
        "and this machine's 127.0.0.1 services, read every file " + (NativeMethods.geteuid() == 0
            ? "readable by others (they run under a throw-away uid)"
            : "you can read, signal your other processes") +
        ", and write into /tmp. Install bubblewrap for real isolation.";

    private sealed record Verdict(SandboxBackend Backend, bool BwrapModern, IReadOnlyList<string> Failures, string? Error);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(IsolationMode, bool, string, string, string, bool), Verdict> Verdicts = new();

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<(CgroupMemory? Found, string WhyNot)>> Cgroups = new();

    private static Verdict Probe(CodeSandboxOptions options, Tools tools, CgroupMemory? cgroup)
    {
        var failures = new List<string>();
        if (options.Isolation == IsolationMode.RlimitsOnly) return new(SandboxBackend.RlimitsOnly, false, failures, null);
        if (options.SimulateNoNamespaces)
        {
            failures.Add("bwrap: user namespaces refused (simulated)");
            failures.Add("unshare: namespaces refused (simulated)");
        }
        else
        {
            if (options.PreferBubblewrap && tools.Bwrap is not null)
            {
                foreach (bool modern in (bool[])[true, false])
                {
                    var error = new SandboxLauncher(options, SandboxBackend.Bubblewrap, tools, modern, cgroup).RunTrue();
                    if (error is null) return new(SandboxBackend.Bubblewrap, modern, failures, null);
                    failures.Add($"bwrap{(modern ? "" : " (without --size, --disable-userns)")}: {error}");
                }
            }
            else if (options.PreferBubblewrap)
            {
                failures.Add("bwrap: not installed (Debian/Ubuntu package 'bubblewrap')");
            }

            if (tools.Unshare is not null && NativeMethods.geteuid() == 0)
            {
                var error = new SandboxLauncher(options, SandboxBackend.Unshare, tools, true, cgroup).RunTrue();
                if (error is null) return new(SandboxBackend.Unshare, false, failures, null);
                failures.Add($"unshare: {error}");
            }
            else
            {
                failures.Add(tools.Unshare is null ? "unshare: not installed" : "unshare: needs root");
            }
        }

        if (options.Isolation == IsolationMode.Namespaces)
            return new(SandboxBackend.RlimitsOnly, false, failures,
                "IsolationMode.Namespaces was requested but no namespace sandbox works here: " + string.Join("; ", failures));
        return new(SandboxBackend.RlimitsOnly, false, failures, null);
    }

    /// <summary>Runs <c>true</c> through this backend; null when it exited 0, else what went wrong.</summary>
    private string? RunTrue()
    {
        string folder = CodeSandbox.CreateRunFolder();
        CgroupRun? group = null;
        try
        {
            group = Cgroup?.Create(CodeSandbox.CgroupLimitBytes(_options));
            PrepareFolder(0, folder);
            File.WriteAllText(Path.Combine(folder, "probe"), "");
            string token = NewSetupToken();
            var psi = Build(0, folder, _tools.True, [], "probe", group, token);
            psi.RedirectStandardInput = false;
            using var process = new Process { StartInfo = psi };
            ProcessSpawner.StartAsync(process).GetAwaiter().GetResult();
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(10_000))
            {
                Kill(process, 0);
                return "timed out";
            }
            Sweep(0);
            return process.ExitCode == 0 ? null : $"exit code {process.ExitCode}: {stderr.Result.Replace(token + " ", "").Trim()}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
        finally
        {
            group?.Dispose();
            CodeSandbox.DeleteRunFolder(folder);
        }
    }

    /// <summary>Absolute paths of the helper programs (the program's environment is cleared, so no PATH lookups).</summary>
    internal sealed record Tools(string? Bwrap, string? Unshare, string Setpriv, string Prlimit, string Setsid, string Sh, string True)
    {
        internal static Tools Find() => new(
            Which("bwrap"), Which("unshare"), Which("setpriv") ?? "", Which("prlimit") ?? "", Which("setsid") ?? "",
            Which("sh") ?? "/bin/sh", Which("true") ?? "/bin/true");

        internal IReadOnlyList<string> MissingEssentials() =>
            new[] { ("setpriv", Setpriv), ("prlimit", Prlimit), ("setsid", Setsid) }
                .Where(t => t.Item2.Length == 0).Select(t => t.Item1).ToList();
    }

    /// <summary>The first executable named <paramref name="name"/> (or the path itself when absolute) on PATH or
    /// in the usual system folders, skipping folders the sandbox hides.</summary>
    internal static string? Which(string name, IEnumerable<string>? hidden = null)
    {
        hidden ??= ["/home", "/root", "/tmp", "/run", "/var/tmp"];
        bool Visible(string p) => !hidden.Any(h => p == h || p.StartsWith(h + "/", StringComparison.Ordinal));
        if (name.StartsWith('/'))
            return File.Exists(name) && Visible(name) ? name : null;
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]);
        foreach (var dir in dirs)
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path) && Visible(path) && IsExecutable(path)) return path;
        }
        return null;
    }

    private static bool IsExecutable(string path) =>
        !OperatingSystem.IsLinux() || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    internal static unsafe class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        internal static extern uint geteuid();

        [DllImport("libc", SetLastError = true)]
        internal static extern int kill(int pid, int sig);

        [DllImport("libc", SetLastError = true)]
        internal static extern int chown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint owner, uint group);

        [DllImport("libc", SetLastError = true)]
        internal static extern int fcntl(int fd, int command, int argument);

        [DllImport("libc", SetLastError = true)]
        internal static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

        [DllImport("libc")]
        internal static extern void free(IntPtr pointer);

        [DllImport("libc", SetLastError = true, EntryPoint = "stat")]
        private static extern int stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* buffer);

        [DllImport("libc", SetLastError = true, EntryPoint = "statvfs")]
        private static extern int statvfs([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* buffer);

        /// <summary>Device, inode and allocated bytes (st_blocks × 512) of the file <paramref name="path"/> leads to,
        /// or null. struct stat of x86_64 and arm64 glibc: st_dev at 0, st_ino at 8, st_blocks at 64.</summary>
        internal static (ulong Device, ulong Inode, long Bytes)? Allocated(string path)
        {
            byte* buffer = stackalloc byte[256];
            try
            {
                if (stat(path, buffer) != 0) return null;
            }
            catch (EntryPointNotFoundException) // glibc < 2.33 exports only __xstat
            {
                return null;
            }
            return (*(ulong*)buffer, *(ulong*)(buffer + 8), *(long*)(buffer + 64) * 512);
        }

        /// <summary>Kernel memory of one tmpfs inode and its dentry (measured: 1.0 KiB of slab per empty file or
        /// folder). statfs counts no blocks for them, so a program making millions of empty folders would hold
        /// hundreds of MiB that the data blocks do not show.</summary>
        internal const long InodeBytes = 1024;

        /// <summary>Memory held by the tmpfs holding <paramref name="path"/>: its used blocks ((f_blocks − f_bfree) ×
        /// f_frsize) plus <see cref="InodeBytes"/> per used inode (f_files − f_ffree); struct statvfs of 64-bit glibc:
        /// f_frsize at 8, f_blocks at 16, f_bfree at 24, f_files at 40, f_ffree at 48. Null when statvfs fails.</summary>
        internal static long? UsedBytes(string path)
        {
            byte* buffer = stackalloc byte[256];
            if (statvfs(path, buffer) != 0) return null;
            ulong frsize = *(ulong*)(buffer + 8), blocks = *(ulong*)(buffer + 16), free = *(ulong*)(buffer + 24);
            ulong files = *(ulong*)(buffer + 40), freeFiles = *(ulong*)(buffer + 48);
            return (long)((blocks - free) * frsize) + (long)(files >= freeFiles ? files - freeFiles : 0) * InodeBytes;
        }
    }
}
