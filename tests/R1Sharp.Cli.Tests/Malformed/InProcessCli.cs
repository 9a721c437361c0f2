using System.Security.Cryptography;

namespace R1Sharp.Cli.Tests.Malformed;

/// <summary>
/// Runs <c>r1sharp</c> in this process (<see cref="CliApp.Run"/>) with standard output and error captured: the same code
/// path as the real command, without starting a process per case. Runs are serialised, since the console is global.
/// </summary>
public static class InProcessCli
{
    static readonly Lock Gate = new();

    public static CliResult Run(params string[] args) => Capture(() => CliApp.Run(args));

    /// <summary>Runs <paramref name="action"/> with the console captured; its return value is the exit code.</summary>
    public static CliResult Capture(Func<int> action)
    {
        lock (Gate)
        {
            TextWriter oldOut = Console.Out, oldError = Console.Error;
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            Console.SetOut(stdout);
            Console.SetError(stderr);
            int code;
            try { code = action(); }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldError);
            }
            return new CliResult(code, stdout.ToString(), stderr.ToString());
        }
    }
}

/// <summary>A temporary folder for one case's inputs, with helpers to copy fixtures in and to fingerprint what is there.</summary>
public sealed class Workspace : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("r1sharp-malformed-").FullName;

    /// <summary>The absolute path of <paramref name="relative"/> (forward slashes allowed).</summary>
    public string this[string relative] => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>Copies the files of <paramref name="source"/> (recursively) to <paramref name="relative"/>; returns the new folder.</summary>
    public string Copy(string source, string relative)
    {
        var target = this[relative];
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        Directory.CreateDirectory(target);
        return target;
    }

    /// <summary>SHA-256 of every file under the root, by relative path (folders listed too, with an empty hash).</summary>
    public Dictionary<string, string> Fingerprint()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var dir in Directory.GetDirectories(Root, "*", SearchOption.AllDirectories))
            result[Path.GetRelativePath(Root, dir) + "/"] = "";
        foreach (var file in Directory.GetFiles(Root, "*", SearchOption.AllDirectories))
        {
            using var stream = File.OpenRead(file);
            result[Path.GetRelativePath(Root, file)] = Convert.ToHexString(SHA256.HashData(stream));
        }
        return result;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
