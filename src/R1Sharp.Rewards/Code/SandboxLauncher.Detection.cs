using System.Diagnostics;
using System.Runtime.InteropServices;

namespace R1Sharp.Rewards.Code;

/// <summary>Backend detection (once per process) and the helper programs and libc calls the launcher uses.</summary>
internal sealed partial class SandboxLauncher
{
    /// <summary>
    /// Chooses the backend for <paramref name="options"/>: tries bubblewrap (when preferred and installed; with
    /// the ≥ 0.8 flags, then without), then unshare (root only), each by running <c>true</c> through its real
    /// command line; falls back to rlimits only in <see cref="IsolationMode.Auto"/> (reporting a warning through
    /// <paramref name="warn"/>) and throws in <see cref="IsolationMode.Namespaces"/>.
    /// </summary>
    internal static SandboxLauncher Detect(CodeSandboxOptions options, Action<string> warn)
    {
        var tools = Tools.Find();
        var missing = tools.MissingEssentials();
        if (missing.Count > 0)
            throw new InvalidOperationException(
                $"The code sandbox needs {string.Join(", ", missing)} (util-linux) on PATH; install util-linux.");
        // Probing costs a few process starts: once per process and kind of request.
        var key = (options.Isolation, options.PreferBubblewrap, string.Join(',', options.HiddenPaths));
        var verdict = Verdicts.GetOrAdd(key, _ => Probe(options, tools));
        if (verdict.Error is not null) throw new InvalidOperationException(verdict.Error);
        if (verdict.Warning is not null) warn(verdict.Warning);
        return new SandboxLauncher(options, verdict.Backend, tools, verdict.BwrapModern);
    }

    private sealed record Verdict(SandboxBackend Backend, bool BwrapModern, string? Warning, string? Error);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(IsolationMode, bool, string), Verdict> Verdicts = new();

    private static Verdict Probe(CodeSandboxOptions options, Tools tools)
    {
        var failures = new List<string>();
        if (options.Isolation == IsolationMode.RlimitsOnly) return new(SandboxBackend.RlimitsOnly, false, null, null);
        if (options.PreferBubblewrap && tools.Bwrap is not null)
        {
            foreach (bool modern in (bool[])[true, false])
            {
                var error = new SandboxLauncher(options, SandboxBackend.Bubblewrap, tools, modern).RunTrue();
                if (error is null) return new(SandboxBackend.Bubblewrap, modern, null, null);
                failures.Add($"bwrap{(modern ? "" : " (without --size, --disable-userns)")}: {error}");
            }
        }
        else if (options.PreferBubblewrap)
        {
            failures.Add("bwrap: not installed (Debian/Ubuntu package 'bubblewrap')");
        }

        if (tools.Unshare is not null && NativeMethods.geteuid() == 0)
        {
            var error = new SandboxLauncher(options, SandboxBackend.Unshare, tools, true).RunTrue();
            if (error is null) return new(SandboxBackend.Unshare, false, null, null);
            failures.Add($"unshare: {error}");
        }
        else
        {
            failures.Add(tools.Unshare is null ? "unshare: not installed" : "unshare: needs root");
        }

        if (options.Isolation == IsolationMode.Namespaces)
            return new(SandboxBackend.RlimitsOnly, false, null,
                "IsolationMode.Namespaces was requested but no namespace sandbox works here: " + string.Join("; ", failures));
        string warning = "Code sandbox: Linux namespaces are not available (" + string.Join("; ", failures) +
            "). Falling back to rlimits only: programs are limited in time, memory, processes and output, " +
            "but NOT isolated from the network or the filesystem" +
            (NativeMethods.geteuid() == 0 ? "" : ", and can signal your other processes") +
            ". Install bubblewrap for real isolation.";
        return new(SandboxBackend.RlimitsOnly, false, warning, null);
    }

    /// <summary>Runs <c>true</c> through this backend; null when it exited 0, else what went wrong.</summary>
    private string? RunTrue()
    {
        string folder = CodeSandbox.CreateRunFolder();
        try
        {
            PrepareFolder(0, folder);
            File.WriteAllText(Path.Combine(folder, "probe"), "");
            var psi = Build(0, folder, _tools.True, [], "probe");
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
            return process.ExitCode == 0 ? null : $"exit code {process.ExitCode}: {stderr.Result.Trim()}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            return e.Message;
        }
        finally
        {
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

    internal static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        internal static extern uint geteuid();

        [DllImport("libc", SetLastError = true)]
        internal static extern int kill(int pid, int sig);

        [DllImport("libc", SetLastError = true)]
        internal static extern int chown([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint owner, uint group);
    }
}
