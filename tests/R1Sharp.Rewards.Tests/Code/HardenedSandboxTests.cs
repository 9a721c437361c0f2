using System.Diagnostics;
using System.Runtime.InteropServices;
using R1Sharp.Rewards.Code;

namespace R1Sharp.Rewards.Tests.Code;

/// <summary>
/// The hardening on top of the namespaces: the seccomp filter (checked against the same probe run directly on the
/// host, where the calls do something else than EPERM), the runtime-only file system view of bubblewrap, the
/// run's memory counted with its memfds and tmpfs (cgroup, else watchdog), and the refusal to run unsandboxed
/// without an explicit opt-in.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(SandboxModes.TimingSensitive)]
public class HardenedSandboxTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string Bwrap = SandboxModes.Bubblewrap;

    private static bool HasBwrap => SandboxLauncherAccess.Which("bwrap") is not null;

    /// <summary>bwrap when installed and working here (the hardening is bubblewrap's).</summary>
    public static TheoryData<string> BwrapOnly()
    {
        var data = new TheoryData<string>();
        if (HasBwrap) data.Add(Bwrap);
        return data;
    }

    /// <summary>
    /// One Python probe, harmless when run directly on the host (invalid arguments, the process's own keyring, its
    /// own child): each listed system call (x86_64 numbers) and the errno it got, or "ok".
    /// </summary>
    private const string SyscallProbe = """
        import ctypes, errno, os, socket, time
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        def call(nr, *args):
            ctypes.set_errno(0)
            conv = [ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a) for a in args]
            r = libc.syscall(ctypes.c_long(nr), *conv)
            return r, (ctypes.get_errno() if r < 0 else 0)
        def name(e):
            return 'ok' if e == 0 else errno.errorcode.get(e, str(e))
        buf = ctypes.create_string_buffer(256)
        addr = ctypes.addressof(buf)
        iov = (ctypes.c_long * 2)(addr, 8)
        child = os.fork()
        if child == 0:
            time.sleep(10)
            os._exit(0)
        calls = {
            'ptrace': (101, 16, child, 0, 0),                           # PTRACE_ATTACH to our own child
            'process_vm_readv': (310, child, ctypes.addressof(iov), 1, ctypes.addressof(iov), 1, 0),
            'io_uring_setup': (425, 8, addr),
            'io_uring_enter': (426, -1, 0, 0, 0, 0, 0),
            'io_uring_register': (427, -1, 0, 0, 0),
            'keyctl': (250, 0, -2, 1),                                  # KEYCTL_GET_KEYRING_ID, the process keyring
            'add_key': (248, b'user', b'r1sharp-probe', b'v', 1, -2),
            'request_key': (249, b'user', b'r1sharp-absent', 0, 0),
            'bpf': (321, 0, addr, 72),                                  # BPF_MAP_CREATE with an all-zero attr
            'perf_event_open': (298, addr, 0, -1, -1, 0),
            'userfaultfd': (323, 0),
            'mount': (165, 0, b'/nonexistent-r1sharp', 0, 0, 0),
            'umount2': (166, b'/nonexistent-r1sharp', 0),
            'unshare': (272, 0),                                        # no flags: a no-op where allowed
            'setns': (308, -1, 0),
            'pivot_root': (155, b'/nonexistent-r1sharp-a', b'/nonexistent-r1sharp-b'),
            'kexec_load': (246, 0, 0, 0, 0x7fff0000),                   # invalid flags
            'init_module': (175, 0, 0, b''),
            'clone_newuser': (56, 0x10000000 | 17, 0, 0, 0, 0),         # CLONE_NEWUSER | SIGCHLD
        }
        for key, args in calls.items():
            r, e = call(*args)
            if key == 'clone_newuser' and r == 0:
                os._exit(0)
            if key == 'clone_newuser' and r > 0:
                os.waitpid(r, 0)
            print(key, name(e))
        for key, family in (('socket_inet', socket.AF_INET), ('socket_packet', 17), ('socket_vsock', 40)):
            try:
                socket.socket(family, socket.SOCK_DGRAM if family != 17 else socket.SOCK_RAW).close()
                print(key, 'ok')
            except OSError as e:
                print(key, name(e.errno))
        r, e = call(41, (1 << 32) | 40, 1, 0)                           # AF_VSOCK with high bits set
        print('socket_vsock_high_bits', name(e))
        os.kill(child, 9)
        os.waitpid(child, 0)
        """;

    private static Dictionary<string, string> ParseProbe(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2))
            .ToDictionary(p => p[0], p => p[1]);

    [Theory]
    [MemberData(nameof(BwrapOnly))]
    public async Task The_seccomp_filter_refuses_dangerous_kernel_interfaces(string mode)
    {
        var sandbox = SandboxModes.Create(mode);
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            // The filter is built for x86_64 only; elsewhere the sandbox says so.
            Assert.Contains("NO seccomp filter", sandbox.IsolationDescription);
            Assert.NotNull(sandbox.Warning);
            return;
        }
        Assert.Contains("seccomp filter", sandbox.IsolationDescription);
        var result = await sandbox.RunAsync("python", SyscallProbe, "");
        ResultAssert.Status(ExecutionStatus.Success, result);
        var inside = ParseProbe(result.Stdout);

        foreach (var call in (string[])["ptrace", "process_vm_readv", "io_uring_setup", "io_uring_enter", "io_uring_register",
                     "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "mount", "umount2",
                     "unshare", "setns", "pivot_root", "kexec_load", "init_module", "clone_newuser"])
            Assert.True(inside.TryGetValue(call, out var got) && got == "EPERM", $"{call}: {got ?? "missing"}\n{result.Stdout}");
        Assert.Equal("ok", inside["socket_inet"]);
        Assert.Equal("EAFNOSUPPORT", inside["socket_packet"]);
        Assert.Equal("EAFNOSUPPORT", inside["socket_vsock"]);
        Assert.Equal("EAFNOSUPPORT", inside["socket_vsock_high_bits"]);

        // The reference: the same probe straight on the host, where these calls do what the kernel does without
        // the filter (succeed, or fail for their invalid arguments): EPERM above is the filter's.
        var host = ParseProbe(RunOnHost(SyscallProbe));
        Assert.Equal("ok", host["keyctl"]);
        Assert.Equal("ok", host["unshare"]);
        Assert.Equal("EBADF", host["io_uring_enter"]);
        Assert.Equal("EBADF", host["setns"]);
        Assert.Equal("ENOENT", host["umount2"]);
        Assert.Equal("ENOKEY", host["request_key"]);
        if (!File.Exists("/proc/sys/kernel/yama/ptrace_scope") || File.ReadAllText("/proc/sys/kernel/yama/ptrace_scope").Trim() != "3")
            Assert.Equal("ok", host["ptrace"]);
        if (File.Exists("/proc/sys/kernel/io_uring_disabled") && File.ReadAllText("/proc/sys/kernel/io_uring_disabled").Trim() == "0")
            Assert.Equal("ok", host["io_uring_setup"]);
        if (SandboxModes.IsRoot) Assert.Equal("ok", host["socket_packet"]);
    }

    [Theory]
    [MemberData(nameof(BwrapOnly))]
    public async Task System_calls_of_another_ABI_kill_the_program(string mode)
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64) return; // x32 exists on x86_64 only (see the test above)
        var sandbox = SandboxModes.Create(mode);
        // getpid through the x32 ABI (number | 0x40000000): the filter's architecture check kills the process,
        // where the host answers (x32 enabled) or fails with ENOSYS.
        const string program = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.syscall(0x40000000 | 39), ctypes.get_errno(), flush=True)\nprint('survived')";
        var result = await sandbox.RunAsync("python", program, "");
        ResultAssert.Status(ExecutionStatus.RuntimeError, result);
        Assert.Contains("SIGSYS", result.Reason);
        Assert.DoesNotContain("survived", result.Stdout);
        Assert.Contains("survived", RunOnHost(program));
    }

    [Theory]
    [MemberData(nameof(BwrapOnly))]
    public async Task The_filter_descriptor_does_not_leak_into_the_program(string mode)
    {
        var sandbox = SandboxModes.Create(mode);
        var result = await sandbox.RunAsync("python", "import os\nprint(sorted(int(f) for f in os.listdir('/proc/self/fd')))", "");
        ResultAssert.Status(ExecutionStatus.Success, result);
        Assert.Equal("[0, 1, 2, 3]\n", result.Stdout); // 3: the listing's own descriptor
    }

    [Theory]
    [MemberData(nameof(BwrapOnly))]
    public async Task Only_the_runtime_of_the_host_is_visible(string mode)
    {
        var sandbox = SandboxModes.Create(mode);
        const string program = """
            import os
            print(' '.join(sorted(os.listdir('/'))))
            print(' '.join(sorted(os.listdir('/etc'))))
            print(open('/etc/passwd').read().replace('\n', ' '))
            """;
        var result = await sandbox.RunAsync("python", program, "");
        ResultAssert.Status(ExecutionStatus.Success, result);
        var lines = result.Stdout.Split('\n');
        var root = lines[0].Split(' ');
        var allowedRoot = new[] { "bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr", "var" };
        Assert.True(root.All(allowedRoot.Contains), "unexpected top-level entries: " + lines[0]);
        foreach (var name in (string[])["usr", "etc", "tmp", "proc", "dev"]) Assert.Contains(name, root);
        // The host has these; the sandbox must not.
        foreach (var hidden in (string[])["home", "root", "opt", "srv", "mnt", "media", "sys", "boot", "run", "work"])
            Assert.DoesNotContain(hidden, root);

        var etc = lines[1].Split(' ');
        var allowedEtc = SandboxLauncherAccess.EtcEntries.Concat(["passwd", "group", "hosts", "mtab"]).ToHashSet();
        Assert.True(etc.All(e => allowedEtc.Contains(e) || e.StartsWith("python3", StringComparison.Ordinal)), "unexpected /etc entries: " + lines[1]);
        Assert.Contains("passwd", etc);
        Assert.DoesNotContain("shadow", etc);
        Assert.DoesNotContain("hostname", etc);
        Assert.DoesNotContain("machine-id", etc);
        // passwd names root, the sandbox user and nobody: not the host's accounts.
        Assert.Equal(3, lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("sandbox:x:1000:1000", lines[2]);
    }

    [Theory]
    [MemberData(nameof(BwrapOnly))]
    public async Task World_readable_host_files_outside_the_runtime_cannot_be_read(string mode)
    {
        var sandbox = SandboxModes.Create(mode);
        // Files anyone on the host may read: in the test's own output folder (the project checkout), and as root
        // under /opt and /etc (a file that is not in the minimal /etc).
        var places = new List<string> { AppContext.BaseDirectory };
        if (SandboxModes.IsRoot) places.AddRange(["/opt", "/etc"]);
        var files = new List<string>();
        string secret = Guid.NewGuid().ToString("N");
        try
        {
            foreach (var place in places)
            {
                Directory.CreateDirectory(place);
                string file = Path.Combine(place, "r1sharp-secret-" + Guid.NewGuid().ToString("N"));
                File.WriteAllText(file, secret);
                File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100); // 0644
                files.Add(file);
            }
            string list = string.Join(", ", files.Select(f => $"'{f}'"));
            string program = $$"""
                import sys
                for path in [{{list}}, '/etc/shadow', '/etc/hostname']:
                    try:
                        print(path, open(path).read().strip())
                    except OSError as e:
                        print(path, type(e).__name__)
                """;
            var result = await sandbox.RunAsync("python", program, "");
            ResultAssert.Status(ExecutionStatus.Success, result);
            Assert.DoesNotContain(secret, result.Stdout);
            foreach (var file in files) Assert.Contains($"{file} FileNotFoundError", result.Stdout);
            Assert.Contains("/etc/shadow FileNotFoundError", result.Stdout);

            // The reference: an unsandboxed run (opted in) of the same program reads every one of them.
            var open = await SandboxModes.Create(SandboxModes.Rlimits).RunAsync("python", program, "");
            foreach (var file in files) Assert.Contains($"{file} {secret}", open.Stdout);
        }
        finally
        {
            foreach (var file in files) File.Delete(file);
        }
    }

    [Theory]
    [MemberData(nameof(BwrapOnly))]
    public async Task The_root_and_dev_folders_are_not_writable(string mode)
    {
        // bwrap makes / and /dev as tmpfs owned by the sandbox user: writable and unsized unless remounted read-only.
        var sandbox = SandboxModes.Create(mode);
        const string program = """
            for path in ['/x', '/dev/x', '/etc/x', '/usr/x', '/var/x']:
                try:
                    open(path, 'w').write('x')
                    print(path, 'written')
                except OSError as e:
                    print(path, e.strerror)
            open('/tmp/ok', 'w').write('x')
            open('/dev/shm/ok', 'w').write('x')
            print('scratch ok')
            """;
        var result = await sandbox.RunAsync("python", program, "");
        ResultAssert.Status(ExecutionStatus.Success, result);
        Assert.DoesNotContain("written", result.Stdout);
        Assert.Equal(5, result.Stdout.Split('\n').Count(l => l.EndsWith("Read-only file system", StringComparison.Ordinal)));
        Assert.Contains("scratch ok", result.Stdout);
    }

    // ---- memory held outside the processes' address spaces -------------------------------------------------

    /// <summary>(backend, use a cgroup): every backend with the cgroup when this machine has one, and with the
    /// watchdog when running as root (the watchdog finds a run by its uid).</summary>
    public static TheoryData<string, bool> MemoryModes() => ToData(MemoryModeList(withRlimits: true));

    /// <summary>Namespace backends only: under rlimits only the tmpfs are the host's (counted by a cgroup, not by
    /// the watchdog).</summary>
    public static TheoryData<string, bool> NamespaceMemoryModes() => ToData(MemoryModeList(withRlimits: false));

    private static List<(string Mode, bool Cgroup)> MemoryModeList(bool withRlimits)
    {
        var modes = new List<string>();
        if (HasBwrap) modes.Add(SandboxModes.Bubblewrap);
        if (SandboxModes.IsRoot && SandboxLauncherAccess.Which("unshare") is not null) modes.Add(SandboxModes.Unshare);
        if (withRlimits) modes.Add(SandboxModes.Rlimits);
        var list = new List<(string, bool)>();
        foreach (var mode in modes)
        {
            if (SandboxLauncherAccess.CgroupAvailable) list.Add((mode, true));
            if (SandboxModes.IsRoot) list.Add((mode, false));
        }
        return list;
    }

    private static TheoryData<string, bool> ToData(List<(string Mode, bool Cgroup)> list)
    {
        var data = new TheoryData<string, bool>();
        foreach (var (mode, cgroup) in list) data.Add(mode, cgroup);
        return data;
    }

    /// <summary>Stops at this many MiB if nothing else stops it first.</summary>
    private const int CapMiB = 1536;

    private static CodeSandbox MemorySandbox(string mode, bool cgroup) =>
        SandboxModes.Create(mode, o => o with
        {
            TimeLimit = TimeSpan.FromSeconds(8),
            MemoryMegabytes = 256,
            MaxDiskBytes = 1L << 30, // tmpfs and file-size limits far above the memory limit: only memory may stop it
            UseCgroup = cgroup,
        });

    private void AssertMemoryBounded(CodeSandbox sandbox, ExecutionResult result, bool cgroup)
    {
        int held = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).DefaultIfEmpty(0).Max();
        output.WriteLine($"{sandbox.Backend}, {result.MemoryEnforcement}: {result.Status} after {held} MiB held, peak {result.PeakMemoryBytes >> 20} MiB, {result.Duration.TotalSeconds:0.00} s: {result.Reason}");
        ResultAssert.Status(ExecutionStatus.MemoryLimitExceeded, result);
        Assert.True(held < CapMiB, $"the program held {held} MiB");
        if (cgroup)
        {
            Assert.Equal(sandbox.MemoryEnforcement, result.MemoryEnforcement);
            Assert.True(result.MemoryEnforcement is MemoryEnforcement.CgroupV1 or MemoryEnforcement.CgroupV2, result.MemoryEnforcement.ToString());
            Assert.Contains("cgroup", result.Reason);
            // The kernel's count: never above the group's limit (256 MiB + 64 MiB of room for page cache).
            Assert.True(held <= 256 + 64, $"the program held {held} MiB under a cgroup");
            if (result.PeakMemoryBytes is { } peak) Assert.InRange(peak, 64L << 20, (256L + 64) << 20);
        }
        else
        {
            Assert.Equal(MemoryEnforcement.Watchdog, result.MemoryEnforcement);
            Assert.Contains("watchdog", result.Reason);
            // Polled every 100 ms: a fast writer gets a few hundred MiB past the limit before the kill.
            Assert.True(held <= 1024, $"the program held {held} MiB under the watchdog");
        }
    }

    [Theory]
    [MemberData(nameof(MemoryModes))]
    public async Task Memory_held_in_memfds_counts_against_the_limit(string mode, bool cgroup)
    {
        var sandbox = MemorySandbox(mode, cgroup);
        // memfds live outside every address space (RLIMIT_AS does not see them); each may reach RLIMIT_FSIZE.
        string program = $$"""
            import os
            chunk = b'x' * (1 << 20)
            held, fds = 0, []
            while held < {{CapMiB}}:
                fd = os.memfd_create('hoard')
                fds.append(fd)
                for _ in range(64):
                    os.write(fd, chunk)
                    held += 1
                    print(held, flush=True)
            """;
        var result = await sandbox.RunAsync("python", program, "");
        AssertMemoryBounded(sandbox, result, cgroup);
    }

    [Theory]
    [MemberData(nameof(NamespaceMemoryModes))]
    public async Task Memory_held_in_tmpfs_counts_against_the_limit(string mode, bool cgroup)
    {
        var sandbox = MemorySandbox(mode, cgroup);
        string program = $$"""
            import os
            chunk = b'x' * (1 << 20)
            held, i = 0, 0
            while held < {{CapMiB}}:
                folder = ('/dev/shm', '/tmp', '/var/tmp')[i % 3]
                with open(f'{folder}/f{i}', 'wb') as f:
                    for _ in range(32):
                        f.write(chunk)
                        f.flush()
                        held += 1
                        print(held, flush=True)
                i += 1
            """;
        var result = await sandbox.RunAsync("python", program, "");
        AssertMemoryBounded(sandbox, result, cgroup);
    }

    /// <summary>
    /// Empty folders in the private tmpfs hold no data pages (statfs counts no blocks for them), but each costs the
    /// kernel about 1 KiB of inode and dentry. bwrap cannot cap a tmpfs's inodes (unshare's have nr_inodes=16384):
    /// before, the watchdog saw nothing and a program held 360 MiB of kernel memory against a 256 MiB limit until
    /// the time limit. A cgroup charges it (OOM kill); the watchdog now counts 1 KiB per used inode.
    /// </summary>
    [Theory]
    [MemberData(nameof(NamespaceMemoryModes))]
    public async Task Inodes_in_tmpfs_count_against_the_limit(string mode, bool cgroup)
    {
        var sandbox = MemorySandbox(mode, cgroup);
        string program = $$"""
            import os
            n = 0
            while n < {{CapMiB}} * 1024:
                os.mkdir(('/dev/shm', '/tmp', '/var/tmp')[n % 3] + f'/d{n}')
                n += 1
                if n % 1024 == 0:
                    print(n // 1024, flush=True)
            """;
        var result = await sandbox.RunAsync("python", program, "");
        int thousands = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).DefaultIfEmpty(0).Max();
        output.WriteLine($"{sandbox.Backend}, {result.MemoryEnforcement}: {result.Status} after {thousands} Ki folders, peak {result.PeakMemoryBytes >> 20} MiB, {result.Duration.TotalSeconds:0.00} s: {result.Reason}");
        if (mode == SandboxModes.Unshare && result.Status == ExecutionStatus.DiskLimitExceeded)
        {
            Assert.Contains("No space left on device", result.Reason); // nr_inodes=16384 per tmpfs
            return;
        }
        ResultAssert.Status(ExecutionStatus.MemoryLimitExceeded, result);
        Assert.Contains(cgroup ? "cgroup" : "watchdog", result.Reason);
        if (result.PeakMemoryBytes is { } peak) Assert.True(peak <= (256L + 64) << 20, $"peak {peak >> 20} MiB");
        // ~1 KiB each: the watchdog (every 100 ms) lets a fast program get some way past 256 Ki folders, not to the cap.
        Assert.True(thousands <= 1024, $"{thousands} Ki folders made");
    }

    [Fact]
    public async Task Runs_report_how_memory_is_bounded()
    {
        var sandbox = SandboxModes.Create(SandboxModes.Best);
        var result = await sandbox.RunAsync("python", "print(1)", "");
        ResultAssert.Status(ExecutionStatus.Success, result);
        Assert.Equal(sandbox.MemoryEnforcement, result.MemoryEnforcement);
        Assert.Contains("memory: ", sandbox.IsolationDescription);
        if (SandboxLauncherAccess.CgroupAvailable)
        {
            Assert.True(sandbox.MemoryEnforcement is MemoryEnforcement.CgroupV1 or MemoryEnforcement.CgroupV2);
            Assert.Contains("cgroup v", sandbox.IsolationDescription);
            Assert.True(result.PeakMemoryBytes > 1 << 20, $"peak {result.PeakMemoryBytes}");
        }
        var watched = SandboxModes.Create(SandboxModes.Best, o => o with { UseCgroup = false });
        Assert.Equal(SandboxModes.IsRoot ? MemoryEnforcement.Watchdog : MemoryEnforcement.PerProcessOnly, watched.MemoryEnforcement);
        var plain = await watched.RunAsync("python", "print(1)", "");
        Assert.Null(plain.PeakMemoryBytes);
        Assert.Equal(watched.MemoryEnforcement, plain.MemoryEnforcement);
    }

    [Fact]
    public void Run_cgroups_are_removed_after_each_run()
    {
        if (!SandboxLauncherAccess.CgroupAvailable) return; // nothing is created where no cgroup is usable
        // A parent of our own (CgroupParent), so that runs of tests in parallel do not show up in it.
        string parent = Path.Combine(SandboxLauncherAccess.DetectedCgroupParent!, "r1sharp-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(parent);
        try
        {
            var sandbox = SandboxModes.Create(SandboxModes.Best, o => o with { CgroupParent = parent });
            Assert.Contains(parent, sandbox.IsolationDescription);
            var reward = new CodeReward(sandbox);
            var tests = """[{"input": "", "output": "1"}, {"input": "", "output": "1"}, {"input": "", "output": "1"}]""";
            var evaluation = reward.Evaluate([new RewardInput("p", "```python\nprint(1)\n```", new Dictionary<string, string> { ["tests"] = tests })]).Single();
            Assert.Equal(1.0, evaluation.Score);
            Assert.Empty(Directory.EnumerateDirectories(parent));
            var killed = reward.Evaluate([new RewardInput("p", "```python\nimport os\nos.fork()\nwhile True: pass\n```", new Dictionary<string, string> { ["tests"] = tests })]).Single();
            Assert.All(killed.Tests, t => Assert.Equal(ExecutionStatus.TimeLimitExceeded, t.Status));
            Assert.Empty(Directory.EnumerateDirectories(parent));
        }
        finally
        {
            Directory.Delete(parent);
        }
    }

    [Fact]
    public void A_cgroup_parent_that_is_not_a_cgroup_is_refused()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new CodeSandbox(new CodeSandboxOptions { Workers = 1, CgroupParent = Path.GetTempPath() }));
        Assert.Contains("CgroupParent", e.Message);
        Assert.Contains("neither a cgroup v2 folder nor a cgroup v1 memory folder", e.Message);
    }

    // ---- no isolation: refused unless the user opts in ------------------------------------------------------

    [Fact]
    public void Rlimits_only_is_refused_without_the_opt_in()
    {
        var e = Assert.Throws<SandboxUnavailableException>(() => new CodeSandbox(new CodeSandboxOptions { Isolation = IsolationMode.RlimitsOnly, Workers = 1 }));
        Assert.Contains("IsolationMode.RlimitsOnly", e.Message);
        AssertExplainsOptIn(e.Message);
    }

    [Fact]
    public void A_machine_without_namespaces_is_refused_without_the_opt_in()
    {
        var e = Assert.Throws<SandboxUnavailableException>(() =>
            new CodeSandbox(new CodeSandboxOptions { Workers = 1, SimulateNoNamespaces = true }));
        Assert.Contains("namespaces are not available", e.Message);
        Assert.Contains("bwrap: user namespaces refused", e.Message); // why, per backend
        Assert.Contains("install bubblewrap", e.Message);
        AssertExplainsOptIn(e.Message);
    }

    private static void AssertExplainsOptIn(string message)
    {
        Assert.Contains("127.0.0.1", message);
        Assert.Contains("AllowUnsandboxed", message);
        Assert.Contains("allow_unsandboxed=true", message);
        Assert.Contains("--allow-unsandboxed", message);
    }

    [Fact]
    public async Task The_opt_in_runs_with_a_loud_warning_in_the_log()
    {
        var log = new ListLogger();
        var sandbox = new CodeSandbox(new CodeSandboxOptions { Workers = 1, SimulateNoNamespaces = true, AllowUnsandboxed = true }, log);
        Assert.Equal(SandboxBackend.RlimitsOnly, sandbox.Backend);
        var warning = Assert.Single(log.Warnings);
        Assert.StartsWith("WARNING: UNSANDBOXED CODE EXECUTION", warning);
        Assert.Contains("namespaces are not available", warning);
        Assert.Equal(warning, sandbox.Warning);
        Assert.StartsWith("UNSANDBOXED", sandbox.IsolationDescription);
        var result = await sandbox.RunAsync("python", "print(6 * 7)", "");
        ResultAssert.Status(ExecutionStatus.Success, result);
        Assert.Equal("42\n", result.Stdout);
    }

    [Fact]
    public void Without_a_logger_the_warning_goes_to_standard_error()
    {
        var saved = Console.Error;
        var captured = new StringWriter();
        try
        {
            Console.SetError(captured);
            _ = new CodeSandbox(new CodeSandboxOptions { Workers = 1, Isolation = IsolationMode.RlimitsOnly, AllowUnsandboxed = true });
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.Contains("WARNING: UNSANDBOXED CODE EXECUTION", captured.ToString());
        Assert.Contains("IsolationMode.RlimitsOnly was requested", captured.ToString());
    }

    [Fact]
    public void The_code_reward_option_allow_unsandboxed_reaches_the_sandbox()
    {
        var registry = R1Sharp.Rewards.Rules.RewardRegistry.CreateStandard(new ListLogger());
        var strict = (CodeReward)registry.Create("code", new Dictionary<string, string> { ["workers"] = "1" });
        Assert.False(strict.Sandbox.Options.AllowUnsandboxed);
        var allowed = (CodeReward)registry.Create("code", new Dictionary<string, string> { ["workers"] = "1", ["allow_unsandboxed"] = "true" });
        Assert.True(allowed.Sandbox.Options.AllowUnsandboxed);
        Assert.NotSame(strict.Sandbox, allowed.Sandbox);
        var byDefault = (CodeReward)R1Sharp.Rewards.Rules.RewardRegistry.CreateStandard(new ListLogger(), allowUnsandboxed: true)
            .Create("code", new Dictionary<string, string> { ["workers"] = "1" });
        Assert.True(byDefault.Sandbox.Options.AllowUnsandboxed);
        var bad = Assert.Throws<R1Sharp.Rewards.Rules.RewardConfigException>(() =>
            registry.Create("code", new Dictionary<string, string> { ["allow_unsandboxed"] = "maybe" }));
        Assert.Contains("'allow_unsandboxed'", bad.Message);
    }

    // ---- cgroup discovery (pure parsing; the live path is exercised above where the machine has cgroups) ----

    [Fact]
    public void Cgroup_folders_are_found_from_mountinfo_and_proc_cgroup()
    {
        const string mountinfo = """
            25 1 0:23 / /sys rw,nosuid - sysfs sysfs rw
            30 25 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
            34 30 0:31 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            """;
        var mounts = SandboxLauncherAccess.ParseMountinfo(mountinfo);
        Assert.Equal(3, mounts.Count);
        var v2 = mounts[1];
        Assert.Equal(("/", "/sys/fs/cgroup", "cgroup2"), (v2.Root, v2.MountPoint, v2.FsType));
        Assert.Equal("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope",
            SandboxLauncherAccess.Map(v2, "/user.slice/user-1000.slice/session-2.scope"));
        Assert.Equal("/sys/fs/cgroup", SandboxLauncherAccess.Map(v2, "/"));
        // A mount of a subtree (a container's view of the v1 hierarchy): paths are relative to its root.
        var v1 = mounts[2];
        Assert.Equal("rw,memory", v1.SuperOptions);
        Assert.Equal("/sys/fs/cgroup/memory/job", SandboxLauncherAccess.Map(v1, "/docker/abc/job"));
        Assert.Equal("/sys/fs/cgroup/memory", SandboxLauncherAccess.Map(v1, "/docker/abc"));
        Assert.Null(SandboxLauncherAccess.Map(v1, "/docker/abcd"));
        var groups = SandboxLauncherAccess.ParseProcCgroup("12:memory:/a/b\n1:name=systemd:/\n0::/user.slice\n");
        Assert.Equal("/a/b", groups["memory"]);
        Assert.Equal("/user.slice", groups[""]);
    }

    /// <summary>Runs a Python program directly on the host (the reference for what the sandbox changes).</summary>
    private static string RunOnHost(string program)
    {
        var psi = new ProcessStartInfo(SandboxLauncherAccess.Which("python3") ?? "/usr/bin/python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(program);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(30_000), "the host run did not finish");
        return stdout.Result;
    }
}
