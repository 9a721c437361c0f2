using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace R1Sharp.Model;

/// <summary>
/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of
/// JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the raw
/// little-endian data, offsets relative to the end of the header. Every field is validated before a
/// byte of data is read, and errors name the file and the tensor.
/// </summary>
public static class SafeTensors
{
    public sealed record Entry(string Name, ScalarType DType, long[] Shape, long Begin, long End)
    {
        public long Length => End - Begin;
    }

    public sealed record Header(string Path, IReadOnlyList<Entry> Entries, long DataStart, IReadOnlyDictionary<string, string> Metadata);

    const long MaxHeaderBytes = 100L << 20;

    static readonly Dictionary<string, ScalarType> DTypes = new()
    {
        ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16, ["BF16"] = ScalarType.BFloat16, ["F64"] = ScalarType.Float64,
        ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32, ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    public static string DTypeName(ScalarType t) => DTypes.First(kv => kv.Value == t).Key;

    public static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// <summary>Reads and validates the header; throws <see cref="InvalidDataException"/> naming file and tensor.</summary>
    public static Header ReadHeader(string path)
    {
        using var file = File.OpenRead(path);
        long fileLength = file.Length;
        if (fileLength < 8) throw new InvalidDataException($"{path}: truncated safetensors file ({fileLength} bytes, no header)");
        Span<byte> lengthBytes = stackalloc byte[8];
        file.ReadExactly(lengthBytes);
        long n = BitConverter.ToInt64(lengthBytes);
        if (n <= 0 || n > MaxHeaderBytes) throw new InvalidDataException($"{path}: malformed safetensors header length {n}");
        if (8 + n > fileLength) throw new InvalidDataException($"{path}: truncated safetensors file (header of {n} bytes, file of {fileLength})");
        var headerBytes = new byte[n];
        file.ReadExactly(headerBytes);

        JsonObject json;
        try { json = JsonNode.Parse(headerBytes)?.AsObject() ?? throw new FormatException("header is not a JSON object"); }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: malformed safetensors header ({e.Message})", e);
        }

        long dataStart = 8 + n, dataLength = fileLength - dataStart;
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in json)
        {
            if (name == "__metadata__")
            {
                if (node is JsonObject meta)
                    foreach (var (k, v) in meta) metadata[k] = v?.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v?.ToJsonString() ?? "";
                continue;
            }
            entries.Add(ParseEntry(path, name, node, dataLength));
        }
        // Tensors must not overlap (the format also forbids holes, but readers need not care).
        var sorted = entries.OrderBy(e => e.Begin).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Begin < sorted[i - 1].End)
                throw new InvalidDataException($"{path}: tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap");
        return new Header(path, entries, dataStart, metadata);
    }

    static Entry ParseEntry(string path, string name, JsonNode? node, long dataLength)
    {
        string where = $"{path}: tensor '{name}'";
        try
        {
            if (node is not JsonObject o) throw new InvalidDataException($"{where}: entry is not an object");
            string dtypeName = o["dtype"]?.GetValue<string>() ?? throw new InvalidDataException($"{where}: no dtype");
            if (!DTypes.TryGetValue(dtypeName, out var dtype)) throw new InvalidDataException($"{where}: unsupported dtype '{dtypeName}'");
            var shape = (o["shape"] as JsonArray ?? throw new InvalidDataException($"{where}: no shape")).Select(d => d!.GetValue<long>()).ToArray();
            if (shape.Any(d => d < 0)) throw new InvalidDataException($"{where}: negative dimension in shape [{string.Join(", ", shape)}]");
            var offsets = o["data_offsets"] as JsonArray;
            if (offsets is not { Count: 2 }) throw new InvalidDataException($"{where}: data_offsets must be [begin, end]");
            long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
            long expected = shape.Aggregate(1L, (a, d) => checked(a * d)) * ElementSize(dtype);
            if (begin < 0 || end < begin) throw new InvalidDataException($"{where}: invalid data_offsets [{begin}, {end}]");
            if (end - begin != expected)
                throw new InvalidDataException($"{where}: {end - begin} bytes of data for shape [{string.Join(", ", shape)}] {dtypeName} (expected {expected})");
            if (end > dataLength)
                throw new InvalidDataException($"{where}: data ends at byte {end} but the file holds {dataLength} bytes of data (truncated file?)");
            return new Entry(name, dtype, shape, begin, end);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or OverflowException)
        {
            throw new InvalidDataException($"{where}: malformed entry ({e.Message})", e);
        }
    }

    /// <summary>Reads one tensor's bytes straight into a new CPU tensor.</summary>
    public static Tensor Read(Header header, Entry entry, FileStream file)
    {
        var t = empty(entry.Shape, dtype: entry.DType);
        file.Seek(header.DataStart + entry.Begin, SeekOrigin.Begin);
        var destination = t.bytes;
        // Span lengths are int: read large tensors in slices.
        const int slice = 1 << 30;
        for (long done = 0; done < entry.Length; done += slice)
            file.ReadExactly(destination.Slice((int)done, (int)Math.Min(slice, entry.Length - done)));
        return t;
    }

    /// <summary>
    /// Writes tensors to <paramref name="path"/> atomically (a temporary file renamed into place), data
    /// 8-byte aligned, names in the given order.
    /// </summary>
    public static void Save(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        var meta = new JsonObject { ["format"] = "pt" };
        if (metadata is not null) foreach (var (k, v) in metadata) meta[k] = v;
        header["__metadata__"] = meta;
        long offset = 0;
        var cpu = new List<Tensor>();
        foreach (var (name, t) in tensors)
        {
            var c = t.detach().cpu().contiguous();
            cpu.Add(c);
            long length = c.numel() * ElementSize(c.dtype);
            header[name] = new JsonObject
            {
                ["dtype"] = DTypeName(c.dtype),
                ["shape"] = new JsonArray(c.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + length),
            };
            offset += length;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (headerBytes.Length + 7) / 8 * 8;  // pad with spaces so data starts 8-byte aligned
        var tmp = path + ".tmp";
        using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            file.Write(BitConverter.GetBytes((long)padded));
            file.Write(headerBytes);
            for (int i = headerBytes.Length; i < padded; i++) file.WriteByte((byte)' ');
            foreach (var c in cpu)
            {
                file.Write(c.bytes);
                c.Dispose();
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
    }
}
