namespace R1Sharp.Data;

/// <summary>A malformed row of a data file: names the file, the line (JSONL) or row (JSON array, Parquet), and the field.</summary>
public sealed class DatasetFormatException(string file, long line, string? field, string problem, Exception? inner = null)
    : Exception($"{file}:{line}{(field is null ? "" : $": field '{field}'")}: {problem}", inner)
{
    /// <summary>The file.</summary>
    public string File { get; } = file;
    /// <summary>The 1-based line (JSONL) or row (JSON array, Parquet); 0 for the file as a whole.</summary>
    public long Line { get; } = line;
    /// <summary>The field at fault, or null for the whole row.</summary>
    public string? Field { get; } = field;
    /// <summary>What is wrong.</summary>
    public string Problem { get; } = problem;
}
