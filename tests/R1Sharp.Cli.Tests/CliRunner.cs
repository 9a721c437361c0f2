using System.Diagnostics;
using System.Text.Json;

namespace R1Sharp.Cli.Tests;

/// <summary>What one run of the command printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json() => JsonDocument.Parse(Stdout).RootElement;

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs the real built <c>r1sharp</c> (r1sharp.dll next to the tests, copied by the project reference) with <c>dotnet</c>.</summary>
public static class CliRunner
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "r1sharp.dll");
    private static readonly string Host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public static CliResult Run(params string[] args) => Run(TimeSpan.FromSeconds(120), args);

    public static CliResult Run(TimeSpan timeout, params string[] args)
    {
        using var child = Start(args);
        if (!child.Process.WaitForExit(timeout))
        {
            child.Process.Kill(entireProcessTree: true);
            throw new TimeoutException($"r1sharp {string.Join(' ', args)} did not finish in {timeout.TotalSeconds:F0} s");
        }
        return child.Finish();
    }

    /// <summary>Starts the command without waiting (its output is collected as it comes): for tests that kill it.</summary>
    public static CliProcess Start(params string[] args) => Start(null, args);

    /// <param name="environment">Variables set for the child only (e.g. OMP_NUM_THREADS, which libtorch honours).</param>
    public static CliProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] args) => Start(Host, [], environment, args);

    /// <summary>Starts <c>mpiexec -n <paramref name="ranks"/> dotnet r1sharp.dll …</c> (MPICH's Hydra; every rank gets <paramref name="environment"/>).</summary>
    public static CliProcess StartMpi(int ranks, IReadOnlyDictionary<string, string>? environment, params string[] args)
        => Start("mpiexec", ["-n", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), Host], environment, args);

    static CliProcess Start(string program, string[] launcherArgs, IReadOnlyDictionary<string, string>? environment, string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var a in launcherArgs) start.ArgumentList.Add(a);
        start.ArgumentList.Add(Dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        var process = Process.Start(start)!;
        process.StandardInput.Close();
        return new CliProcess(process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }

    /// <summary>Runs and asserts exit code 0.</summary>
    public static CliResult Ok(params string[] args)
    {
        var r = Run(args);
        Assert.True(r.ExitCode == 0, $"r1sharp {string.Join(' ', args)}\n{r}");
        return r;
    }

    /// <summary>Runs and asserts exit code 1 with one "error: …" line on standard error.</summary>
    public static string Fails(params string[] args)
    {
        var r = Run(args);
        Assert.True(r.ExitCode == 1, $"r1sharp {string.Join(' ', args)}\n{r}");
        Assert.StartsWith("error: ", r.Stderr);
        return r.Stderr.Trim();
    }
}

/// <summary>A running <c>r1sharp</c>: the process and its output so far.</summary>
public sealed class CliProcess(Process process, Task<string> stdout, Task<string> stderr) : IDisposable
{
    public Process Process { get; } = process;

    /// <summary>Waits for the exit (or the kill) and returns what it printed.</summary>
    public CliResult Finish()
    {
        Process.WaitForExit();
        return new CliResult(Process.ExitCode, stdout.Result, stderr.Result);
    }

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        Process.Dispose();
    }
}

/// <summary>A temporary folder deleted after the test.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("r1sharp-cli-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, params string[] lines)
    {
        string path = File(name);
        System.IO.File.WriteAllLines(path, lines);
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
