using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using R1Sharp.Data;

namespace R1Sharp.Training.Logging;

/// <summary>
/// <c>metrics.jsonl</c>: one JSON object per logged step, <c>{"step": 12, "wall_time": 1732812345.12, "loss": 0.53, …}</c>
/// (wall time in seconds since the Unix epoch; a metric that is NaN or infinite is written as null, which JSON can
/// hold and pandas reads as NaN). Lines are appended and flushed one step at a time, so a crash loses at most the
/// step being written; <see cref="TruncateAfter"/> cuts the file back to a checkpoint when a run resumes.
/// </summary>
public sealed class MetricsJsonl : IDisposable
{
    /// <summary>Keys every line has before its metrics.</summary>
    public static IReadOnlyList<string> ReservedKeys { get; } = ["step", "wall_time"];

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly FileStream _file;

    /// <summary>Opens <paramref name="path"/> for appending (created if missing).</summary>
    public MetricsJsonl(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Appends the line of one step and flushes it to the operating system.</summary>
    public void Append(long step, double wallTime, IEnumerable<KeyValuePair<string, double>> metrics)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteNumber("step", step);
            w.WriteNumber("wall_time", Math.Round(wallTime, 6));
            foreach (var (key, value) in metrics)
            {
                if (double.IsFinite(value)) w.WriteNumber(key, value);
                else w.WriteNull(key);
            }
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        buffer.Position = 0;
        buffer.CopyTo(_file);
        _file.Flush();
    }

    /// <summary>
    /// Keeps the lines of <paramref name="path"/> up to and including step <paramref name="lastStep"/> (the last
    /// checkpointed step) and drops the rest, which a resumed run will log again. A torn last line (the process died
    /// while writing it) is dropped too. The file is rewritten whole (<see cref="AtomicFile"/>).
    /// </summary>
    /// <returns>How many lines were kept; 0 when the file does not exist.</returns>
    /// <exception cref="InvalidDataException">A line other than the last is not a JSON object with a "step".</exception>
    public static int TruncateAfter(string path, long lastStep)
    {
        if (!File.Exists(path)) return 0;
        var lines = File.ReadAllLines(path, Encoding.UTF8);
        var kept = new List<string>(lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            long? step = StepOf(lines[i]);
            if (step is null)
            {
                if (i == lines.Length - 1) break;   // torn tail
                throw new InvalidDataException($"{path}:{i + 1}: not a JSON object with a numeric \"step\"");
            }
            if (step > lastStep) break;
            kept.Add(lines[i]);
        }
        AtomicFile.Write(path, w =>
        {
            foreach (var line in kept) w.WriteLine(line);
        });
        return kept.Count;
    }

    private static long? StepOf(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                   && doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt64(out long step) ? step : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
