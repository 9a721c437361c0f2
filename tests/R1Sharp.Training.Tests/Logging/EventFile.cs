using System.Buffers.Binary;
using System.Text;
using R1Sharp.Training.Logging;

namespace R1Sharp.Training.Tests.Logging;

/// <summary>A clock the test sets.</summary>
internal sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;

    public override long GetTimestamp() => Now.UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public static DateTimeOffset At(double unixSeconds) => DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(unixSeconds * TimeSpan.TicksPerSecond));
}

/// <summary>
/// A test-side reader of TensorBoard event files, written from the specs: TFRecord framing
/// (tensorflow/core/lib/io/record_writer.cc) and the protobuf wire format, decoding Event / Summary / Value /
/// SessionLog field by field with TensorFlow's field numbers. Independent of the writer's code paths.
/// </summary>
internal static class EventFile
{
    public sealed record Event(double? WallTime, long Step, string? FileVersion, List<(string Tag, float Value)>? Values, int? SessionStatus);

    public static List<Event> Read(string path) => ReadRecords(File.ReadAllBytes(path)).Select(Decode).ToList();

    public static List<byte[]> ReadRecords(byte[] file)
    {
        var records = new List<byte[]>();
        int pos = 0;
        while (pos < file.Length)
        {
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(pos));
            Assert.Equal(Crc32C.Masked(file.AsSpan(pos, 8)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 8)));
            var data = file.AsSpan(pos + 12, (int)length).ToArray();
            Assert.Equal(Crc32C.Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 12 + (int)length)));
            records.Add(data);
            pos += 16 + (int)length;
        }
        Assert.Equal(file.Length, pos);
        return records;
    }

    /// <summary>(field number, wire type, varint value or fixed bits, length-delimited bytes) for each field.</summary>
    public static List<(int Field, int WireType, ulong Number, byte[]? Bytes)> Fields(byte[] message)
    {
        var fields = new List<(int, int, ulong, byte[]?)>();
        int pos = 0;
        while (pos < message.Length)
        {
            ulong key = Varint(message, ref pos);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: fields.Add((field, wire, Varint(message, ref pos), null)); break;
                case 1: fields.Add((field, wire, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(pos)), null)); pos += 8; break;
                case 5: fields.Add((field, wire, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(pos)), null)); pos += 4; break;
                case 2:
                    int n = (int)Varint(message, ref pos);
                    fields.Add((field, wire, 0, message.AsSpan(pos, n).ToArray()));
                    pos += n;
                    break;
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
        return fields;
    }

    private static ulong Varint(byte[] b, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte x = b[pos++];
            value |= (ulong)(x & 0x7F) << shift;
            if (x < 0x80) return value;
        }
    }

    public static Event Decode(byte[] data)
    {
        double? wall = null;
        long step = 0;
        string? version = null;
        List<(string, float)>? values = null;
        int? status = null;
        foreach (var (field, wire, number, bytes) in Fields(data))
        {
            switch (field)
            {
                case 1: Assert.Equal(1, wire); wall = BitConverter.Int64BitsToDouble((long)number); break;
                case 2: Assert.Equal(0, wire); step = (long)number; break;
                case 3: Assert.Equal(2, wire); version = Encoding.UTF8.GetString(bytes!); break;
                case 5:
                    Assert.Equal(2, wire);
                    values = [];
                    foreach (var value in Fields(bytes!))
                    {
                        Assert.Equal((1, 2), (value.Field, value.WireType));   // Summary.value
                        string tag = "";
                        float simple = 0;
                        foreach (var f in Fields(value.Bytes!))
                        {
                            if (f.Field == 1) { Assert.Equal(2, f.WireType); tag = Encoding.UTF8.GetString(f.Bytes!); }
                            else if (f.Field == 2) { Assert.Equal(5, f.WireType); simple = BitConverter.Int32BitsToSingle((int)f.Number); }
                            else Assert.Fail($"unexpected Value field {f.Field}");
                        }
                        values.Add((tag, simple));
                    }
                    break;
                case 6:
                    Assert.Equal(2, wire);
                    var log = Fields(bytes!).Single();
                    Assert.Equal((1, 0), (log.Field, log.WireType));
                    status = (int)log.Number;
                    break;
                default: Assert.Fail($"unexpected Event field {field}"); break;
            }
        }
        return new Event(wall, step, version, values, status);
    }
}
