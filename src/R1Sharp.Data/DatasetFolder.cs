using System.Text.RegularExpressions;

namespace R1Sharp.Data;

/// <summary>
/// A dataset folder as the Hugging Face Hub lays it out (a <c>git clone</c> of a dataset repo, a snapshot in the HF cache, or
/// <c>datasets.DatasetDict.save_to_disk</c>-free exports such as <c>data/train-00000-of-00003.parquet</c>), read split by split.
/// Named <c>folder</c> (the <c>train</c> split, or the only split there is) or <c>folder:split</c>.
/// <para>A file's split is, as the Hub infers it: the name before <c>-NNNNN-of-NNNNN</c> (any split name), else a keyword in
/// the file's name or a folder above it, separated by <c>-</c>, <c>_</c>, <c>.</c>, a space or a digit — <c>train</c>/<c>training</c>,
/// <c>validation</c>/<c>valid</c>/<c>val</c>/<c>dev</c>, <c>test</c>/<c>testing</c>/<c>eval</c>/<c>evaluation</c>. When no file names
/// a split, every file is <c>train</c>; when some do, the others are left out. Data files are those <see cref="DataRows"/> reads
/// (<c>.jsonl</c>, <c>.ndjson</c>, <c>.json</c>, <c>.parquet</c>, each optionally <c>.gz</c>) but the metadata files of the Hub and of
/// <c>datasets</c> (<c>dataset_info.json</c>, <c>dataset_infos.json</c>, <c>dataset_dict.json</c>, <c>state.json</c>); a folder of Arrow
/// files (<c>save_to_disk</c>) is refused by name; hidden folders are skipped; a
/// split's files are read in name order (so shards come in order).</para>
/// </summary>
public static partial class DatasetFolder
{
    static readonly string[] DataExtensions = [".jsonl", ".ndjson", ".json", ".parquet"];

    /// <summary>JSON files of the Hub and of <c>datasets</c> that describe a dataset and hold none of its rows.</summary>
    static readonly HashSet<string> MetadataFiles = new(StringComparer.OrdinalIgnoreCase)
    {
        "dataset_info.json", "dataset_infos.json", "dataset_dict.json", "state.json",
    };

    static readonly Dictionary<string, string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["train"] = "train", ["training"] = "train",
        ["validation"] = "validation", ["valid"] = "validation", ["val"] = "validation", ["dev"] = "validation",
        ["test"] = "test", ["testing"] = "test", ["eval"] = "test", ["evaluation"] = "test",
    };

    /// <summary>Whether <paramref name="path"/> names a dataset folder (<c>folder</c> or <c>folder:split</c>), and which.</summary>
    public static bool TryParse(string path, out string folder, out string? split)
    {
        (folder, split) = (path, null);
        if (Directory.Exists(path)) return true;
        int colon = path.LastIndexOf(':');
        if (colon <= 0 || colon == path.Length - 1 || !Directory.Exists(path[..colon])) return false;
        (folder, split) = (path[..colon], path[(colon + 1)..]);
        return true;
    }

    /// <summary>Every split of <paramref name="folder"/> with its files, in name order.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Splits(string folder)
    {
        var files = DataFiles(folder).Order(StringComparer.Ordinal).ToList();
        var named = files.Select(f => (File: f, Split: SplitOf(Path.GetRelativePath(folder, f)))).ToList();
        if (named.All(n => n.Split is null)) named = [.. files.Select(f => (f, (string?)"train"))];
        return named.Where(n => n.Split is not null)
            .GroupBy(n => n.Split!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(n => n.File)], StringComparer.Ordinal);
    }

    /// <summary>The files of <paramref name="split"/> (null: <c>train</c>, or the only split).</summary>
    /// <exception cref="DatasetFormatException">No data files, or no such split: the message lists the splits there are.</exception>
    public static IReadOnlyList<string> Files(string folder, string? split)
    {
        var splits = Splits(folder);
        if (splits.Count == 0 && Directory.EnumerateFiles(folder, "*.arrow", SearchOption.AllDirectories).Any())
            throw new DatasetFormatException(folder, 0, null, "a folder of Arrow files, as datasets' save_to_disk writes it, which r1sharp does not read; " +
                                                              "write the dataset with to_json or to_parquet instead");
        if (splits.Count == 0)
            throw new DatasetFormatException(folder, 0, null, $"a folder with no data files ({string.Join(", ", DataExtensions)}, optionally .gz)");
        string list = string.Join(", ", splits.Keys.Order(StringComparer.Ordinal));
        if (split is null)
        {
            if (splits.TryGetValue("train", out var train)) return train;
            if (splits.Count == 1) return splits.Single().Value;
            throw new DatasetFormatException(folder, 0, null, $"has several splits ({list}) and none is train; name one as {folder}:<split>");
        }
        if (splits.TryGetValue(split, out var files)) return files;
        if (Keywords.TryGetValue(split, out var canonical) && splits.TryGetValue(canonical, out files)) return files;
        throw new DatasetFormatException(folder, 0, null, $"has no split '{split}' (splits: {list})");
    }

    static IEnumerable<string> DataFiles(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            string name = Path.GetFileName(file);
            string inner = name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? name[..^3] : name;
            if (!name.StartsWith('.') && !MetadataFiles.Contains(name) && DataExtensions.Any(e => inner.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
                yield return file;
        }
        foreach (var sub in Directory.EnumerateDirectories(folder))
            if (!Path.GetFileName(sub).StartsWith('.'))
                foreach (var file in DataFiles(sub)) yield return file;
    }

    static string? SplitOf(string relative)
    {
        string name = Path.GetFileName(relative);
        if (Shard().Match(name) is { Success: true } shard) return shard.Groups["split"].Value;
        var parts = relative.Split(Path.DirectorySeparatorChar);
        int dot = name.IndexOf('.', StringComparison.Ordinal);
        parts[^1] = dot > 0 ? name[..dot] : name;
        foreach (var part in parts.Reverse())
            foreach (var word in Separators().Split(part))
                if (Keywords.TryGetValue(word, out var split)) return split;
        return null;
    }

    /// <summary><c>train-00000-of-00003.parquet</c>: the Hub's shard names.</summary>
    [GeneratedRegex(@"^(?<split>[\w]+?)-\d{5}-of-\d{5}\.")]
    private static partial Regex Shard();

    [GeneratedRegex(@"[-._ 0-9]+")]
    private static partial Regex Separators();
}
