using System.Diagnostics;
using System.Globalization;

namespace R1Sharp.Rewards.Code;

/// <summary>
/// Builds the command line that starts one program inside the chosen isolation, and kills what is left after it.
/// Every backend starts with a small shell that joins the run's memory cgroup (when there is one) and opens the
/// seccomp filter as fd 9 (bubblewrap), then executes the rest; all end in <c>prlimit</c> for the rlimits:
/// <code>
/// all:          sh -c 'echo $$ >CGROUP/cgroup.procs; exec 9&lt;seccomp.bpf; exec "$@"' r1sharp-sandbox CGROUP FILTER BACKEND...
/// bubblewrap:   [setpriv --reuid U] bwrap --unshare-all --unshare-user --disable-userns --uid 1000 --die-with-parent
///               --new-session --cap-drop ALL --seccomp 9 RUNTIME-VIEW --dev /dev --proc /proc --size D --tmpfs /tmp
///               --size D --tmpfs /var/tmp --size D --tmpfs /dev/shm --remount-ro /dev --ro-bind RUNDIR /tmp/src
///               --remount-ro / --chdir /tmp --clearenv ... -- prlimit ... PROGRAM
///               (RUNTIME-VIEW: /usr, /bin, /sbin, /lib*, a minimal /etc; see SandboxLauncher.Runtime.cs)
/// unshare:      setpriv --pdeathsig=KILL unshare --mount --net --pid --ipc --uts --fork --kill-child --mount-proc -- sh -c
///               (sh is PID 1: mount -a -T RUNDIR/sandbox.fstab, then setsid setpriv --reuid U --no-new-privs prlimit ... PROGRAM &amp; wait)
/// rlimits only: setsid setpriv [--reuid U] --pdeathsig=KILL --no-new-privs prlimit ... RUNDIR/PROGRAM   (working folder RUNDIR/work, owned by U)
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
    private List<string>? _runtimeView;

    private SandboxLauncher(CodeSandboxOptions options, SandboxBackend backend, Tools tools, bool bwrapModern, CgroupMemory? cgroup)
    {
        _options = options;
        Backend = backend;
        _tools = tools;
        Cgroup = cgroup;
        _isRoot = NativeMethods.geteuid() == 0;
        _bwrapModern = bwrapModern;
        // A random block in [1e9, 2^31): far above any real account, and two live sandboxes (even in different
        // processes) overlap with probability ~ 2 · Workers · 1024 / 1.1e9.
        int span = options.Workers * UidsPerSlot;
        _uidBase = 1_000_000_000 + Random.Shared.Next(0, int.MaxValue - 1_000_000_000 - span);
        _currentUid = Enumerable.Range(0, options.Workers).Select(slot => _uidBase + slot * UidsPerSlot).ToArray();
    }

    internal SandboxBackend Backend { get; }

    /// <summary>Where per-run memory groups are made, or null (then the watchdog bounds memory, as root).</summary>
    internal CgroupMemory? Cgroup { get; }

    /// <summary>True when bubblewrap installs the seccomp filter.</summary>
    internal bool UsesSeccomp => Backend == SandboxBackend.Bubblewrap && Seccomp.Bpf is not null;

    /// <summary>How the run's total memory is bounded.</summary>
    internal MemoryEnforcement Memory =>
        Cgroup?.Enforcement ?? (SwitchesUser ? MemoryEnforcement.Watchdog : MemoryEnforcement.PerProcessOnly);

    /// <summary>True when each slot runs under a throw-away uid (the host runs as root).</summary>
    internal bool SwitchesUser => _isRoot;

    /// <summary>One line for logs: backend, what it isolates, and how memory is bounded.</summary>
    internal string Description => (Backend switch
    {
        SandboxBackend.Bubblewrap => $"bubblewrap ({_tools.Bwrap}){(_isRoot ? ", per-run uid" : "")}, " +
                                     (UsesSeccomp ? "seccomp filter" : $"NO seccomp filter ({Seccomp.WhyNot})") +
                                     ", runtime-only file system view" +
                                     (_bwrapModern ? "" : ", bwrap < 0.8: unsized tmpfs, nested user namespaces allowed"),
        SandboxBackend.Unshare => $"unshare namespaces ({_tools.Unshare}), per-run uid, no seccomp filter",
        _ => _isRoot ? "UNSANDBOXED: rlimits only, per-run uid (no network or filesystem isolation)"
                     : "UNSANDBOXED: rlimits only (no network, filesystem or process isolation)",
    }) + "; memory: " + Memory switch
    {
        MemoryEnforcement.CgroupV2 or MemoryEnforcement.CgroupV1 =>
            $"cgroup v{Cgroup!.Version} per run under {Cgroup.Parent} (processes, memfd and tmpfs counted together)",
        MemoryEnforcement.Watchdog => $"watchdog (resident memory, memfd and private tmpfs of the run's uid, every 100 ms; no cgroup: {CgroupWhyNot})",
        _ => $"per-process address-space limit only (not root; no cgroup: {CgroupWhyNot})",
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

    /// <summary>The start info for one run. <paramref name="runFolder"/> holds the program file; the run joins
    /// <paramref name="cgroup"/> when given. The wrapper starts its own error messages with
    /// <paramref name="setupToken"/> (see <see cref="WrapperScript"/>).</summary>
    internal ProcessStartInfo Build(int slot, string runFolder, string interpreter, IReadOnlyList<string> arguments, string fileName, CgroupRun? cgroup, string setupToken)
    {
        var psi = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = runFolder,
            FileName = _tools.Sh,
        };
        psi.Environment.Clear();
        string uid = UidFor(slot).ToString(CultureInfo.InvariantCulture);
        string disk = _options.MaxDiskBytes.ToString(CultureInfo.InvariantCulture);
        var list = psi.ArgumentList;
        string? seccomp = UsesSeccomp ? SeccompFile : null;
        foreach (var a in (string[])["-c", WrapperScript, "r1sharp-sandbox", cgroup?.ProcsFile ?? "", seccomp ?? "", setupToken])
            list.Add(a);

        switch (Backend)
        {
            case SandboxBackend.Bubblewrap:
            {
                psi.Environment["PATH"] = SandboxPath;
                psi.Environment["LANG"] = "C.UTF-8";
                if (_isRoot)
                {
                    list.Add(_tools.Setpriv);
                    list.Add($"--reuid={uid}"); list.Add($"--regid={uid}"); list.Add("--clear-groups"); list.Add("--");
                }
                list.Add(_tools.Bwrap!);
                list.Add("--unshare-all"); list.Add("--unshare-user");
                if (_bwrapModern) list.Add("--disable-userns"); // bwrap ≥ 0.8
                string inside = SandboxUid.ToString(CultureInfo.InvariantCulture);
                foreach (var a in (string[])["--uid", inside, "--gid", inside, "--die-with-parent",
                             "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox"])
                    list.Add(a);
                if (seccomp is not null) { list.Add("--seccomp"); list.Add(SeccompFd); }
                _ = SupportFolder(); // recreates the generated /etc files if something removed them
                foreach (var a in _runtimeView ??= RuntimeView()) list.Add(a);
                list.Add("--dev"); list.Add("/dev"); list.Add("--proc"); list.Add("/proc");
                foreach (var tmp in PrivateScratch())
                {
                    list.Add("--perms"); list.Add("1777");
                    if (_bwrapModern) { list.Add("--size"); list.Add(disk); } // bwrap ≥ 0.7
                    list.Add("--tmpfs"); list.Add(tmp);
                }
                // /dev and / are tmpfs bwrap made for the sandbox user: read-only, or they would be unsized writable space.
                list.Add("--remount-ro"); list.Add("/dev");
                list.Add("--ro-bind"); list.Add(runFolder); list.Add(ProgramFolder);
                list.Add("--remount-ro"); list.Add("/");
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
                foreach (var a in (string[])[_tools.Setpriv, "--pdeathsig=KILL", "--", _tools.Unshare!, "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child",
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
                list.Add(_tools.Setsid);
                list.Add(_tools.Setpriv);
                if (_isRoot)
                {
                    list.Add($"--reuid={uid}"); list.Add($"--regid={uid}"); list.Add("--clear-groups");
                }
                list.Add("--pdeathsig=KILL"); // applied after the uid change; the host's death kills the program
                list.Add("--no-new-privs"); // set-uid binaries (su, mount, passwd…) must not run as root
                list.Add("--");
                AddRlimitedCommand(list, interpreter, arguments, Path.Combine(runFolder, fileName));
                break;
            }
        }
        return psi;
    }

    /// <summary>The descriptor the seccomp filter is opened on for bwrap's <c>--seccomp</c>.</summary>
    private const string SeccompFd = "9";

    /// <summary>Exit code of the wrapper when it could not set the run up (the program never started).</summary>
    internal const int WrapperFailure = 125;

    /// <summary>Prefix of the wrapper's own error messages (after the run's setup token).</summary>
    internal const string WrapperMarker = "r1sharp-sandbox:";

    /// <summary>A fresh secret for one run: the wrapper starts its error messages with it. The program can print
    /// "r1sharp-sandbox: …" and exit 125 too, but it never sees the token (the wrapper's arguments are gone once it
    /// executes the next stage), so a failing program cannot pass itself off as a sandbox failure (null, "cannot
    /// judge", instead of 0).</summary>
    internal static string NewSetupToken() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>True when a run that exited with <paramref name="exitCode"/> and <paramref name="stderr"/> is the
    /// wrapper's own failure (the program never started); <paramref name="message"/> is its message.</summary>
    internal static bool IsWrapperFailure(int exitCode, string stderr, string setupToken, out string message)
    {
        string prefix = setupToken + " " + WrapperMarker;
        bool failed = exitCode == WrapperFailure && stderr.StartsWith(prefix, StringComparison.Ordinal);
        message = failed ? stderr[(setupToken.Length + 1)..].Trim() : "";
        return failed;
    }

    /// <summary>
    /// The first process of every run (sh, as the host's user): $1 = the cgroup's procs file or "", $2 = the
    /// seccomp filter or "", $3 = the run's setup token (<see cref="NewSetupToken"/>), then the command. It joins the group before anything else runs, so every byte the run
    /// allocates is charged there, and opens the filter on fd 9 (inherited through setpriv by bwrap, which reads and
    /// closes it). .NET cannot hand a child extra descriptors; a shell redirection can. It inherits nothing else:
    /// <see cref="ProcessSpawner"/> marks every descriptor above 2 close-on-exec before it starts a run.
    /// </summary>
    private static readonly string WrapperScript = $$"""
        if [ -n "$1" ]; then echo $$ 2>/dev/null >"$1" || { echo "$3 {{WrapperMarker}} cannot join the memory cgroup $1" >&2; exit {{WrapperFailure}}; }; fi
        if [ -n "$2" ]; then [ -r "$2" ] || { echo "$3 {{WrapperMarker}} cannot read the seccomp filter $2" >&2; exit {{WrapperFailure}}; }; exec {{SeccompFd}}<"$2"; fi
        shift 3
        exec "$@"
        """;

    /// <summary>
    /// Prepares a run folder for the backend: under rlimits only (as root) the folder is the program's writable
    /// home, so it is handed to the slot's uid.
    /// </summary>
    internal void PrepareFolder(int slot, string runFolder)
    {
        if (Backend == SandboxBackend.Unshare) File.WriteAllText(Path.Combine(runFolder, FstabName), UnshareFstab());
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

    /// <summary>What the watchdog counts for one run (bytes).</summary>
    /// <param name="Rss">Sum of the run's processes' VmRSS.</param>
    /// <param name="Pss">Sum of their proportional set sizes (shared pages split), measured only when the total
    /// with RSS exceeds the limit; otherwise equal to <paramref name="Rss"/>.</param>
    /// <param name="Memfd">Pages held by the memfds (and other deleted tmpfs files) the processes have open, each
    /// counted once.</param>
    /// <param name="Tmpfs">Used space of the sandbox's private tmpfs (/tmp, /var/tmp, /dev/shm), namespaces only.</param>
    internal readonly record struct RunMemory(long Rss, long Pss, long Memfd, long Tmpfs)
    {
        internal long Total => Pss + Memfd + Tmpfs;
    }

    /// <summary>
    /// Memory of the run in the slot (processes found by the slot's current uid, so as root only): resident sizes,
    /// memfd pages and private tmpfs usage; proportional set sizes (smaps_rollup Pss, which split pages shared
    /// after fork) only when the total with resident sizes exceeds <paramref name="threshold"/>. Reads /proc;
    /// processes that vanish meanwhile are skipped.
    /// </summary>
    internal RunMemory MeasureRun(int slot, long threshold)
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
                long kb = 0;
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
                if (!ours) continue;
                rss += kb << 10;
                pids.Add(dir);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        long memfd = MemfdBytes(pids);
        long tmpfs = Backend == SandboxBackend.RlimitsOnly ? 0 : PrivateTmpfsBytes(pids);
        if (rss + memfd + tmpfs <= threshold) return new(rss, rss, memfd, tmpfs);
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
        return new(rss, pss, memfd, tmpfs);
    }

    /// <summary>Allocated bytes of the memfds (memfd_create) open in <paramref name="pids"/>, each once. (Files the
    /// program made in its tmpfs, deleted or not, are counted by <see cref="PrivateTmpfsBytes"/>.)</summary>
    private static long MemfdBytes(List<string> pids)
    {
        var seen = new HashSet<(ulong, ulong)>();
        long total = 0;
        foreach (var dir in pids)
        {
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")))
                {
                    string? target = new FileInfo(fd).LinkTarget;
                    if (target is null || !target.StartsWith("/memfd:", StringComparison.Ordinal)) continue;
                    if (NativeMethods.Allocated(fd) is { } file && seen.Add((file.Device, file.Inode))) total += file.Bytes;
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return total;
    }

    /// <summary>Used bytes of the private tmpfs of the sandbox the processes live in, read through the root of one
    /// of them that is in another mount namespace than ours (bwrap's outer process shares ours).</summary>
    private static long PrivateTmpfsBytes(List<string> pids)
    {
        string ours = new FileInfo("/proc/self/ns/mnt").LinkTarget ?? "";
        foreach (var dir in pids)
        {
            try
            {
                if (new FileInfo(Path.Combine(dir, "ns", "mnt")).LinkTarget is not { } ns || ns == ours) continue;
                long total = 0;
                foreach (var tmp in WorldWritable)
                    total += NativeMethods.UsedBytes(Path.Combine(dir, "root") + tmp) ?? 0;
                return total;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return 0;
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
    /// /tmp/src, a small empty tmpfs over each hidden folder and /dev/null over each hidden file
    /// (<see cref="UnshareHidden"/>), then sized tmpfs on /var/tmp and /dev/shm (recreated inside a hidden /var).
    /// </summary>
    internal string UnshareFstab()
    {
        var lines = new List<string>
        {
            $"r1sandbox /tmp tmpfs size={_options.MaxDiskBytes},nr_inodes=16384,mode=1777 0 0",
            $"/proc/self/fd/4 {ProgramFolder} none bind,ro,X-mount.mkdir 0 0",
        };
        foreach (var path in UnshareHidden())
        {
            lines.Add(Directory.Exists(path)
                ? $"r1sandbox {FstabEscape(path)} tmpfs size=65536,nr_inodes=16,mode=755 0 0"
                : $"/dev/null {FstabEscape(path)} none bind,ro 0 0");
        }
        lines.AddRange(PrivateScratch().Skip(1).Select(p => $"r1sandbox {p} tmpfs size={_options.MaxDiskBytes},nr_inodes=16384,mode=1777,X-mount.mkdir 0 0"));
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>Top-level entries of / an unshare sandbox shows: the runtime folders, /etc, /dev, /proc, /tmp.</summary>
    private static IEnumerable<string> UnshareShown => RuntimeFolders.Concat(["/etc", "/dev", "/proc", "/tmp"]);

    /// <summary>
    /// What the unshare backend covers: every top-level entry of / (folder or file, not symbolic link) except
    /// <see cref="UnshareShown"/> and those holding a <see cref="CodeSandboxOptions.ReadOnlyPaths"/> entry — so the
    /// project checkout, datasets (the tests!), /opt, /srv, /var, /mnt, /sys… are not there — plus
    /// <see cref="CodeSandboxOptions.HiddenPaths"/> outside those. Listed again for every run (a few dozen entries),
    /// so a folder mounted at / while training runs is covered too.
    /// </summary>
    internal List<string> UnshareHidden()
    {
        var shown = UnshareShown.Concat(_options.ReadOnlyPaths.Select(p => "/" + p.Split('/', StringSplitOptions.RemoveEmptyEntries)[0]))
            .ToHashSet(StringComparer.Ordinal);
        var hidden = new List<string>();
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries("/").Order(StringComparer.Ordinal))
            {
                var info = new FileInfo(entry);
                if (shown.Contains(entry) || info.LinkTarget is not null) continue;
                hidden.Add(entry);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        bool Covered(string path) => hidden.Any(h => path == h || path.StartsWith(h + "/", StringComparison.Ordinal));
        hidden.AddRange(ExistingFolders(_options.HiddenPaths).Where(p => !Covered(p)));
        return hidden;
    }

    /// <summary>A path as an fstab field (octal escapes for blanks and backslashes, as mount(8) reads them).</summary>
    private static string FstabEscape(string path) =>
        path.Replace("\\", "\\134").Replace(" ", "\\040").Replace("\t", "\\011").Replace("\n", "\\012");

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
        {_tools.Setsid} {_tools.Setpriv} --reuid=$uid --regid=$uid --clear-groups --no-new-privs -- "$@" 0<&3 3<&- &
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
