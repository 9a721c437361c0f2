using System.Globalization;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Apache.Arrow;
using Apache.Arrow.Types;
using ParquetSharp.Arrow;

namespace R1Sharp.Data;

/// <summary>
/// Parquet files as JSON rows, through Apache Arrow's C++ Parquet implementation (ParquetSharp) — the library pyarrow, and so
/// 🤗 datasets and the Hub, write with; it reads every encoding and page version the format has (data page v1 and v2,
/// dictionary, nested lists and structs at any depth). Arrow values become JSON: strings (also large and view strings),
/// numbers, booleans; lists (also large, fixed-size) become arrays; structs objects; maps objects keyed by the key's
/// text; dictionary-encoded columns their values; binary base64; dates, times and timestamps ISO 8601 text; decimals
/// numbers. Rows stream batch by batch.
/// </summary>
public static class ParquetFile
{
    /// <summary>The rows of <paramref name="path"/> (<c>.parquet</c> or <c>.parquet.gz</c>), numbered from 1.</summary>
    public static IEnumerable<DataRow> Read(string path, CancellationToken ct = default)
    {
        Stream stream = File.OpenRead(path);
        try
        {
            if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) stream = Decompress(stream, path);
            FileReader reader;
            try { reader = new FileReader(stream, leaveOpen: true); }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new DatasetFormatException(path, 0, null, $"cannot read Parquet ({e.Message})", e);
            }
            using (reader)
            using (var batches = reader.GetRecordBatchReader())
            {
                long line = 0;
                while (Next(batches, path, line, ct) is { } batch)
                    using (batch)
                    {
                        var names = Enumerable.Range(0, batch.ColumnCount).Select(c => batch.Schema.GetFieldByIndex(c).Name).ToArray();
                        for (int i = 0; i < batch.Length; i++)
                        {
                            ct.ThrowIfCancellationRequested();
                            var row = new JsonObject();
                            for (int c = 0; c < names.Length; c++)
                                if (!row.TryAdd(names[c], Value(batch.Column(c), i)))
                                    throw new DatasetFormatException(path, line + i + 1, names[c], "duplicate column name");
                            yield return new DataRow(path, line + i + 1, row);
                        }
                        line += batch.Length;
                    }
            }
        }
        finally { stream.Dispose(); }
    }

    static RecordBatch? Next(Apache.Arrow.Ipc.IArrowArrayStream batches, string path, long line, CancellationToken ct)
    {
        try { return batches.ReadNextRecordBatchAsync(ct).AsTask().GetAwaiter().GetResult(); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new DatasetFormatException(path, line + 1, null, $"cannot read Parquet ({e.Message})", e);
        }
    }

    static MemoryStream Decompress(Stream file, string path)
    {
        var memory = new MemoryStream();
        try
        {
            using (var gzip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true)) gzip.CopyTo(memory);
        }
        catch (InvalidDataException e) { throw new DatasetFormatException(path, 0, null, $"cannot decompress ({e.Message})", e); }
        finally { file.Dispose(); }
        memory.Position = 0;
        return memory;
    }

    /// <summary>One Arrow value as JSON (null for a null slot).</summary>
    static JsonNode? Value(IArrowArray array, int i)
    {
        if (array.IsNull(i)) return null;
        switch (array)
        {
            case StringArray a: return a.GetString(i);
            case LargeStringArray a: return a.GetString(i);
            case StringViewArray a: return a.GetString(i);
            case BinaryArray a: return Convert.ToBase64String(a.GetBytes(i));
            case LargeBinaryArray a: return Convert.ToBase64String(a.GetBytes(i));
            case BinaryViewArray a: return Convert.ToBase64String(a.GetBytes(i));
            case BooleanArray a: return a.GetValue(i);
            case Int8Array a: return Number(a.GetValue(i)!.Value);
            case Int16Array a: return Number(a.GetValue(i)!.Value);
            case Int32Array a: return Number(a.GetValue(i)!.Value);
            case Int64Array a: return Number(a.GetValue(i)!.Value);
            case UInt8Array a: return Number(a.GetValue(i)!.Value);
            case UInt16Array a: return Number(a.GetValue(i)!.Value);
            case UInt32Array a: return Number(a.GetValue(i)!.Value);
            case UInt64Array a: return Number(a.GetValue(i)!.Value);
            case HalfFloatArray a: return Number((double)a.GetValue(i)!.Value);
            case FloatArray a: return Number(a.GetValue(i)!.Value);
            case DoubleArray a: return Number(a.GetValue(i)!.Value);
            case Decimal128Array a: return JsonNode.Parse(a.GetString(i)!);
            case Decimal256Array a: return JsonNode.Parse(a.GetString(i)!);
            case Date32Array a: return a.GetDateOnly(i)!.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            case Date64Array a: return a.GetDateOnly(i)!.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            case TimestampArray a: return a.GetTimestamp(i)!.Value.ToString("O", CultureInfo.InvariantCulture);
            case Time32Array a: return a.GetTime(i)!.Value.ToString("O", CultureInfo.InvariantCulture);
            case Time64Array a: return a.GetTime(i)!.Value.ToString("O", CultureInfo.InvariantCulture);
            case MapArray a:
                {
                    var map = new JsonObject();
                    for (int k = a.ValueOffsets[i]; k < a.ValueOffsets[i + 1]; k++)
                        map[Value(a.Keys, k)?.ToString() ?? "null"] = Value(a.Values, k);
                    return map;
                }
            case ListArray a: return Items(a.Values, a.ValueOffsets[i], a.ValueOffsets[i + 1]);
            case LargeListArray a: return Items(a.Values, checked((int)a.ValueOffsets[i]), checked((int)a.ValueOffsets[i + 1]));
            case FixedSizeListArray a:
                {
                    int size = ((FixedSizeListType)a.Data.DataType).ListSize;
                    return Items(a.Values, (a.Offset + i) * size, (a.Offset + i + 1) * size);
                }
            case StructArray a:
                {
                    var fields = ((StructType)a.Data.DataType).Fields;
                    var item = new JsonObject();
                    for (int f = 0; f < fields.Count; f++) item[fields[f].Name] = Value(a.Fields[f], i);
                    return item;
                }
            case DictionaryArray a: return Value(a.Dictionary, DictionaryIndex(a.Indices, i));
            case NullArray: return null;
            default: throw new NotSupportedException($"Arrow type {array.Data.DataType.Name} has no JSON form here");
        }
    }

    /// <summary>A number as JSON text would give it (so readers convert it to any numeric type, as for JSON lines); NaN and infinities become null.</summary>
    static JsonNode? Number<T>(T value) where T : IFormattable =>
        value is double d && !double.IsFinite(d) || value is float f && !float.IsFinite(f) ? null
        : JsonNode.Parse(value.ToString(value is double or float ? "R" : null, CultureInfo.InvariantCulture));

    static JsonArray Items(IArrowArray values, int from, int to)
    {
        var items = new JsonArray();
        for (int k = from; k < to; k++) items.Add(Value(values, k));
        return items;
    }

    static int DictionaryIndex(IArrowArray indices, int i) => indices switch
    {
        Int8Array x => x.GetValue(i)!.Value,
        Int16Array x => x.GetValue(i)!.Value,
        Int32Array x => x.GetValue(i)!.Value,
        Int64Array x => checked((int)x.GetValue(i)!.Value),
        UInt8Array x => x.GetValue(i)!.Value,
        UInt16Array x => x.GetValue(i)!.Value,
        UInt32Array x => checked((int)x.GetValue(i)!.Value),
        _ => throw new NotSupportedException($"dictionary index type {indices.Data.DataType.Name}"),
    };

    /// <summary>
    /// Writes <paramref name="rows"/> (JSON objects) as one Parquet file with <paramref name="schema"/>, whole or not at all
    /// (<see cref="AtomicFile"/>). Supported column types: string, int32, int64, double, bool, and structs and lists of them;
    /// a field a row lacks, or holds null, is a null slot (the field must be nullable).
    /// </summary>
    public static void Write(string path, Schema schema, IReadOnlyList<JsonObject> rows)
    {
        var columns = schema.FieldsList.Select(f => Build(f, rows.Select(r => r[f.Name]).ToList())).ToList();
        using var batch = new RecordBatch(schema, columns, rows.Count);
        AtomicFile.WriteBytes(path, stream =>
        {
            using var writer = new FileWriter(stream, schema, leaveOpen: true);
            writer.WriteRecordBatch(batch);
            writer.Close();
        });
    }

    static IArrowArray Build(Field field, IReadOnlyList<JsonNode?> values)
    {
        if (!field.IsNullable && values.Any(v => v is null))
            throw new ArgumentException($"Parquet column '{field.Name}' is not nullable, but a row has no value for it");
        switch (field.DataType)
        {
            case StringType:
                {
                    var b = new StringArray.Builder();
                    foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v.GetValue<string>()); }
                    return b.Build();
                }
            case Int32Type:
                {
                    var b = new Int32Array.Builder();
                    foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v.GetValue<int>()); }
                    return b.Build();
                }
            case Int64Type:
                {
                    var b = new Int64Array.Builder();
                    foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v.GetValue<long>()); }
                    return b.Build();
                }
            case DoubleType:
                {
                    var b = new DoubleArray.Builder();
                    foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v.GetValue<double>()); }
                    return b.Build();
                }
            case BooleanType:
                {
                    var b = new BooleanArray.Builder();
                    foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v.GetValue<bool>()); }
                    return b.Build();
                }
            case StructType s:
                {
                    var children = s.Fields.Select(f => Build(f, values.Select(v => (v as JsonObject)?[f.Name]).ToList())).ToList();
                    var (bitmap, nulls) = Validity(values);
                    return new StructArray(s, values.Count, children, bitmap, nulls);
                }
            case ListType l:
                {
                    var offsets = new ArrowBuffer.Builder<int>();
                    var items = new List<JsonNode?>();
                    offsets.Append(0);
                    foreach (var v in values)
                    {
                        if (v is JsonArray a) items.AddRange(a.Select(x => x?.DeepClone()));
                        offsets.Append(items.Count);
                    }
                    var (bitmap, nulls) = Validity(values);
                    return new ListArray(l, values.Count, offsets.Build(), Build(l.ValueField, items), bitmap, nulls);
                }
            default: throw new NotSupportedException($"Parquet column '{field.Name}': type {field.DataType.Name} is not written here");
        }
    }

    static (ArrowBuffer Bitmap, int Nulls) Validity(IReadOnlyList<JsonNode?> values)
    {
        var bitmap = new ArrowBuffer.BitmapBuilder();
        foreach (var v in values) bitmap.Append(v is not null);
        return (bitmap.Build(), values.Count(v => v is null));
    }
}
