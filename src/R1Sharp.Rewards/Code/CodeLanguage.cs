namespace R1Sharp.Rewards.Code;

/// <summary>
/// How to run a program of one language: the names it goes by (test files, fence tags), the file it is saved as,
/// the interpreter to start (first candidate found wins; candidates under folders the sandbox hides, such as a
/// pyenv shim under /root, are skipped because the sandbox could not see them), and the stderr markers that mean
/// the address-space limit or the disk limit (a full private folder, RLIMIT_FSIZE) was hit.
/// </summary>
public sealed record CodeLanguage(
    string Name,
    IReadOnlyList<string> Aliases,
    string FileName,
    IReadOnlyList<string> InterpreterCandidates,
    IReadOnlyList<string> InterpreterArguments,
    IReadOnlyList<string> MemoryErrorMarkers,
    IReadOnlyList<string> DiskErrorMarkers)
{
    /// <summary>A program followed by an assert-style test snippet (run as one file; the test passes when the
    /// program exits with code 0).</summary>
    public string AppendTest(string program, string testSnippet) => program.TrimEnd() + "\n\n" + testSnippet.Trim() + "\n";

    /// <summary>True when <paramref name="name"/> (a test file's language or a fence tag) names this language.</summary>
    public bool IsNamed(string name) =>
        Aliases.Any(a => string.Equals(a, name.Trim(), StringComparison.OrdinalIgnoreCase));
}

/// <summary>The table of languages the sandbox can run. Add a row to support another interpreter.</summary>
public static class CodeLanguages
{
    /// <summary>CPython 3, <c>python3 -B main.py</c> (no bytecode files written).</summary>
    public static readonly CodeLanguage Python = new(
        Name: "python",
        Aliases: ["python", "python3", "py", "py3"],
        FileName: "main.py",
        InterpreterCandidates: ["/usr/bin/python3", "/usr/local/bin/python3", "python3"],
        InterpreterArguments: ["-B"],
        MemoryErrorMarkers: ["MemoryError", "Cannot allocate memory", "cannot allocate memory"],
        DiskErrorMarkers: ["[Errno 28] No space left on device", "[Errno 27] File too large"]);

    /// <summary>GNU bash, <c>bash main.sh</c>.</summary>
    public static readonly CodeLanguage Bash = new(
        Name: "bash",
        Aliases: ["bash", "sh", "shell"],
        FileName: "main.sh",
        InterpreterCandidates: ["/bin/bash", "/usr/bin/bash", "bash"],
        InterpreterArguments: [],
        MemoryErrorMarkers: ["Cannot allocate memory", "cannot allocate memory", "xmalloc"],
        DiskErrorMarkers: ["write error: No space left on device", "error writing", "File too large", "File size limit exceeded"]);

    /// <summary>Every language, in lookup order.</summary>
    public static IReadOnlyList<CodeLanguage> All { get; } = [Python, Bash];

    /// <summary>The language a name (e.g. <c>Python3</c>, <c>py</c>, <c>sh</c>) refers to, or null.</summary>
    public static CodeLanguage? Find(string? name) =>
        string.IsNullOrWhiteSpace(name) ? null : All.FirstOrDefault(l => l.IsNamed(name));
}
