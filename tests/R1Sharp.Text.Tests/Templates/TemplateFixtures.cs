using System.Collections.Concurrent;
using System.Text.Json;

namespace R1Sharp.Text.Tests.Templates;

/// <summary>Locates tests/fixtures from the test binaries and reads the JSONL goldens (parsed once per file).</summary>
internal static class TemplateFixtures
{
    private static readonly ConcurrentDictionary<string, JsonElement[]> Jsonl = new();

    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(System.IO.Path.Combine(dir.FullName, "tests", "fixtures", "templates")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"tests/fixtures/templates not found above {AppContext.BaseDirectory}");
    });

    public static string RepoRoot => Root.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([RepoRoot, .. parts]);

    public static IReadOnlyList<JsonElement> ReadJsonl(string relativePath) =>
        Jsonl.GetOrAdd(relativePath, p => File.ReadLines(Path(p.Split('/')))
            .Where(line => line.Length > 0)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .ToArray());
}
