using System.Text.Json.Nodes;
using R1Sharp.Data;

namespace R1Sharp.Cli.Commands;

/// <summary>Where the row commands (tokenize, grade, reward) write their output rows: a file (whole or not at all) or standard output.</summary>
public static class JsonlOutput
{
    /// <summary>One compact line in R1Sharp's JSON conventions (no escaping of &lt;, &gt;, +, quotes or non-ASCII text).</summary>
    public static string ToLine(JsonNode node) => node.ToJsonString(JsonFormat.Compact);

    /// <summary>
    /// Writes the lines to <paramref name="path"/> whole or not at all (<see cref="AtomicFile"/>: a temporary file renamed into
    /// place; devices such as /dev/null are written straight through); null writes to standard output.
    /// </summary>
    public static void Write(string? path, IEnumerable<string> lines)
    {
        if (path is null)
        {
            foreach (var line in lines) Console.WriteLine(line);
            return;
        }
        if (Directory.Exists(path)) throw new UserError($"--output: {path} is a folder; give a file name");
        AtomicFile.Write(path, w =>
        {
            foreach (var line in lines) w.WriteLine(line);
        });
    }
}
