using System.Diagnostics;
using System.Globalization;

namespace R1Sharp.Rewards.Code;

/// <summary>
/// Builds the command line that starts one program inside the chosen isolation, and kills what is left after it.
/// Three backends (see <see cref="SandboxBackend"/>), all ending in <c>prlimit</c> for the rlimits:
/// <code>
/// bubblewrap:   [setpriv --reuid U] bwrap --unshare-all --unshare-user --disable-userns --die-with-parent
///               --new-session --ro-bind / / --dev /dev --proc /proc --tmpfs HIDDEN... --size D --tmpfs /tmp
///               --size D --tmpfs /var/tmp --size D --tmpfs /dev/shm --ro-bind RUNDIR /tmp/src --chdir /tmp --clearenv ... -- prlimit ... PROGRAM
/// unshare:      setpriv --pdeathsig=KILL unshare --mount --net --pid --ipc --uts --fork --kill-child --mount-proc -- sh -c
///               (sh is PID 1: mount -a -T RUNDIR/sandbox.fstab, then setsid setpriv --reuid U prlimit ... PROGRAM &amp; wait)
/// rlimits only: setsid setpriv [--reuid U] --pdeathsig=KILL prlimit ... RUNDIR/PROGRAM   (working folder RUNDIR/work, owned by U)
/// </code>
/// When running as root every run gets a uid of its own (no name, no files; each worker slot rotates through 1024), so
/// RLIMIT_NPROC counts that run alone, the program cannot touch files owned by real users, and <c>kill -9 -1</c> reaches only itself.
/// In a PID namespace every process dies with the namespace's init; under rlimits only, the slot's uid is swept.
/// </summary>
internal sealed partial class SandboxLauncher
{
    /// <summary>Where the program's own folder is mounted (read-only) inside a namespace sandbox.</summary>
    internal const string ProgramFolder = "/tmp/src";

    private const string SandboxPath = "/usr/local/bin:/usr/bin:/bin";

    /// <summary>World-writable folders an rlimits-only program can write into; its leftovers are removed there.</summary>
    private static readonly string[] WorldWritable = ["/tmp", "/var/tmp", "/dev/shm"];
    private const int SigKill = 9;

    /// <summary>Uids each slot rotates through: a killed run's processes may linger a moment as zombies (until the
    /// host's init reaps them) and would count against the next run's RLIMIT_NPROC if it reused the uid.</summary>
    internal const int UidsPerSlot = 1024;

    private readonly CodeSandboxOptions _options;
    private readonly Tools _tools;
    private readonly bool _isRoot;
    private readonly int _uidBase;
    private readonly int[] _currentUid;
    private readonly bool _bwrapModern;
    private string? _unshareFstab;

    private SandboxLauncher(CodeSandboxOptions options, SandboxBackend backend, Tools tools, bool bwrapModern)
    {
        _options = options;
        Backend = backend;
        _tools = tools;
        _isRoot = NativeMethods.geteuid() == 0;
        _bwrapModern = bwrapModern;
        // A random block in [1e9, 2^31): far above any real account, and two live sandboxes (even in different
        // processes) overlap with probability ~ 2 · Workers · 1024 / 1.1e9.
        int span = options.Workers * UidsPerSlot;
        _uidBase = 1_000_000_000 + Random.Shared.Next(0, int.MaxValue - 1_000_000_000 - span);
        _currentUid = Enumerable.Range(0, options.Workers).Select(slot => _uidBase + slot * UidsPerSlot).ToArray();
    }

    internal SandboxBackend Backend { get; }

    /// <summary>True when each slot runs under a throw-away uid (the host runs as root).</summary>
    internal bool SwitchesUser => _isRoot;

    /// <summary>One line for logs: backend and what it isolates.</summary>
    internal string Description => Backend switch
    {
        SandboxBackend.Bubblewrap => $"bubblewrap ({_tools.Bwrap}){(_isRoot ? ", per-run uid" : "")}{(_bwrapModern ? "" : ", bwrap < 0.8: unsized tmpfs, nested user namespaces allowed")}",
        SandboxBackend.Unshare => $"unshare namespaces ({_tools.Unshare}), per-run uid",
        _ => _isRoot ? "rlimits only, per-run uid (no network or filesystem isolation)"
                     : "rlimits only (no network, filesystem or process isolation)",
    };

    /// <summary>The uid the slot's current run uses.</summary>
    internal int UidFor(int slot) => _currentUid[slot];

    /// <summary>Moves the slot to its next uid (called before each run; the slot is owned by one run at a time).</summary>
    internal void NextUid(int slot)
    {
        int first = _uidBase + slot * UidsPerSlot;
        _currentUid[slot] = first + (_currentUid[slot] - first + 1) % UidsPerSlot;
    }

    /// <summary>True when <paramref name="uid"/> belongs to this sandbox's block.</summary>
    internal bool OwnsUid(int uid) => uid >= _uidBase && uid < _uidBase + _currentUid.Length * UidsPerSlot;

    /// <summary>The start info for one run. <paramref name="runFolder"/> holds the program file.</summary>
    internal ProcessStartInfo Build(int slot, string runFolder, string interpreter, IReadOnlyList<string> arguments, string fileName)
    {
        var psi = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = runFolder,
        };
        psi.Environment.Clear();
        string uid = UidFor(slot).ToString(CultureInfo.InvariantCulture);
        string disk = _options.MaxDiskBytes.ToString(CultureInfo.InvariantCulture);
        var list = psi.ArgumentList;

        switch (Backend)
        {
            case SandboxBackend.Bubblewrap:
            {
                psi.Environment["PATH"] = SandboxPath;
                psi.Environment["LANG"] = "C.UTF-8";
                if (_isRoot)
                {
                    psi.FileName = _tools.Setpriv;
                    list.Add($"--reuid={uid}"); list.Add($"--regid={uid}"); list.Add("--clear-groups"); list.Add("--");
                    list.Add(_tools.Bwrap!);
                }
                else
                {
                    psi.FileName = _tools.Bwrap!;
                }
                list.Add("--unshare-all"); list.Add("--unshare-user");
                if (_bwrapModern) list.Add("--disable-userns"); // bwrap ≥ 0.8
                foreach (var a in (string[])["--die-with-parent",
                             "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox",
                             "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"])
                    list.Add(a);
                foreach (var hidden in ExistingFolders(_options.HiddenPaths))
                {
                    list.Add("--tmpfs"); list.Add(hidden);
                }
                foreach (var tmp in PrivateScratch())
                {
                    list.Add("--perms"); list.Add("1777");
                    if (_bwrapModern) { list.Add("--size"); list.Add(disk); } // bwrap ≥ 0.7
                    list.Add("--tmpfs"); list.Add(tmp);
                }
                list.Add("--ro-bind"); list.Add(runFolder); list.Add(ProgramFolder);
                list.Add("--chdir"); list.Add("/tmp");
                list.Add("--clearenv");
                foreach (var (key, value) in ProgramEnvironment("/tmp"))
                {
                    list.Add("--setenv"); list.Add(key); list.Add(value);
                }
                list.Add("--");
                AddRlimitedCommand(list, interpreter, arguments, $"{ProgramFolder}/{fileName}");
                break;
            }
            case SandboxBackend.Unshare:
            {
                foreach (var (key, value) in ProgramEnvironment("/tmp")) psi.Environment[key] = value;
                psi.FileName = _tools.Setpriv;
                foreach (var a in (string[])["--pdeathsig=KILL", "--", _tools.Unshare!, "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child",
                             "--mount-proc", "--propagation", "private", "--", _tools.Sh, "-c", UnshareScript(), "sh",
                             runFolder, uid])
                    list.Add(a);
                AddRlimitedCommand(list, interpreter, arguments, $"{ProgramFolder}/{fileName}");
                break;
            }
            default:
            {
                psi.WorkingDirectory = WorkFolder(runFolder);
                foreach (var (key, value) in ProgramEnvironment(psi.WorkingDirectory)) psi.Environment[key] = value;
                psi.FileName = _tools.Setsid;
                list.Add(_tools.Setpriv);
                if (_isRoot)
                {
                    list.Add($"--reuid={uid}"); list.Add($"--regid={uid}"); list.Add("--clear-groups");
                }
                list.Add("--pdeathsig=KILL"); // applied after the uid change; the host's death kills the program
                list.Add("--");
                AddRlimitedCommand(list, interpreter, arguments, Path.Combine(runFolder, fileName));
                break;
            }
        }
        return psi;
    }

    /// <summary>
    /// Prepares a run folder for the backend: under rlimits only (as root) the folder is the program's writable
    /// home, so it is handed to the slot's uid.
    /// </summary>
    internal void PrepareFolder(int slot, string runFolder)
    {
        if (Backend == SandboxBackend.Unshare) File.WriteAllText(Path.Combine(runFolder, FstabName), _unshareFstab ??= UnshareFstab());
        if (Backend == SandboxBackend.RlimitsOnly && OperatingSystem.IsLinux())
        {
            // The writable folder sits inside the root-owned run folder, so the program cannot rename it away and
            // plant a link in its place before the cleanup.
            string work = WorkFolder(runFolder);
            Directory.CreateDirectory(work, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            if (_isRoot) _ = NativeMethods.chown(work, (uint)UidFor(slot), (uint)UidFor(slot));
        }
    }

    /// <summary>The writable working folder of an rlimits-only run.</summary>
    internal static string WorkFolder(string runFolder) => Path.Combine(runFolder, "work");

    /// <summary>
    /// Kills the run and everything it started. The launched process first (bwrap's death takes its PID namespace
    /// with it; unshare's --kill-child does the same), then its session (rlimits only), then, as root under
    /// rlimits only, every process of the slot's uid (daemons that left the session).
    /// </summary>
    internal void Kill(Process process, int slot)
    {
        try
        {
            if (Backend == SandboxBackend.RlimitsOnly) _ = NativeMethods.kill(-process.Id, SigKill);
            process.Kill(entireProcessTree: Backend == SandboxBackend.RlimitsOnly);
        }
        catch (InvalidOperationException) { } // already exited
        catch (System.ComponentModel.Win32Exception) { }
        Sweep(slot);
    }

    /// <summary>
    /// Right after the launched process exited: under rlimits only, kill what it left in its session (and, as
    /// root, under its uid) before reading the rest of its output, so that a background child holding the pipes
    /// open cannot stall the run. Namespace backends need nothing: the PID namespace is already gone.
    /// </summary>
    internal void AfterExit(Process process, int slot)
    {
        if (Backend != SandboxBackend.RlimitsOnly) return;
        _ = NativeMethods.kill(-process.Id, SigKill);
        Sweep(slot);
    }

    /// <summary>
    /// Memory of the processes running under the slot's current uid: the sum of VmRSS, and — only when that sum
    /// exceeds <paramref name="threshold"/> — the sum of Pss (which splits pages shared after fork); otherwise the
    /// second value is the RSS sum too. Reads /proc; processes that vanish meanwhile are skipped.
    /// </summary>
    internal (long Rss, long Pss) ResidentBytes(int slot, long threshold)
    {
        string uid = UidFor(slot).ToString(CultureInfo.InvariantCulture);
        var pids = new List<string>();
        long rss = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            string name = Path.GetFileName(dir);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0])) continue;
            try
            {
                long kb = -1;
                bool ours = false;
                foreach (var line in File.ReadLines(Path.Combine(dir, "status")))
                {
                    if (line.StartsWith("Uid:", StringComparison.Ordinal))
                    {
                        ours = line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == uid;
                        if (!ours) break;
                    }
                    else if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        kb = ParseKb(line);
                        break;
                    }
                }
                if (ours && kb > 0)
                {
                    rss += kb << 10;
                    pids.Add(dir);
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        if (rss <= threshold) return (rss, rss);
        long pss = 0;
        foreach (var dir in pids)
        {
            try
            {
                var line = File.ReadLines(Path.Combine(dir, "smaps_rollup")).FirstOrDefault(l => l.StartsWith("Pss:", StringComparison.Ordinal));
                if (line is not null) pss += ParseKb(line) << 10;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return (rss, pss);
    }

    private static long ParseKb(string line) =>
        long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kb) ? kb : 0;

    /// <summary>After every rlimits-only run as root: SIGKILL every process left under the slot's uid.</summary>
    internal void Sweep(int slot)
    {
        if (Backend != SandboxBackend.RlimitsOnly || !_isRoot) return;
        // `kill -9 -1` run *as the slot's uid* reaches exactly the processes of that uid (never ours: we are root
        // and setpriv execs the shell only after the uid change succeeded). Twice, for a fork racing the first.
        // Then, still as that uid (so it can remove nothing but its own), the files it left in the world-writable
        // folders: without a mount namespace it could write there.
        var psi = new ProcessStartInfo(_tools.Setpriv)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        psi.Environment.Clear();
        string uid = UidFor(slot).ToString(CultureInfo.InvariantCulture);
        foreach (var a in (string[])[$"--reuid={uid}", $"--regid={uid}", "--clear-groups", "--", _tools.Sh, "-c",
                     "kill -9 -1 2>/dev/null; kill -9 -1 2>/dev/null; " +
                     $"find {string.Join(' ', WorldWritable.Where(Directory.Exists))} -xdev -mindepth 1 -maxdepth 1 -uid {uid} " +
                     "-exec rm -rf -- {} + 2>/dev/null; exit 0"])
            psi.ArgumentList.Add(a);
        try
        {
            using var sweeper = Process.Start(psi)!;
            sweeper.WaitForExit(5000);
        }
        catch (System.ComponentModel.Win32Exception) { }
    }

    private void AddRlimitedCommand(ICollection<string> list, string interpreter, IReadOnlyList<string> arguments, string programPath)
    {
        int cpuSeconds = Math.Max(1, (int)Math.Ceiling(_options.TimeLimit.TotalSeconds));
        long memory = (long)_options.MemoryMegabytes << 20;
        list.Add(_tools.Prlimit);
        list.Add($"--as={memory}");
        list.Add($"--cpu={cpuSeconds}:{cpuSeconds + 1}");
        list.Add($"--nproc={_options.MaxProcesses}");
        list.Add($"--fsize={_options.MaxDiskBytes}");
        list.Add($"--nofile={_options.MaxOpenFiles}");
        list.Add("--core=0");
        list.Add("--");
        list.Add(interpreter);
        foreach (var a in arguments) list.Add(a);
        list.Add(programPath);
    }

    private static IEnumerable<(string Key, string Value)> ProgramEnvironment(string home) =>
    [
        ("PATH", SandboxPath), ("HOME", home), ("TMPDIR", home), ("LANG", "C.UTF-8"), ("LC_ALL", "C.UTF-8"),
        ("PYTHONDONTWRITEBYTECODE", "1"), ("PYTHONHASHSEED", "0"), ("OMP_NUM_THREADS", "1"),
    ];

    /// <summary>The file, in the run folder, that lists the unshare backend's mounts for one <c>mount -a</c>.</summary>
    internal const string FstabName = "sandbox.fstab";

    /// <summary>
    /// The mounts of the unshare backend, as an fstab for a single <c>mount -a -T</c> (one exec instead of one per
    /// mount): a sized tmpfs on /tmp, the run folder (opened as fd 4 before /tmp is covered) bound read-only on
    /// /tmp/src, sized tmpfs on /var/tmp and /dev/shm, and small empty tmpfs over each hidden folder.
    /// </summary>
    internal string UnshareFstab()
    {
        var lines = new List<string>
        {
            $"r1sandbox /tmp tmpfs size={_options.MaxDiskBytes},nr_inodes=16384,mode=1777 0 0",
            $"/proc/self/fd/4 {ProgramFolder} none bind,ro,X-mount.mkdir 0 0",
        };
        lines.AddRange(PrivateScratch().Skip(1).Select(p => $"r1sandbox {p} tmpfs size={_options.MaxDiskBytes},nr_inodes=16384,mode=1777 0 0"));
        lines.AddRange(ExistingFolders(_options.HiddenPaths).Select(p => $"r1sandbox {p} tmpfs size=65536,nr_inodes=16,mode=755 0 0"));
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>
    /// The PID-1 shell of the unshare backend: $1 = run folder, $2 = uid, then the command. It mounts what
    /// <see cref="UnshareFstab"/> lists and waits for the program (so the program is PID 2 and behaves normally;
    /// when the shell exits, the kernel kills whatever is left in the namespace).
    /// </summary>
    private string UnshareScript() => $"""
        set -e
        src=$1; uid=$2; shift 2
        exec 4<"$src"
        mount -a -T "$src/{FstabName}"
        exec 4<&-
        cd /tmp
        exec 3<&0
        {_tools.Setsid} {_tools.Setpriv} --reuid=$uid --regid=$uid --clear-groups -- "$@" 0<&3 3<&- &
        wait $!
        """;

    /// <summary>The private writable tmpfs of a namespace sandbox: /tmp first, then /var/tmp and /dev/shm when present.</summary>
    private static IEnumerable<string> PrivateScratch() =>
        WorldWritable.Where(p => p == "/tmp" || (Directory.Exists(p) && new DirectoryInfo(p).LinkTarget is null));

    private static IEnumerable<string> ExistingFolders(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            var info = new DirectoryInfo(path);
            if (info.Exists && info.LinkTarget is null) yield return path;
        }
    }
}
