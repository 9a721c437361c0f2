using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;
using R1Sharp.Data;

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

    /// <param name="Unindexed">Null when every byte of the data belongs to a tensor, else what does not (the error
    /// <see cref="RequireIndexed"/> throws). Readers check it after the tensor names, so that a tensor dropped from a header
    /// is named as missing rather than reported as the bytes it left.</param>
    public sealed record Header(string Path, IReadOnlyList<Entry> Entries, long DataStart, IReadOnlyDictionary<string, string> Metadata,
        string? Unindexed = null);

    /// <summary>
    /// Refuses data bytes that belong to no tensor: the format forbids gaps between tensors and bytes after the last (so
    /// that no other content hides in the file), and its reference reader, which transformers uses, refuses them.
    /// </summary>
    public static void RequireIndexed(Header header)
    {
        if (header.Unindexed is { } problem) throw new InvalidDataException(problem);
    }

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

    /// <summary>
    /// Reads and validates the header: the length prefix against the file size, the JSON (UTF-8, an object, no repeated
    /// tensor name), every entry's dtype, shape and data_offsets (integers, in order, inside the file, exactly
    /// shape × dtype bytes), and no two tensors sharing bytes; bytes outside every tensor are left to <see cref="RequireIndexed"/>. Throws <see cref="InvalidDataException"/> naming the file,
    /// the tensor and the field, and what was expected.
    /// </summary>
    public static Header ReadHeader(string path)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: is a folder, expected a safetensors file");
        JsonInput.RequireLinkTarget(path);
        using var file = File.OpenRead(path);
        long fileLength = file.Length;
        if (fileLength < 8)
            throw new InvalidDataException($"{path}: truncated safetensors file ({fileLength} bytes; expected an 8-byte header length, then the header)");
        Span<byte> lengthBytes = stackalloc byte[8];
        file.ReadExactly(lengthBytes);
        ulong declared = BitConverter.ToUInt64(lengthBytes);
        if (declared == 0 || declared > (ulong)MaxHeaderBytes)
            throw new InvalidDataException(
                $"{path}: malformed safetensors header length {declared} (the first 8 bytes, little-endian; expected 1 to {MaxHeaderBytes} bytes)");
        long n = (long)declared;
        if (8 + n > fileLength)
            throw new InvalidDataException($"{path}: truncated safetensors file (the header length says {n} bytes of header, but only {fileLength - 8} bytes follow)");
        var headerBytes = new byte[n];
        file.ReadExactly(headerBytes);
        if (headerBytes.AsSpan().TrimStart((byte)' ') is not [(byte)'{', ..])
            throw new InvalidDataException($"{path}: malformed safetensors header (expected a JSON object starting with '{{' after the 8-byte length)");

        JsonObject json;
        try { json = JsonInput.ParseObject(headerBytes, path, "safetensors header"); }
        catch (InvalidDataException e)
        {
            string problem = e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message;
            throw new InvalidDataException($"{path}: malformed safetensors header: {problem}", e);
        }

        long dataStart = 8 + n, dataLength = fileLength - dataStart;
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in json)
        {
            if (name == "__metadata__")
            {
                if (node is null) continue;
                if (node is not JsonObject meta)
                    throw new InvalidDataException($"{path}: header field '__metadata__': expected an object of strings, got {JsonInput.Kind(node)}");
                foreach (var (k, v) in meta)
                    metadata[k] = JsonInput.TryString(v, out var text)
                        ? text
                        : throw new InvalidDataException($"{path}: header field '__metadata__.{k}': expected a string, got {JsonInput.Kind(v)}");
                continue;
            }
            entries.Add(ParseEntry(path, name, node, dataLength));
        }
        // Tensors must not overlap; bytes outside every tensor are recorded for RequireIndexed.
        var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Begin < sorted[i - 1].End)
                throw new InvalidDataException(
                    $"{path}: tensors '{sorted[i - 1].Name}' (bytes {sorted[i - 1].Begin}-{sorted[i - 1].End}) and '{sorted[i].Name}' " +
                    $"(bytes {sorted[i].Begin}-{sorted[i].End}) overlap; every tensor needs its own data_offsets");
        string? unindexed = null;
        long covered = 0;
        foreach (var e in sorted)
        {
            if (e.Begin > covered)
            {
                unindexed = $"{path}: bytes {covered}-{e.Begin} of the data belong to no tensor (the gap before '{e.Name}'); a safetensors file has no gaps between tensors";
                break;
            }
            covered = e.End;
        }
        if (unindexed is null && covered != dataLength)
            unindexed = $"{path}: {dataLength - covered} bytes after the last tensor (the tensors end at byte {covered} of {dataLength} bytes of data); " +
                        "a safetensors file ends with its last tensor (bytes appended, or a tensor missing from the header?)";
        return new Header(path, entries, dataStart, metadata, unindexed);
    }

    static Entry ParseEntry(string path, string name, JsonNode? node, long dataLength)
    {
        string where = $"{path}: tensor '{name}'";
        InvalidDataException Bad(string field, string expected, JsonNode? got) =>
            new($"{where}: field '{field}': expected {expected}, got {JsonInput.Kind(got)}");

        if (node is not JsonObject o) throw new InvalidDataException($"{where}: expected an object {{dtype, shape, data_offsets}}, got {JsonInput.Kind(node)}");
        if (!JsonInput.TryString(o["dtype"], out var dtypeName))
            throw Bad("dtype", $"one of {string.Join(", ", DTypes.Keys)}", o["dtype"]);
        if (!DTypes.TryGetValue(dtypeName, out var dtype))
            throw new InvalidDataException($"{where}: field 'dtype': unsupported dtype '{dtypeName}' (expected one of {string.Join(", ", DTypes.Keys)})");

        if (o["shape"] is not JsonArray shapeList) throw Bad("shape", "a list of dimensions such as [320, 64]", o["shape"]);
        var shape = new long[shapeList.Count];
        for (int i = 0; i < shape.Length; i++)
            if (!JsonInput.TryInteger(shapeList[i], out shape[i]) || shape[i] < 0)
                throw Bad($"shape[{i}]", "a dimension (an integer ≥ 0)", shapeList[i]);
        long expected;
        try { expected = checked(shape.Aggregate(1L, (a, d) => a * d) * ElementSize(dtype)); }
        catch (OverflowException) { throw new InvalidDataException($"{where}: field 'shape': [{string.Join(", ", shape)}] is too large (its byte size overflows)"); }

        if (o["data_offsets"] is not JsonArray { Count: 2 } offsets) throw Bad("data_offsets", "[begin, end] (two byte offsets)", o["data_offsets"]);
        if (!JsonInput.TryInteger(offsets[0], out long begin) || begin < 0) throw Bad("data_offsets[0]", "a byte offset (an integer ≥ 0)", offsets[0]);
        if (!JsonInput.TryInteger(offsets[1], out long end) || end < 0) throw Bad("data_offsets[1]", "a byte offset (an integer ≥ 0)", offsets[1]);
        if (end < begin) throw new InvalidDataException($"{where}: field 'data_offsets': [{begin}, {end}] ends before it begins");
        if (end - begin != expected)
            throw new InvalidDataException(
                $"{where}: field 'data_offsets': [{begin}, {end}] holds {end - begin} bytes, but shape [{string.Join(", ", shape)}] {dtypeName} needs {expected}");
        if (end > dataLength)
            throw new InvalidDataException($"{where}: field 'data_offsets': data ends at byte {end} but the file holds {dataLength} bytes of data (truncated file?)");
        return new Entry(name, dtype, shape, begin, end);
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
        AtomicFile.WriteBytes(path, file =>
        {
            file.Write(BitConverter.GetBytes((long)padded));
            file.Write(headerBytes);
            for (int i = headerBytes.Length; i < padded; i++) file.WriteByte((byte)' ');
            foreach (var c in cpu)
            {
                file.Write(c.bytes);
                c.Dispose();
            }
        });
    }
}
