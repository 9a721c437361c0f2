using System.Text.RegularExpressions;

namespace R1Sharp.Data;

/// <summary>
/// Where a model named on the command line or in a config lives: a folder as it is, or a Hugging Face Hub id
/// (<c>Qwen/Qwen2.5-0.5B</c>, <c>Qwen/Qwen2.5-0.5B@main</c>, <c>…@&lt;commit&gt;</c>) looked up in the local Hugging Face cache
/// (<c>$HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else <c>~/.cache/huggingface/hub</c>: <c>models--Org--Name/snapshots/&lt;rev&gt;</c>,
/// the revision read from <c>refs/</c>). R1Sharp reads the cache; it does not download.
/// </summary>
public static partial class ModelLocation
{
    /// <summary>The folder <paramref name="nameOrPath"/> names; a path that exists, or is not a Hub id, is returned unchanged.</summary>
    /// <param name="nameOrPath">A folder, a file, or a Hub id.</param>
    /// <param name="cache">The Hub cache to look in; <see cref="CacheFolder"/> when null.</param>
    /// <exception cref="DirectoryNotFoundException">A Hub id that is not in the cache: the message says where it looked and how to get it.</exception>
    public static string Resolve(string nameOrPath, string? cache = null)
    {
        if (Directory.Exists(nameOrPath) || File.Exists(nameOrPath)) return nameOrPath;
        var m = HubId().Match(nameOrPath);
        if (!m.Success) return nameOrPath;
        string repo = m.Groups["repo"].Value, revision = m.Groups["rev"].Success ? m.Groups["rev"].Value : "main";
        cache ??= CacheFolder();
        string folder = Path.Combine(cache, "models--" + repo.Replace("/", "--", StringComparison.Ordinal));
        string snapshots = Path.Combine(folder, "snapshots");
        string get = $"`huggingface-cli download {repo}{(m.Groups["rev"].Success ? $" --revision {revision}" : "")}`";
        if (!Directory.Exists(snapshots))
            throw new DirectoryNotFoundException(
                $"'{nameOrPath}' is not a folder, and the Hugging Face cache {cache} has no {Path.GetFileName(folder)}; download it with {get} " +
                "(R1Sharp reads the cache, it does not download), or give the model's folder.");
        string refFile = Path.Combine(folder, "refs", revision);
        string commit = File.Exists(refFile) ? File.ReadAllText(refFile).Trim() : revision;
        string snapshot = Path.Combine(snapshots, commit);
        if (Directory.Exists(snapshot)) return snapshot;
        var available = Directory.GetDirectories(snapshots).Select(Path.GetFileName).ToList();
        throw new DirectoryNotFoundException(
            $"'{nameOrPath}': the Hugging Face cache has {repo} but not revision '{revision}' (snapshots: " +
            $"{(available.Count == 0 ? "none" : string.Join(", ", available))}); download it with {get}.");
    }

    /// <summary>The Hub cache folder the environment names, as huggingface_hub finds it.</summary>
    public static string CacheFolder() =>
        Environment.GetEnvironmentVariable("HF_HUB_CACHE") is { Length: > 0 } hub ? hub
        : Environment.GetEnvironmentVariable("HF_HOME") is { Length: > 0 } home ? Path.Combine(home, "hub")
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "huggingface", "hub");

    /// <summary><c>Org/Name</c> with an optional <c>@revision</c>; no leading <c>.</c>, <c>/</c> or <c>~</c> (those are paths).</summary>
    [GeneratedRegex(@"^(?<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?<rev>[\w./-]+))?$")]
    private static partial Regex HubId();
}
