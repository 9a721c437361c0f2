using System.Buffers.Binary;
using System.Globalization;

namespace R1Sharp.Training.Logging;

/// <summary>
/// Writes scalars to a TensorBoard event file, <c>events.out.tfevents.&lt;unix seconds&gt;.&lt;host&gt;</c>, by hand:
/// TFRecord framing around protobuf <c>Event</c> messages (see <see cref="EventEncoder"/>). Each record is
/// <code>
/// uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)
/// </code>
/// (tensorflow/core/lib/io/record_writer.cc). The first event carries <c>file_version = "brain.Event:2"</c>; then one
/// event per step holds every scalar of that step. Each step is flushed, so TensorBoard shows a run while it trains.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly TimeProvider _clock;

    /// <summary>Creates a new event file in <paramref name="directory"/> (created if missing).</summary>
    /// <param name="directory">The run's log folder (what <c>tensorboard --logdir</c> points at, or a child of it).</param>
    /// <param name="clock">Wall-clock source for event times (tests pass a fixed one).</param>
    public TensorBoardWriter(string directory, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        Directory.CreateDirectory(directory);
        long seconds = _clock.GetUtcNow().ToUnixTimeSeconds();
        string host = Environment.MachineName;
        string name = string.Create(CultureInfo.InvariantCulture, $"events.out.tfevents.{seconds:D10}.{host}");
        string path = System.IO.Path.Combine(directory, name);
        for (int n = 1; File.Exists(path); n++) path = System.IO.Path.Combine(directory, $"{name}.{n}");
        Path = path;
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(EventEncoder.FileVersion(WallTime()));
    }

    /// <summary>The event file.</summary>
    public string Path { get; }

    /// <summary>Writes one event holding every (tag, value) of <paramref name="step"/> as a float scalar, and flushes.</summary>
    public void AddScalars(long step, IEnumerable<KeyValuePair<string, double>> values)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        Write(EventEncoder.Scalars(WallTime(), step, values));
    }

    /// <summary>
    /// Marks a restart: a <c>SessionLog START</c> event at <paramref name="fromStep"/>, on which TensorBoard hides the
    /// run's earlier events with step ≥ <paramref name="fromStep"/> (what PyTorch's <c>SummaryWriter(purge_step=…)</c>
    /// writes). Call it when resuming after the last checkpoint, with the first step to be logged again.
    /// </summary>
    public void Purge(long fromStep)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromStep);
        Write(EventEncoder.SessionStart(WallTime(), fromStep));
    }

    /// <summary>TFRecord framing of one record: length, its masked CRC, the data, its masked CRC.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> data)
    {
        var record = new byte[8 + 4 + data.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), Crc32C.Masked(record.AsSpan(0, 8)));
        data.CopyTo(record.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12 + data.Length), Crc32C.Masked(data));
        return record;
    }

    private double WallTime() => (_clock.GetUtcNow() - DateTimeOffset.UnixEpoch).TotalSeconds;

    private void Write(byte[] eventBytes)
    {
        _file.Write(Frame(eventBytes));
        _file.Flush();
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
