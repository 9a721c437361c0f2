using R1Sharp.Data;

namespace R1Sharp.Data.Tests;

/// <summary>Hub ids resolve through a cache laid out as huggingface_hub lays it out (models--Org--Name/refs, snapshots).</summary>
public sealed class ModelLocationTests : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("r1sharp-hub-").FullName;

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    private string Snapshot(string repo, string commit, params string[] refs)
    {
        string folder = Path.Combine(_cache, "models--" + repo.Replace("/", "--"));
        string snapshot = Path.Combine(folder, "snapshots", commit);
        Directory.CreateDirectory(snapshot);
        File.WriteAllText(Path.Combine(snapshot, "config.json"), "{}");
        Directory.CreateDirectory(Path.Combine(folder, "refs"));
        foreach (var r in refs) File.WriteAllText(Path.Combine(folder, "refs", r), commit + "\n");
        return snapshot;
    }

    [Fact]
    public void A_hub_id_resolves_to_the_snapshot_its_ref_names()
    {
        string main = Snapshot("Qwen/Qwen2.5-0.5B", "a1b2c3", "main");
        string old = Snapshot("Qwen/Qwen2.5-0.5B", "ffee00");
        Assert.Equal(main, ModelLocation.Resolve("Qwen/Qwen2.5-0.5B", _cache));
        Assert.Equal(main, ModelLocation.Resolve("Qwen/Qwen2.5-0.5B@main", _cache));
        Assert.Equal(old, ModelLocation.Resolve("Qwen/Qwen2.5-0.5B@ffee00", _cache));
    }

    [Fact]
    public void Existing_paths_and_non_ids_are_returned_unchanged()
    {
        Assert.Equal(_cache, ModelLocation.Resolve(_cache, _cache));
        Assert.Equal("./runs/model", ModelLocation.Resolve("./runs/model", _cache));
        Assert.Equal("runs/sft/model", ModelLocation.Resolve("runs/sft/model", _cache));
        Assert.Equal("/abs/x", ModelLocation.Resolve("/abs/x", _cache));
    }

    [Fact]
    public void A_missing_repo_says_where_it_looked_and_how_to_download()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => ModelLocation.Resolve("Org/Missing", _cache));
        Assert.Contains(_cache, e.Message);
        Assert.Contains("models--Org--Missing", e.Message);
        Assert.Contains("huggingface-cli download Org/Missing", e.Message);
    }

    [Fact]
    public void A_missing_revision_lists_the_snapshots_there_are()
    {
        Snapshot("Org/Model", "c0ffee", "main");
        var e = Assert.Throws<DirectoryNotFoundException>(() => ModelLocation.Resolve("Org/Model@v2", _cache));
        Assert.Contains("'v2'", e.Message);
        Assert.Contains("c0ffee", e.Message);
        Assert.Contains("--revision v2", e.Message);
    }
}
