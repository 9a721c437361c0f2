using R1Sharp.Tests;
using R1Sharp.Training.Logging;

namespace R1Sharp.Training.Tests.Logging;

public sealed class TensorBoardWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-tb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes the events that tests/fixtures/tfevents/tfevents_reference.py writes for its golden file.</summary>
    private string WriteGoldenEvents()
    {
        var clock = new ManualClock(ManualClock.At(1700000000.5));
        using var writer = new TensorBoardWriter(_dir, clock);
        clock.Now = ManualClock.At(1700000001.25);
        writer.AddScalars(1, [new("loss", 1.5), new("reward/accuracy", 0.25), new("lr", 3e-6), new("kl", -0.0), new("zero", 0.0)]);
        clock.Now = ManualClock.At(1700000002.0);
        writer.AddScalars(300, [new("loss", 0.75), new("entropy/μ", double.NaN)]);
        clock.Now = ManualClock.At(1700000003.0);
        writer.Purge(2);
        clock.Now = ManualClock.At(1700000004.0);
        writer.AddScalars(1234567890123, [new("loss", -2.5e-7)]);
        return writer.Path;
    }

    [Fact]
    public void Bytes_equal_the_file_Googles_protobuf_and_crcmod_write()
    {
        // golden.tfevents: the same events encoded by python3-protobuf and framed with crcmod's crc-32c.
        var golden = File.ReadAllBytes(RepoPaths.Fixture("tfevents", "golden.tfevents"));
        Assert.Equal(golden, File.ReadAllBytes(WriteGoldenEvents()));
    }

    [Fact]
    public void Events_decode_field_by_field()
    {
        var events = EventFile.Read(WriteGoldenEvents());
        Assert.Equal(5, events.Count);
        Assert.Equal(new EventFile.Event(1700000000.5, 0, "brain.Event:2", null, null), events[0]);

        Assert.Equal(1700000001.25, events[1].WallTime);
        Assert.Equal(1, events[1].Step);
        Assert.Equal([("loss", 1.5f), ("reward/accuracy", 0.25f), ("lr", 3e-6f), ("kl", -0.0f), ("zero", 0f)], events[1].Values!);
        Assert.True(float.IsNegative(events[1].Values![3].Value));

        Assert.Equal(300, events[2].Step);
        Assert.Equal("entropy/μ", events[2].Values![1].Tag);
        Assert.True(float.IsNaN(events[2].Values![1].Value));

        Assert.Equal((2L, 1), (events[3].Step, events[3].SessionStatus!.Value));   // SessionLog START
        Assert.Null(events[3].Values);

        Assert.Equal(1234567890123, events[4].Step);                           // a 6-byte varint
        Assert.Equal(-2.5e-7f, events[4].Values!.Single().Value);
    }

    [Fact]
    public void File_is_named_as_TensorFlow_names_it_and_never_overwritten()
    {
        var clock = new ManualClock(ManualClock.At(1700000000.9));
        using var a = new TensorBoardWriter(_dir, clock);
        using var b = new TensorBoardWriter(_dir, clock);
        Assert.Equal($"events.out.tfevents.1700000000.{Environment.MachineName}", Path.GetFileName(a.Path));
        Assert.NotEqual(a.Path, b.Path);
        Assert.Contains("tfevents", Path.GetFileName(b.Path));
    }

    [Fact]
    public void Each_step_is_on_disk_before_the_next()
    {
        using var writer = new TensorBoardWriter(_dir, new ManualClock(ManualClock.At(1700000000)));
        writer.AddScalars(7, [new("loss", 2.0)]);
        using var read = new FileStream(writer.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[read.Length];
        read.ReadExactly(bytes);
        var records = EventFile.ReadRecords(bytes);
        Assert.Equal(2, records.Count);
        Assert.Equal(7, EventFile.Decode(records[1]).Step);
    }
}
