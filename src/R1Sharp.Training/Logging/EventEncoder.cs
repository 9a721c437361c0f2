using System.Buffers.Binary;
using System.Text;

namespace R1Sharp.Training.Logging;

/// <summary>
/// Hand-written protobuf encoding of the few TensorBoard messages a scalar log needs
/// (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto):
/// <code>
/// Event      { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; SessionLog session_log = 6; }
/// Summary    { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
/// SessionLog { SessionStatus status = 1; }   // START = 1
/// </code>
/// Wire format (protobuf encoding guide): a field is a varint key (field_number &lt;&lt; 3 | wire_type) and its value;
/// wire type 0 = varint, 1 = 64-bit little-endian, 2 = length-delimited (varint length, then bytes), 5 = 32-bit.
/// Fields holding proto3 default values (step 0, a value of +0.0) are left out, as protobuf encoders do, so the bytes
/// equal what Google's protobuf library writes for the same message.
/// </summary>
internal static class EventEncoder
{
    private const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    /// <summary>The first event of a file: wall time and <c>file_version = "brain.Event:2"</c>.</summary>
    public static byte[] FileVersion(double wallTime) =>
        Event(wallTime, 0, w => WriteString(w, 3, "brain.Event:2"));

    /// <summary>One event with a summary holding a simple_value per tag.</summary>
    public static byte[] Scalars(double wallTime, long step, IEnumerable<KeyValuePair<string, double>> values) =>
        Event(wallTime, step, w =>
        {
            var summary = new MemoryStream();
            Span<byte> f = stackalloc byte[4];
            foreach (var (tag, value) in values)
            {
                var v = new MemoryStream();
                WriteString(v, 1, tag);
                // NaN as the canonical quiet NaN 0x7FC00000 (.NET's double.NaN has the sign bit set); +0 is the
                // proto3 default and is left out.
                float single = double.IsNaN(value) ? BitConverter.Int32BitsToSingle(0x7FC00000) : (float)value;
                if (BitConverter.SingleToInt32Bits(single) != 0)
                {
                    WriteKey(v, 2, Fixed32);
                    BinaryPrimitives.WriteSingleLittleEndian(f, single);
                    v.Write(f);
                }
                WriteMessage(summary, 1, v);
            }
            WriteMessage(w, 5, summary);
        });

    /// <summary>A <c>SessionLog{status: START}</c> event: TensorBoard then hides events of this run with step ≥ <paramref name="step"/>.</summary>
    public static byte[] SessionStart(double wallTime, long step) =>
        Event(wallTime, step, w =>
        {
            var log = new MemoryStream();
            WriteKey(log, 1, Varint);
            WriteVarint(log, 1);
            WriteMessage(w, 6, log);
        });

    private static byte[] Event(double wallTime, long step, Action<MemoryStream> body)
    {
        var w = new MemoryStream();
        if (BitConverter.DoubleToInt64Bits(wallTime) != 0)
        {
            WriteKey(w, 1, Fixed64);
            Span<byte> d = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleLittleEndian(d, wallTime);
            w.Write(d);
        }
        if (step != 0)
        {
            WriteKey(w, 2, Varint);
            WriteVarint(w, unchecked((ulong)step));
        }
        body(w);
        return w.ToArray();
    }

    private static void WriteKey(Stream s, int field, int wireType) => WriteVarint(s, (ulong)((field << 3) | wireType));

    private static void WriteVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }

    private static void WriteString(Stream s, int field, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        WriteKey(s, field, LengthDelimited);
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteMessage(Stream s, int field, MemoryStream message)
    {
        WriteKey(s, field, LengthDelimited);
        WriteVarint(s, (ulong)message.Length);
        message.Position = 0;
        message.CopyTo(s);
    }
}
