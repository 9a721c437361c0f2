using System.Text.Json;

namespace R1Sharp.Text.Tests.Templates;

/// <summary>Locates tests/fixtures from the test binaries and reads the JSONL goldens.</summary>
internal static class TemplateFixtures
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(System.IO.Path.Combine(dir.FullName, "tests", "fixtures", "templates")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"tests/fixtures/templates not found above {AppContext.BaseDirectory}");
    });

    public static string RepoRoot => Root.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([RepoRoot, .. parts]);

    public static IEnumerable<JsonElement> ReadJsonl(string relativePath)
    {
        foreach (var line in File.ReadLines(Path(relativePath.Split('/'))))
            if (line.Length > 0)
                yield return JsonDocument.Parse(line).RootElement;
    }
}
