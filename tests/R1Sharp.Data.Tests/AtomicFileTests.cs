using R1Sharp.Data;

namespace R1Sharp.Data.Tests;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Regular_files_are_replaced_whole_without_leftovers()
    {
        string path = Path.Combine(_dir, "out.jsonl");
        Assert.True(AtomicFile.IsRegularFileOrAbsent(path));
        File.WriteAllText(path, "old, longer content\n");
        Assert.True(AtomicFile.IsRegularFileOrAbsent(path));
        AtomicFile.WriteAllText(path, "new\n");
        Assert.Equal("new\n", File.ReadAllText(path));
        Assert.Equal(["out.jsonl"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_failed_write_leaves_the_old_file()
    {
        string path = Path.Combine(_dir, "out.jsonl");
        File.WriteAllText(path, "old\n");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, w =>
        {
            w.WriteLine("half");
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("old\n", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Devices_and_links_are_written_through_not_replaced()
    {
        Assert.False(AtomicFile.IsRegularFileOrAbsent("/dev/null"));
        Assert.False(AtomicFile.IsRegularFileOrAbsent(_dir));
        AtomicFile.WriteAllText("/dev/null", "discarded\n");
        Assert.False(AtomicFile.IsRegularFileOrAbsent("/dev/null"));   // still the device

        string target = Path.Combine(_dir, "target.txt"), link = Path.Combine(_dir, "link.txt");
        File.WriteAllText(target, "old, longer content\n");
        File.CreateSymbolicLink(link, target);
        Assert.False(AtomicFile.IsRegularFileOrAbsent(link));
        AtomicFile.WriteAllText(link, "new\n");
        Assert.Equal(target, new FileInfo(link).LinkTarget);
        Assert.Equal("new\n", File.ReadAllText(target));
    }
}
