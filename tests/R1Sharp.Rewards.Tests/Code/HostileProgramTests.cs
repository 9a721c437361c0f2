using System.Net;
using System.Net.Sockets;
using R1Sharp.Rewards.Code;

namespace R1Sharp.Rewards.Tests.Code;

/// <summary>
/// Hostile programs, each run through <see cref="CodeReward"/> against a one-case problem. Every test checks three
/// things: the reward is 0, the run is reported with the expected status (and reason), and the host saw no effect
/// (file, connection, surviving process). Limits are small so each test takes at most ~2 s. Each runs on every
/// backend present (bwrap, unshare, rlimits), except where rlimits only cannot contain the attack by design
/// (network, filesystem views) or where it would hurt the test host (signals when not root).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(SandboxModes.TimingSensitive)]
public class HostileProgramTests
{
    private static (CodeReward Reward, CodeSandbox Sandbox) Create(string mode, Func<CodeSandboxOptions, CodeSandboxOptions>? tweak = null)
    {
        var sandbox = SandboxModes.Create(mode, tweak);
        return (new CodeReward(sandbox), sandbox);
    }

    /// <summary>Runs <paramref name="program"/> against one stdin/stdout case expecting <paramref name="expected"/>.</summary>
    private static CodeEvaluation Judge(CodeReward reward, string program, string expected = "42", string language = "python")
    {
        var tests = $$"""{"language": "{{language}}", "test_cases": [{"input": "", "output": {{System.Text.Json.JsonSerializer.Serialize(expected)}}, "type": "stdin_stdout"}]}""";
        var input = new RewardInput("p", $"Solution:\n```{language}\n{program}\n```\n", new Dictionary<string, string> { ["tests"] = tests });
        return reward.Evaluate([input]).Single();
    }

    private static void AssertContained(CodeEvaluation evaluation, ExecutionStatus status, string? reasonContains = null)
    {
        var test = Assert.Single(evaluation.Tests);
        Assert.True(status == test.Status, $"expected {status}, got {test.Status}: {test.Reason}");
        Assert.Equal(0.0, evaluation.Score);
        Assert.False(test.Passed);
        if (reasonContains is not null) Assert.Contains(reasonContains, test.Reason);
    }

    /// <summary>After a run, nothing may still run under the sandbox's uids (root: every backend switches uid).</summary>
    private static void AssertNoSurvivors(CodeSandbox sandbox)
    {
        if (!SandboxModes.IsRoot) return; // without root the sandbox keeps the caller's uid: checked by marker instead
        // Killed processes take a moment to exit; zombies (dead, awaiting the host init's reaping) do not count.
        var survivors = HostProcesses.Alive(p => sandbox.OwnsUid(p.Uid));
        for (int i = 0; i < 100 && survivors.Count > 0; i++)
        {
            Thread.Sleep(20);
            survivors = HostProcesses.Alive(p => sandbox.OwnsUid(p.Uid));
        }
        Assert.True(survivors.Count == 0, "survivors: " + string.Join(", ", survivors));
    }

    private static void AssertStillWorks(CodeReward reward) =>
        Assert.Equal(1.0, Judge(reward, "print(42)").Score);

    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public void Network_to_the_internet_is_refused(string mode)
    {
        var (reward, _) = Create(mode);
        var evaluation = Judge(reward, "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)\nprint(42)");
        AssertContained(evaluation, ExecutionStatus.RuntimeError, "Network is unreachable");
    }

    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public void Network_to_a_host_loopback_port_is_refused(string mode)
    {
        var (reward, _) = Create(mode);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var evaluation = Judge(reward, $"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\ns.sendall(b'hi')\nprint(42)");
        AssertContained(evaluation, ExecutionStatus.RuntimeError);
        Assert.Matches("Connection refused|Network is unreachable", evaluation.Tests[0].Reason);
        Assert.False(listener.Pending(), "the sandboxed program reached the host's loopback listener");
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public void Fork_bomb_is_bounded_and_leaves_nothing(string mode)
    {
        var (reward, sandbox) = Create(mode, o => o with { TimeLimit = TimeSpan.FromSeconds(1) });
        const string bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass";
        var evaluation = Judge(reward, bomb);
        AssertContained(evaluation, ExecutionStatus.TimeLimitExceeded);
        AssertNoSurvivors(sandbox);
        AssertStillWorks(reward);
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public void Memory_bombs_hit_the_address_space_limit(string mode)
    {
        // A generous wall clock: on a loaded machine the growing bomb must reach the memory limit, not the time limit.
        var (reward, _) = Create(mode, o => o with { TimeLimit = TimeSpan.FromSeconds(20) });
        AssertContained(Judge(reward, "x = bytearray(4 * 1024**3)\nprint(42)"), ExecutionStatus.MemoryLimitExceeded, "MemoryError");
        AssertContained(Judge(reward, "a = []\nwhile True:\n    a.append(bytearray(10**7))"), ExecutionStatus.MemoryLimitExceeded);
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public void Forked_memory_bombs_are_bounded_in_total(string mode)
    {
        // 12 processes × 200 MiB each stay under the per-process RLIMIT_AS (256 MiB) but not under the total.
        // The time limit is far off (a loaded machine is slow to fill 2.4 GiB); the watchdog must stop it well before.
        var (reward, _) = Create(mode, o => o with { TimeLimit = TimeSpan.FromSeconds(20) });
        const string bomb = """
            import os, time
            for _ in range(12):
                if os.fork() == 0:
                    x = bytearray(200 * 1024 * 1024)
                    time.sleep(30)
                    os._exit(0)
            time.sleep(30)
            print(42)
            """;
        var evaluation = Judge(reward, bomb);
        if (SandboxModes.IsRoot)
        {
            AssertContained(evaluation, ExecutionStatus.MemoryLimitExceeded, "together");
            Assert.True(evaluation.Tests[0].Duration < TimeSpan.FromSeconds(12), $"the watchdog did not stop the run early ({evaluation.Tests[0].Duration.TotalSeconds:F1} s)");
        }
        else
        {
            // No uid of its own to watch without root: the forks either fail (RLIMIT_NPROC counts the caller's
            // processes) or the run times out.
            Assert.Equal(0.0, evaluation.Score);
            Assert.Contains(evaluation.Tests[0].Status, new[] { ExecutionStatus.TimeLimitExceeded, ExecutionStatus.RuntimeError });
        }
    }

    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public void Writing_into_a_world_writable_host_folder_is_impossible(string mode)
    {
        var (reward, _) = Create(mode);
        string watched = Path.Combine(Path.GetTempPath(), "r1sharp-watched-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(watched, (UnixFileMode)0b111_111_111);
        File.SetUnixFileMode(watched, (UnixFileMode)0b111_111_111); // 0777 regardless of umask
        try
        {
            var evaluation = Judge(reward, $"open('{watched}/pwned', 'w').write('x')\nprint(42)");
            AssertContained(evaluation, ExecutionStatus.RuntimeError, "No such file or directory");
            Assert.Empty(Directory.EnumerateFileSystemEntries(watched));
        }
        finally
        {
            Directory.Delete(watched, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(SandboxModes.SignalSafe), MemberType = typeof(SandboxModes))]
    public void Writing_into_the_repository_is_refused(string mode)
    {
        var (reward, _) = Create(mode);
        string target = Path.Combine(AppContext.BaseDirectory, "pwned-" + Guid.NewGuid().ToString("N"));
        var evaluation = Judge(reward, $"open('{target}', 'w').write('x')\nprint(42)");
        AssertContained(evaluation, ExecutionStatus.RuntimeError);
        // Read-only view (bwrap), no write permission (other uid), or not even visible (a checkout under /tmp).
        Assert.Matches("Read-only file system|Permission denied|No such file or directory", evaluation.Tests[0].Reason);
        Assert.False(File.Exists(target));
    }

    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public void The_users_home_is_not_readable(string mode)
    {
        var (reward, _) = Create(mode);
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string secretFile = Path.Combine(home, ".r1sharp-secret-" + Guid.NewGuid().ToString("N"));
        string secret = Guid.NewGuid().ToString("N");
        File.WriteAllText(secretFile, secret);
        File.SetUnixFileMode(secretFile, (UnixFileMode)0b110_100_100); // 0644: only the sandbox can stop the read
        try
        {
            var evaluation = Judge(reward, $"print(open('{secretFile}').read())", expected: secret);
            AssertContained(evaluation, ExecutionStatus.RuntimeError, "No such file or directory");
            Assert.DoesNotContain(secret, evaluation.Tests[0].Reason);
        }
        finally
        {
            File.Delete(secretFile);
        }
    }

    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public void Escaping_the_mounts_through_a_nested_user_namespace_fails(string mode)
    {
        // unshare -Urm gives root in a new user + mount namespace; mounts inherited from the sandbox are locked
        // (bwrap also forbids new user namespaces), so /root cannot be unmounted to reveal the host's home.
        var (reward, _) = Create(mode);
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string secretFile = Path.Combine(home, ".r1sharp-secret-" + Guid.NewGuid().ToString("N"));
        string secret = Guid.NewGuid().ToString("N");
        File.WriteAllText(secretFile, secret);
        try
        {
            var evaluation = Judge(reward, $"unshare -Urm sh -c 'umount -l {home} 2>/dev/null; umount -l {home} 2>/dev/null; cat {secretFile}'",
                expected: secret, language: "bash");
            AssertContained(evaluation, ExecutionStatus.RuntimeError);
        }
        finally
        {
            File.Delete(secretFile);
        }
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public void Infinite_loops_and_sleeps_hit_the_time_limit(string mode)
    {
        var (reward, _) = Create(mode, o => o with { TimeLimit = TimeSpan.FromSeconds(1) });
        var busy = Judge(reward, "while True:\n    pass");
        AssertContained(busy, ExecutionStatus.TimeLimitExceeded);
        Assert.InRange(busy.Tests[0].Duration, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(3));
        AssertContained(Judge(reward, "import time\ntime.sleep(60)"), ExecutionStatus.TimeLimitExceeded, "wall-clock");
        AssertContained(Judge(reward, "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)\nprint(42)"), ExecutionStatus.TimeLimitExceeded);
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public async Task Gigabytes_of_output_are_cut_at_the_cap(string mode)
    {
        var sandbox = SandboxModes.Create(mode);
        var started = DateTime.UtcNow;
        var result = await sandbox.RunAsync("python", "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", "");
        ResultAssert.Status(ExecutionStatus.OutputLimitExceeded, result);
        Assert.True(result.Stdout.Length <= sandbox.Options.MaxOutputBytes);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(1.5), "the run was not stopped at the cap");
        var errors = await sandbox.RunAsync("python", "import sys\nwhile True:\n    sys.stderr.write('e' * 65536)", "");
        ResultAssert.Status(ExecutionStatus.OutputLimitExceeded, errors);
        Assert.True(errors.Stderr.Length <= sandbox.Options.MaxStderrBytesKept);
        var reward = new CodeReward(sandbox);
        AssertContained(Judge(reward, "print('4' * 10**7)"), ExecutionStatus.OutputLimitExceeded, "output limit");
    }

    [Theory]
    [MemberData(nameof(SandboxModes.SignalSafe), MemberType = typeof(SandboxModes))]
    public void Killing_the_parent_or_everything_leaves_the_host_alive(string mode)
    {
        var (reward, sandbox) = Create(mode);
        using var bystander = System.Diagnostics.Process.Start("sleep", "30");
        var parent = Judge(reward, "import os, time\nos.kill(os.getppid(), 9)\ntime.sleep(0.2)");
        Assert.Equal(0.0, parent.Score);
        var everyone = Judge(reward, "kill -9 -1\nsleep 0.2", language: "bash");
        Assert.Equal(0.0, everyone.Score);
        var python = Judge(reward, "import os\nos.kill(-1, 9)\nos.kill(0, 9)");
        Assert.Equal(0.0, python.Score);
        Assert.False(bystander.HasExited, "a host process was killed");
        bystander.Kill();
        AssertNoSurvivors(sandbox);
        AssertStillWorks(reward);
    }

    [Theory]
    [MemberData(nameof(SandboxModes.SignalSafe), MemberType = typeof(SandboxModes))]
    public void Signal_flooding_reaches_no_host_process(string mode)
    {
        var (reward, _) = Create(mode);
        using var bystander = System.Diagnostics.Process.Start("sleep", "30");
        const string flood = """
            import os, signal
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGSTOP, signal.SIGUSR1):
                for pid in range(1, 70000):
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
            """;
        var evaluation = Judge(reward, flood);
        Assert.Equal(0.0, evaluation.Score);
        Assert.False(bystander.HasExited, "a host process was signalled");
        bystander.Refresh();
        Assert.NotEqual("T", HostProcesses.State(bystander.Id)); // not stopped either
        bystander.Kill();
        AssertStillWorks(reward);
    }

    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public void Proc_1_environ_and_host_environments_are_not_readable(string mode)
    {
        var (reward, _) = Create(mode);
        string secret = Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable("R1SHARP_TEST_SECRET", secret);
        try
        {
            const string snoop = """
                import glob
                for path in ['/proc/1/environ'] + glob.glob('/proc/*/environ'):
                    try:
                        data = open(path, 'rb').read().decode(errors='replace')
                    except OSError:
                        continue
                    for var in data.split('\0'):
                        if var.startswith('R1SHARP_TEST_SECRET='):
                            print(var.split('=', 1)[1]); raise SystemExit(0)
                raise SystemExit('no secret')
                """;
            var evaluation = Judge(reward, snoop, expected: secret);
            AssertContained(evaluation, ExecutionStatus.RuntimeError, "no secret");
        }
        finally
        {
            Environment.SetEnvironmentVariable("R1SHARP_TEST_SECRET", null);
        }
    }

    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public void Dev_shm_is_private_and_bounded(string mode)
    {
        var (reward, _) = Create(mode);
        string name = "r1sharp-shm-" + Guid.NewGuid().ToString("N");
        var evaluation = Judge(reward, $"open('/dev/shm/{name}', 'w').write('x')\nwith open('/dev/shm/fill', 'wb') as f:\n    while True:\n        f.write(b'x' * 65536)");
        AssertContained(evaluation, ExecutionStatus.DiskLimitExceeded);
        Assert.False(File.Exists($"/dev/shm/{name}"));
    }

    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public void Filling_the_private_folder_stops_at_its_size(string mode)
    {
        var (reward, _) = Create(mode);
        const string fill = "i = 0\nwhile True:\n    with open(f'f{i}', 'wb') as f:\n        f.write(b'x' * 500000)\n    i += 1";
        AssertContained(Judge(reward, fill), ExecutionStatus.DiskLimitExceeded, "No space left on device");
        var one = Judge(reward, "with open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * 65536)");
        AssertContained(one, ExecutionStatus.DiskLimitExceeded);
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public async Task Planted_links_and_locked_folders_do_not_derail_the_cleanup(string mode)
    {
        // The cleanup must remove the run folder without following a planted link (chmod or delete through it).
        var sandbox = SandboxModes.Create(mode);
        string victim = Path.Combine(Path.GetTempPath(), "r1sharp-victim-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(victim);
        File.SetUnixFileMode(victim, (UnixFileMode)0b111_101_101);
        File.WriteAllText(Path.Combine(victim, "keep"), "x");
        try
        {
            string program = $"""
                import os
                os.symlink('{victim}', 'evil')
                os.symlink('/etc', 'etc')
                os.makedirs('locked/inner')
                open('locked/inner/f', 'w').write('x')
                os.chmod('locked/inner', 0)
                os.chmod('locked', 0)
                print(os.getcwd())
                """;
            var result = await sandbox.RunAsync("python", program, "");
            ResultAssert.Status(ExecutionStatus.Success, result);
            string cwd = result.Stdout.Trim();
            if (mode == SandboxModes.Rlimits) Assert.False(Directory.Exists(cwd), $"{cwd} was not removed");
            Assert.True(File.Exists(Path.Combine(victim, "keep")));
            Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(victim));
            Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode("/etc"));
        }
        finally
        {
            Directory.Delete(victim, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(SandboxModes.SignalSafe), MemberType = typeof(SandboxModes))]
    public void Nothing_is_left_in_the_hosts_world_writable_folders(string mode)
    {
        // Namespaces: the writes land in private tmpfs. Rlimits only (as root): they land on the host, and the
        // post-run sweep removes everything the run's uid owns there.
        var (reward, _) = Create(mode);
        string name = "r1sharp-litter-" + Guid.NewGuid().ToString("N");
        var evaluation = Judge(reward, $"import os\nfor d in ('/tmp', '/var/tmp', '/dev/shm'):\n    os.makedirs(f'{{d}}/{name}/sub')\n    open(f'{{d}}/{name}/sub/f', 'w').write('x')\n    open(f'{{d}}/{name}.txt', 'w').write('x')");
        Assert.Equal(ExecutionStatus.Success, evaluation.Tests[0].Status);
        foreach (var dir in (string[])["/tmp", "/var/tmp", "/dev/shm"])
        {
            Assert.False(Directory.Exists($"{dir}/{name}"), $"{dir}/{name} left behind");
            Assert.False(File.Exists($"{dir}/{name}.txt"), $"{dir}/{name}.txt left behind");
        }
    }

    [Fact]
    public void Rlimits_only_caps_the_size_of_each_file()
    {
        var (reward, _) = Create(SandboxModes.Rlimits);
        var one = Judge(reward, "with open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * 65536)");
        AssertContained(one, ExecutionStatus.DiskLimitExceeded, "File too large");
    }

    [Theory]
    [MemberData(nameof(SandboxModes.SignalSafe), MemberType = typeof(SandboxModes))] // rlimits without root: a setsid daemon escapes
    public void Background_daemons_do_not_outlive_the_run(string mode)
    {
        var (reward, sandbox) = Create(mode);
        string marker = $"{Random.Shared.Next(100, 999)}.{Random.Shared.Next(100000, 999999)}"; // a unique `sleep` argument
        string daemon = $"""
            import os, subprocess, sys
            subprocess.Popen(['sleep', '{marker}'], start_new_session=True)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execvp('sleep', ['sleep', '{marker}'])
                os._exit(0)
            print('started')
            """;
        var evaluation = Judge(reward, daemon);
        Assert.Equal(0.0, evaluation.Score);
        Assert.Equal(ExecutionStatus.Success, evaluation.Tests[0].Status);
        Assert.True(evaluation.Tests[0].Duration < TimeSpan.FromSeconds(1.5), "a daemon holding stdout stalled the run");
        Thread.Sleep(100);
        var survivors = HostProcesses.WithCommandLine("sleep " + marker);
        Assert.True(survivors.Count == 0, "daemons survived: " + string.Join(", ", survivors));
        AssertNoSurvivors(sandbox);
    }

    /// <summary>
    /// A program that finds the problem's tests on disk and prints the expected output scores without solving
    /// anything: the dataset (here a world-readable JSONL in the test's output folder, i.e. the checkout, and as
    /// root one under /opt) must not be visible. Before, the unshare backend showed the whole host file system
    /// (all but /home, /root, /run), so the program below read the expected answer and scored 1.0.
    /// </summary>
    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public void The_tests_on_disk_are_not_visible(string mode)
    {
        var (reward, _) = Create(mode);
        string answer = "answer-" + Guid.NewGuid().ToString("N");
        string tests = $$"""{"language": "python", "test_cases": [{"input": "", "output": "{{answer}}", "type": "stdin_stdout"}]}""";
        var places = new List<string> { Path.Combine(AppContext.BaseDirectory, "data-" + Guid.NewGuid().ToString("N")) };
        if (SandboxModes.IsRoot) places.Add(Path.Combine("/opt", "r1sharp-data-" + Guid.NewGuid().ToString("N")));
        try
        {
            foreach (var place in places)
            {
                Directory.CreateDirectory(place);
                File.SetUnixFileMode(place, (UnixFileMode)0b111_101_101);
                string file = Path.Combine(place, "train.jsonl");
                File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(new { tests }) + "\n");
                File.SetUnixFileMode(file, (UnixFileMode)0b110_100_100);
            }
            string program = $$"""
                import json
                for path in {{System.Text.Json.JsonSerializer.Serialize(places)}}:
                    try:
                        row = json.loads(open(path + '/train.jsonl').readline())
                        print(json.loads(row['tests'])['test_cases'][0]['output'])
                        break
                    except OSError:
                        pass
                """;
            var evaluation = Judge(reward, program, answer);
            Assert.Equal(0.0, evaluation.Score);
        }
        finally
        {
            foreach (var place in places) Directory.Delete(place, recursive: true);
        }
    }

    /// <summary>
    /// A program that exits like the launcher's wrapper does when it cannot set a run up (exit code 125, stderr
    /// starting "r1sharp-sandbox:") must still score 0, not null ("cannot judge", left out of the reward's mean).
    /// Before, without a memory cgroup (the watchdog, or no root) nothing told the two apart and the run was a
    /// SandboxError.
    /// </summary>
    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public void A_program_cannot_pass_itself_off_as_a_sandbox_failure(string mode)
    {
        foreach (bool cgroup in (bool[])[true, false])
        {
            var (reward, _) = Create(mode, o => o with { UseCgroup = cgroup });
            var evaluation = Judge(reward, "import sys\nsys.stderr.write('r1sharp-sandbox: cannot join the memory cgroup /x\\n')\nsys.exit(125)");
            AssertContained(evaluation, ExecutionStatus.RuntimeError, "exit code 125");
        }
        // The wrapper's real failures carry the run's token, which the program never sees.
        Assert.True(SandboxLauncherAccess.IsWrapperFailure(125, "abc r1sharp-sandbox: cannot join the memory cgroup /x\n", "abc", out string message));
        Assert.Equal("r1sharp-sandbox: cannot join the memory cgroup /x", message);
        Assert.False(SandboxLauncherAccess.IsWrapperFailure(125, "r1sharp-sandbox: cannot join the memory cgroup /x\n", "abc", out _));
        Assert.False(SandboxLauncherAccess.IsWrapperFailure(1, "abc r1sharp-sandbox: x", "abc", out _));
    }

    /// <summary>
    /// The reasons of a run quote the program's output (the last stderr line, the first differing stdout line) and go
    /// to logs and terminals: control characters must not reach them. Before, escape sequences (erase the line, set
    /// the title, OSC 52 write to the clipboard) and carriage returns came through verbatim.
    /// </summary>
    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public void Reasons_carry_no_control_characters_from_the_program(string mode)
    {
        var (reward, _) = Create(mode);
        var stderr = Judge(reward, "import sys\nsys.stderr.write('\\x1b]52;c;ZXZpbA==\\x07\\x1b[2K\\rall tests passed\\n')\nsys.exit(1)");
        var stdout = Judge(reward, "print('\\x1b]0;pwned\\x07\\x1b[1A\\rok 42')");
        foreach (var evaluation in (CodeEvaluation[])[stderr, stdout])
        {
            string reason = evaluation.Tests[0].Reason;
            Assert.Equal(0.0, evaluation.Score);
            Assert.False(reason.Any(char.IsControl), "control characters in: " + reason.Replace("\x1b", "<ESC>"));
        }
        Assert.Contains("all tests passed", stderr.Tests[0].Reason);
    }

    /// <summary>A set-user-id root program (a copy of <c>id</c>, made by the test as root, shown through
    /// <see cref="CodeSandboxOptions.ReadOnlyPaths"/>) run from the sandbox must not run as root: every backend sets no_new_privs. Before, the unshare and rlimits-only backends left it unset,
    /// so the host's own set-uid binaries (su, mount, passwd, …) ran with euid 0 and a full bounding set.</summary>
    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public async Task Set_uid_programs_do_not_raise_privileges(string mode)
    {
        string? folder = null;
        string helper = "/nonexistent";
        if (SandboxModes.IsRoot)
        {
            // Under /opt, as an interpreter shown with ReadOnlyPaths would be: the test's own folder may lie under /tmp
            // (a CI checkout), which every sandbox replaces with its private tmpfs.
            folder = Path.Combine("/opt", "r1sharp-test-setuid-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101);
            helper = Path.Combine(folder, "id");
            File.Copy("/usr/bin/id", helper);
            File.SetUnixFileMode(helper, (UnixFileMode)0b100_111_101_101); // 4755
        }
        try
        {
            // Shown read-only inside (namespace backends hide the checkout otherwise).
            var sandbox = SandboxModes.Create(mode, o => folder is null ? o : o with { ReadOnlyPaths = [folder] });
            string program = $$"""
                import subprocess
                print([l for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0].split()[1])
                try:
                    print(subprocess.run(['{{helper}}'], capture_output=True, text=True).stdout)
                except OSError as e:
                    print(type(e).__name__)
                """;
            var result = await sandbox.RunAsync("python", program, "");
            ResultAssert.Status(ExecutionStatus.Success, result);
            Assert.StartsWith("1\n", result.Stdout);
            if (folder is not null) Assert.Contains("uid=", result.Stdout); // the helper ran
            Assert.DoesNotContain("euid=0", result.Stdout);
        }
        finally
        {
            if (folder is not null) Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public void Thread_bombs_hit_the_process_limit(string mode)
    {
        var (reward, _) = Create(mode);
        var evaluation = Judge(reward, "import threading, time\nfor _ in range(1000):\n    threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\nprint(42)");
        AssertContained(evaluation, ExecutionStatus.RuntimeError, "can't start new thread");
    }
}

/// <summary>Reads /proc on the host to find processes a sandbox may have left behind.</summary>
internal static class HostProcesses
{
    internal readonly record struct Info(int Pid, int Uid, char State, string CommandLine);

    /// <summary>Live (not zombie) processes matching <paramref name="match"/>.</summary>
    internal static List<string> Alive(Func<Info, bool> match)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var status = File.ReadAllLines(Path.Combine(dir, "status"));
                var uidLine = status.First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                var stateLine = status.First(l => l.StartsWith("State:", StringComparison.Ordinal));
                var info = new Info(pid, int.Parse(uidLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]),
                    stateLine.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1][0], CommandLine(dir));
                if (info.State != 'Z' && info.State != 'X' && match(info)) found.Add($"{pid} (uid {info.Uid}, {info.State}): {info.CommandLine}");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            catch (InvalidOperationException) { }
        }
        return found;
    }

    internal static List<string> WithCommandLine(string fragment) => Alive(p => p.CommandLine.Contains(fragment, StringComparison.Ordinal));

    internal static string State(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("State:", StringComparison.Ordinal));
            return line?.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1][..1] ?? "?";
        }
        catch (IOException) { return "?"; }
    }

    private static string CommandLine(string dir)
    {
        try { return File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim(); }
        catch (IOException) { return "?"; }
    }
}
