namespace R1Sharp.Tests;

/// <summary>Finds files of the repository (fixtures, data) from a test's output folder.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Fixture(params string[] parts) => Path.Combine([Root, "tests", "fixtures", .. parts]);

    public static string Data(params string[] parts) => Path.Combine([Root, "data", .. parts]);

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "R1Sharp.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException($"R1Sharp.slnx not found above {AppContext.BaseDirectory}");
    }
}
