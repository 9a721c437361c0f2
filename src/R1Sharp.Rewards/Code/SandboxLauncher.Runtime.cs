using System.Globalization;

namespace R1Sharp.Rewards.Code;

/// <summary>
/// What a bubblewrap sandbox sees of the host: the runtime only. Its root is a fresh tmpfs (remounted read-only)
/// holding read-only binds of <c>/usr</c> and of the <c>/bin</c>, <c>/sbin</c>, <c>/lib*</c> folders (recreated as
/// the same symbolic links on merged-/usr systems), <see cref="CodeSandboxOptions.ReadOnlyPaths"/>, and a minimal
/// read-only <c>/etc</c>: the dynamic linker's cache and configuration, the time zone, <c>alternatives</c>
/// (symbolic links such as awk → mawk), <c>nsswitch.conf</c>, Python's Debian configuration, and generated
/// <c>passwd</c>, <c>group</c> and <c>hosts</c> that name only root, the sandbox user (uid 1000 inside) and nobody.
/// Nothing else of the host — no project, no <c>/opt</c>, <c>/srv</c>, <c>/var</c>, <c>/home</c>, <c>/sys</c>, no
/// <c>/etc/shadow</c>, no other users' files — exists inside.
/// </summary>
internal sealed partial class SandboxLauncher
{
    /// <summary>The uid and gid the program has inside a bubblewrap sandbox (its own user namespace).</summary>
    internal const int SandboxUid = 1000;

    /// <summary>Top-level runtime folders bound read-only (or recreated as links) when present.</summary>
    internal static readonly string[] RuntimeFolders = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

    /// <summary>Entries of the host's /etc shown inside (read-only; links recreated as links), when present.</summary>
    internal static readonly string[] EtcEntries =
        ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "alternatives", "nsswitch.conf"];

    /// <summary>/etc entries matched by prefix: Debian's Python configuration (python3, python3.11, …).</summary>
    private const string EtcPythonPrefix = "python3";

    private static readonly object SupportGate = new();
    private static string? _supportFolder;

    /// <summary>
    /// The bwrap arguments that build the program's view of the file system (everything but /dev, /proc, the
    /// private tmpfs and the program folder), computed once per launcher: the host's layout does not change
    /// between runs.
    /// </summary>
    private List<string> RuntimeView()
    {
        var args = new List<string>();
        foreach (var folder in RuntimeFolders)
            AddMirror(args, folder);
        foreach (var extra in _options.ReadOnlyPaths)
            args.AddRange(["--ro-bind", extra, extra]);
        string support = SupportFolder();
        args.AddRange(["--perms", "0755"]);
        if (_bwrapModern) args.AddRange(["--size", "1048576"]);
        args.AddRange(["--tmpfs", "/etc"]);
        var entries = EtcEntries.Select(e => Path.Combine("/etc", e)).ToList();
        try
        {
            entries.AddRange(Directory.EnumerateFileSystemEntries("/etc", EtcPythonPrefix + "*").Order(StringComparer.Ordinal));
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        foreach (var entry in entries) AddMirror(args, entry);
        foreach (var generated in (string[])["passwd", "group", "hosts"])
            args.AddRange(["--ro-bind", Path.Combine(support, generated), "/etc/" + generated]);
        args.AddRange(["--symlink", "../proc/self/mounts", "/etc/mtab", "--remount-ro", "/etc"]);
        return args;
    }

    /// <summary>True when <paramref name="path"/> (an interpreter) lies, links resolved, inside the folders a
    /// bubblewrap sandbox shows, or outside those an unshare sandbox hides.</summary>
    internal bool VisibleInside(string path)
    {
        string real = RealPath(path);
        bool Under(string root) => real == root || real.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal);
        return Backend switch
        {
            SandboxBackend.Bubblewrap => RuntimeFolders.Concat(_options.ReadOnlyPaths).Select(RealPath).Any(Under),
            SandboxBackend.Unshare => !UnshareHidden().Any(Under),
            _ => true,
        };
    }

    /// <summary>The absolute path with every link resolved (realpath(3)), or the path itself when it does not exist.</summary>
    internal static string RealPath(string path)
    {
        IntPtr resolved = NativeMethods.realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return path;
        try { return System.Runtime.InteropServices.Marshal.PtrToStringUTF8(resolved) ?? path; }
        finally { NativeMethods.free(resolved); }
    }

    /// <summary>Shows <paramref name="path"/> inside as on the host: a link as the same link, a folder or file as a
    /// read-only bind; nothing when absent.</summary>
    private static void AddMirror(List<string> args, string path)
    {
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (info.LinkTarget is { } target)
        {
            args.AddRange(["--symlink", target, path]);
            return;
        }
        if (!info.Exists) return;
        args.AddRange(["--ro-bind", path, path]);
    }

    /// <summary>
    /// A folder of this process (0755, removed when it exits; recreated if something removed it meanwhile) with the
    /// generated /etc files and the compiled seccomp filter.
    /// </summary>
    internal static string SupportFolder()
    {
        lock (SupportGate)
        {
            if (_supportFolder is not null && File.Exists(Path.Combine(_supportFolder, "hosts")) &&
                (Seccomp.Bpf is null || File.Exists(Path.Combine(_supportFolder, SeccompFileName))))
                return _supportFolder;
            string folder = _supportFolder ?? Path.Combine(Path.GetTempPath(), $"{SupportPrefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
            const UnixFileMode dirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                         UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
            if (OperatingSystem.IsLinux()) Directory.CreateDirectory(folder, dirMode);
            string uid = SandboxUid.ToString(CultureInfo.InvariantCulture);
            Write(folder, "passwd", $"root:x:0:0:root:/root:/bin/sh\nsandbox:x:{uid}:{uid}:sandbox:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
            Write(folder, "group", $"root:x:0:\nsandbox:x:{uid}:\nnogroup:x:65534:\n");
            Write(folder, "hosts", "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n");
            if (Seccomp.Bpf is { } bpf)
            {
                string path = Path.Combine(folder, SeccompFileName);
                File.WriteAllBytes(path + ".new", bpf);
                File.Move(path + ".new", path, overwrite: true);
            }
            if (_supportFolder is null)
            {
                RemoveStaleSupportFolders();
                _supportFolder = folder;
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    try { Directory.Delete(folder, recursive: true); }
                    catch (IOException) { }
                    catch (UnauthorizedAccessException) { }
                };
            }
            return folder;
        }

        static void Write(string folder, string name, string text)
        {
            string path = Path.Combine(folder, name);
            File.WriteAllText(path + ".new", text);
            if (OperatingSystem.IsLinux())
                File.SetUnixFileMode(path + ".new", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.Move(path + ".new", path, overwrite: true);
        }
    }

    private const string SupportPrefix = "r1sharp-sandbox-support-";

    /// <summary>Support folders of processes that ended without removing theirs (killed test hosts, crashes).</summary>
    private static void RemoveStaleSupportFolders()
    {
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), SupportPrefix + "*"))
            {
                var rest = Path.GetFileName(dir)[SupportPrefix.Length..];
                int dash = rest.IndexOf('-');
                if (dash > 0 && int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) &&
                    pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                {
                    try { Directory.Delete(dir, recursive: true); }
                    catch (IOException) { }
                    catch (UnauthorizedAccessException) { }
                }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private const string SeccompFileName = "seccomp.bpf";

    /// <summary>The compiled filter of this process (built once), or why there is none.</summary>
    internal static readonly (byte[]? Bpf, string? WhyNot) Seccomp = SeccompFilter.Build();

    /// <summary>Path of the compiled filter, or null when there is none.</summary>
    private static string? SeccompFile => Seccomp.Bpf is null ? null : Path.Combine(SupportFolder(), SeccompFileName);
}
