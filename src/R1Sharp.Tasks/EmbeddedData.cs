using System.Reflection;

namespace R1Sharp.Tasks;

/// <summary>
/// The benchmark files of data/benchmarks, embedded in this assembly (see R1Sharp.Rewards.csproj), so tasks load
/// from any working directory. Attribution and licences: data/benchmarks/README.md (also embedded).
/// </summary>
public static class EmbeddedData
{
    private const string Prefix = "R1Sharp.Benchmarks.";

    /// <summary>The embedded file names, e.g. <c>gsm8k_test.jsonl</c>.</summary>
    public static IReadOnlyList<string> Files =>
        [.. typeof(EmbeddedData).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..]).Order(StringComparer.Ordinal)];

    /// <summary>Opens the embedded file <paramref name="fileName"/>.</summary>
    public static Stream Open(string fileName) =>
        typeof(EmbeddedData).Assembly.GetManifestResourceStream(Prefix + fileName)
        ?? throw new FileNotFoundException($"No embedded benchmark file '{fileName}'. Embedded: {string.Join(", ", Files)}.", fileName);

    /// <summary>The lines of the embedded file, with their 1-based line numbers, skipping blank lines.</summary>
    public static IEnumerable<(int Line, string Text)> ReadLines(string fileName)
    {
        using var reader = new StreamReader(Open(fileName));
        int number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (!string.IsNullOrWhiteSpace(line)) yield return (number, line);
        }
    }
}
