namespace R1Sharp.Rewards.Code;

/// <summary>
/// How to run a program of one language: the names it goes by (test files, fence tags), the file it is saved as,
/// the interpreter to start (first candidate found wins; candidates under folders the sandbox hides, such as a
/// pyenv shim under /root, are skipped because the sandbox could not see them), and the stderr markers that mean
/// the address-space limit or the disk limit (a full private folder, RLIMIT_FSIZE) was hit.
/// <paramref name="PassMarkerStatement"/> is the statement appended after an assert-style test snippet that writes
/// a line to stdout (<c>{0}</c> = the marker; it must run only when every statement before it succeeded).
/// </summary>
public sealed record CodeLanguage(
    string Name,
    IReadOnlyList<string> Aliases,
    string FileName,
    IReadOnlyList<string> InterpreterCandidates,
    IReadOnlyList<string> InterpreterArguments,
    IReadOnlyList<string> MemoryErrorMarkers,
    IReadOnlyList<string> DiskErrorMarkers,
    string PassMarkerStatement)
{
    /// <summary>
    /// A program followed by an assert-style test snippet and a statement that prints <paramref name="passMarker"/>
    /// on a line of its own (run as one file). The test passes only when the run exits with code 0 AND that line is
    /// in its stdout (<see cref="PassedAsserts"/>): exit code 0 alone is forged by a program that exits before the
    /// snippet runs (<c>os._exit(0)</c>, <c>sys.exit()</c>, <c>exit 0</c>) or turns the failure into exit code 0
    /// (<c>sys.excepthook</c>, <c>atexit</c>, a bash <c>EXIT</c> trap). Use a fresh random marker per run.
    /// </summary>
    public string AppendTest(string program, string testSnippet, string passMarker) =>
        program.TrimEnd() + "\n\n" + testSnippet.Trim() + "\n" + string.Format(System.Globalization.CultureInfo.InvariantCulture, PassMarkerStatement, passMarker) + "\n";

    /// <summary>True when <paramref name="stdout"/> of a run of <see cref="AppendTest"/> holds the marker as a line of
    /// its own (the source line that prints it is not such a line, so echoing the program's own file does not count).</summary>
    public static bool PassedAsserts(string stdout, string passMarker) =>
        OutputComparer.Lines(stdout).Contains(passMarker, StringComparer.Ordinal);

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
        DiskErrorMarkers: ["[Errno 28] No space left on device", "[Errno 27] File too large"],
        // Straight to fd 1: a program may have replaced sys.stdout or print, and buffered text may follow.
        PassMarkerStatement: "__import__(\"os\").write(1, b\"\\n{0}\\n\")");

    /// <summary>GNU bash, <c>bash main.sh</c>.</summary>
    public static readonly CodeLanguage Bash = new(
        Name: "bash",
        Aliases: ["bash", "sh", "shell"],
        FileName: "main.sh",
        InterpreterCandidates: ["/bin/bash", "/usr/bin/bash", "bash"],
        InterpreterArguments: [],
        MemoryErrorMarkers: ["Cannot allocate memory", "cannot allocate memory", "xmalloc"],
        DiskErrorMarkers: ["write error: No space left on device", "error writing", "File too large", "File size limit exceeded"],
        // Printed only when the snippet's last command succeeded (the exit status bash would have ended with).
        PassMarkerStatement: "(( $? == 0 )) && printf '\\n%s\\n' {0}");

    /// <summary>Every language, in lookup order.</summary>
    public static IReadOnlyList<CodeLanguage> All { get; } = [Python, Bash];

    /// <summary>The language a name (e.g. <c>Python3</c>, <c>py</c>, <c>sh</c>) refers to, or null.</summary>
    public static CodeLanguage? Find(string? name) =>
        string.IsNullOrWhiteSpace(name) ? null : All.FirstOrDefault(l => l.IsNamed(name));
}
