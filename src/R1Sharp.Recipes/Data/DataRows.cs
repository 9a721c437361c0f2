using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parquet.Serialization;
using R1Sharp.Rewards.Tasks;

namespace R1Sharp.Recipes.Data;

/// <summary>
/// Rows of a training data file as JSON objects: JSONL (one object per line; blank lines skipped) or Parquet
/// (Parquet.Net's untyped reader, DESIGN §7; nested lists and structs become JSON arrays and objects). Each row comes
/// with its 1-based line (JSONL) or row number (Parquet), so errors can name file, line and field.
/// </summary>
public static class DataRows
{
    public static IEnumerable<(long Line, JsonObject Row)> Read(string path, CancellationToken ct = default)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: data file not found", path);
        return path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? ReadParquet(path, ct) : ReadJsonl(path, ct);
    }

    static IEnumerable<(long, JsonObject)> ReadJsonl(string path, CancellationToken ct)
    {
        long line = 0;
        foreach (var text in File.ReadLines(path))
        {
            ct.ThrowIfCancellationRequested();
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(text); }
            catch (JsonException e) { throw new DatasetFormatException(path, line, null, $"invalid JSON ({e.Message})", e); }
            if (node is not JsonObject row)
                throw new DatasetFormatException(path, line, null, $"expected a JSON object, got {node?.GetValueKind().ToString() ?? "null"}");
            yield return (line, row);
        }
    }

    static IEnumerable<(long, JsonObject)> ReadParquet(string path, CancellationToken ct)
    {
        IList<Dictionary<string, object>> rows;
        try
        {
            using var stream = File.OpenRead(path);
            rows = ParquetSerializer.DeserializeUntypedAsync(stream, cancellationToken: ct).GetAwaiter().GetResult().Data;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new DatasetFormatException(path, 0, null, $"cannot read Parquet ({e.Message})", e);
        }
        for (int i = 0; i < rows.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var row = new JsonObject();
            foreach (var (key, value) in rows[i]) row[key] = JsonNode.Parse(JsonSerializer.Serialize(ToPlain(value))); // JSON-backed, as JSONL rows
            yield return (i + 1, row);
        }
    }

    static object? ToPlain(object? value) => value switch
    {
        null => null,
        string s => s,
        ReadOnlyMemory<char> m => m.ToString(),
        IDictionary d => d.Keys.Cast<object>().ToDictionary(k => Convert.ToString(k, CultureInfo.InvariantCulture)!, k => ToPlain(d[k])),
        IEnumerable items => items.Cast<object?>().Select(ToPlain).ToList(),
        bool or IFormattable => value,
        _ => value.ToString(),
    };

    /// <summary>A required string field.</summary>
    public static string String(JsonObject row, string field, string file, long line)
    {
        var node = row[field] ?? throw new DatasetFormatException(file, line, field, $"missing (fields present: {string.Join(", ", row.Select(kv => kv.Key))})");
        return node.GetValueKind() == JsonValueKind.String
            ? node.GetValue<string>()
            : throw new DatasetFormatException(file, line, field, $"expected a string, got {node.GetValueKind()}");
    }

    /// <summary>An optional number field (null when absent or JSON null).</summary>
    public static double? Number(JsonObject row, string field, string file, long line)
    {
        var node = row[field];
        if (node is null) return null;
        if (node.GetValueKind() != JsonValueKind.Number) throw new DatasetFormatException(file, line, field, $"expected a number, got {node.GetValueKind()}");
        double value = node.GetValue<double>();
        return double.IsFinite(value) ? value : throw new DatasetFormatException(file, line, field, $"not a finite number: {value}");
    }
}
