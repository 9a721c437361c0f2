using R1Sharp.Rewards.Code;

namespace R1Sharp.Rewards.Tests.Code;

public class CodeSandboxTests
{
    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public async Task Runs_python_with_stdin_and_captures_stdout(string mode)
    {
        var sandbox = SandboxModes.Create(mode);
        var result = await sandbox.RunAsync("python", "a, b = map(int, input().split())\nprint(a + b)\nprint('é', end='')\n", "2 40\n");
        ResultAssert.Status(ExecutionStatus.Success, result);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("42\né", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public async Task Runs_bash(string mode)
    {
        var sandbox = SandboxModes.Create(mode);
        var result = await sandbox.RunAsync("bash", "read x\necho $((x * 2))\n", "21\n");
        ResultAssert.Status(ExecutionStatus.Success, result);
        Assert.Equal("42\n", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public async Task Reports_exit_code_and_stderr_tail(string mode)
    {
        var sandbox = SandboxModes.Create(mode);
        var result = await sandbox.RunAsync("python", "import sys\nprint('out')\nraise ValueError('boom')\n", "");
        ResultAssert.Status(ExecutionStatus.RuntimeError, result);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("out\n", result.Stdout);
        Assert.Contains("ValueError: boom", result.Stderr);
        Assert.Equal("exit code 1: ValueError: boom", result.Reason);
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public async Task Can_write_its_private_folder_only(string mode)
    {
        var sandbox = SandboxModes.Create(mode);
        const string program = """
            import os, tempfile
            with open('data.txt', 'w') as f: f.write('x' * 1000)
            with tempfile.NamedTemporaryFile(dir=os.environ['TMPDIR']) as t: t.write(b'y')
            print(os.path.getsize('data.txt'))
            """;
        var result = await sandbox.RunAsync("python", program, "");
        ResultAssert.Status(ExecutionStatus.Success, result);
        Assert.Equal("1000\n", result.Stdout);
    }

    [Fact]
    public async Task Unknown_language_is_a_sandbox_error()
    {
        var sandbox = SandboxModes.Create(SandboxModes.Rlimits);
        var result = await sandbox.RunAsync("cobol", "DISPLAY 'HI'.", "");
        ResultAssert.Status(ExecutionStatus.SandboxError, result);
        Assert.Contains("cobol", result.Reason);
    }

    [Fact]
    public async Task Large_stdin_is_delivered_whole()
    {
        var sandbox = SandboxModes.Create(SandboxModes.Best);
        string input = string.Join('\n', Enumerable.Range(0, 100_000)) + "\n";
        var result = await sandbox.RunAsync("python", "import sys\nprint(sum(int(l) for l in sys.stdin))\n", input);
        ResultAssert.Status(ExecutionStatus.Success, result);
        Assert.Equal($"{99_999L * 100_000 / 2}\n", result.Stdout);
    }

    [Fact]
    public void Auto_detects_namespaces_when_available()
    {
        if (SandboxModes.Namespaces().Count > 0)
        {
            var sandbox = new CodeSandbox(new CodeSandboxOptions { Workers = 1 });
            Assert.NotEqual(SandboxBackend.RlimitsOnly, sandbox.Backend);
            if (SandboxLauncherAccess.SeccompAvailable || sandbox.Backend != SandboxBackend.Bubblewrap) Assert.Null(sandbox.Warning);
        }
        else
        {
            // No namespaces here: refused without the opt-in (HardenedSandboxTests covers both sides on any machine).
            Assert.Throws<SandboxUnavailableException>(() => new CodeSandbox(new CodeSandboxOptions { Workers = 1 }));
        }
    }

    [Theory]
    [MemberData(nameof(SandboxModes.Namespaces), MemberType = typeof(SandboxModes))]
    public async Task Survives_the_exit_of_the_thread_that_asked_for_the_run(string mode)
    {
        // PR_SET_PDEATHSIG (bwrap --die-with-parent) fires when the forking THREAD exits: a run started from a
        // short-lived thread must not be killed with it.
        var sandbox = SandboxModes.Create(mode);
        Task<ExecutionResult>? run = null;
        var thread = new Thread(() => run = sandbox.RunAsync("python", "import time\ntime.sleep(0.6)\nprint('done')\n", ""));
        thread.Start();
        thread.Join();
        var result = await run!;
        ResultAssert.Status(ExecutionStatus.Success, result);
        Assert.Equal("done\n", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(SandboxModes.All), MemberType = typeof(SandboxModes))]
    public async Task Cancellation_kills_the_run_and_frees_the_slot(string mode)
    {
        var sandbox = SandboxModes.Create(mode, o => o with { Workers = 1, TimeLimit = TimeSpan.FromSeconds(30) });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sandbox.RunAsync("python", "import time\ntime.sleep(30)", "", cts.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
        var next = await sandbox.RunAsync("python", "print(1)", "");
        ResultAssert.Status(ExecutionStatus.Success, next);
    }
}
