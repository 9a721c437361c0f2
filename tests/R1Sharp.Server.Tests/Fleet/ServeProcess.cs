using System.Diagnostics;
using R1Sharp.Tests;

namespace R1Sharp.Server.Tests.Fleet;

/// <summary>
/// <c>r1sharp serve --enable-weight-updates</c> on the tiny chat model as a child process on loopback, on one libtorch thread.
/// <see cref="Kill"/> is <c>kill -9</c>; <see cref="Restart"/> starts it again on the same port.
/// </summary>
internal sealed class ServeProcess : IDisposable
{
    Process? process;
    readonly string model;

    /// <param name="port">0: a free port.</param>
    /// <param name="model">The checkpoint served; null: the tiny chat model.</param>
    public ServeProcess(int port = 0, string? model = null)
    {
        this.model = model ?? TinyModel.Directory;
        Start(port);
    }

    public Uri Url { get; private set; } = null!;
    public int Port => Url.Port;
    public bool Running => process is { HasExited: false };
    /// <summary>The server's process id (the child started; an exec keeps it).</summary>
    public int Pid => process!.Id;

    void Start(int port)
    {
        var p = Cli(["serve", "--model", model, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--served-model", "tiny", "--enable-weight-updates", "--quiet"]);
        string? line = p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(90)).GetAwaiter().GetResult();
        if (line is null || !line.StartsWith("listening on http://127.0.0.1:", StringComparison.Ordinal))
        {
            p.Kill();
            throw new InvalidOperationException($"serve did not start: {line} {p.StandardError.ReadToEnd()}");
        }
        Url = new Uri(line.Split(' ')[2]);
        process = p;
    }

    /// <summary>SIGKILL: the server dies with whatever it was doing.</summary>
    public void Kill()
    {
        process?.Kill();
        process?.WaitForExit(10_000);
    }

    /// <summary>Starts it again on the same port.</summary>
    public void Restart()
    {
        Kill();
        process?.Dispose();
        Start(Port);
    }

    /// <summary>The built r1sharp (src/R1Sharp.Cli/bin/…/r1sharp.dll) with <paramref name="args"/>, on one libtorch thread.</summary>
    public static Process Cli(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(CliProcessTests.CliDll());
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["OMP_NUM_THREADS"] = "1";
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        return p;
    }

    public void Dispose()
    {
        if (process is { HasExited: false }) process.Kill();
        process?.Dispose();
    }
}
