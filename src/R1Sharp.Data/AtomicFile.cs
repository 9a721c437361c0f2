using System.Runtime.InteropServices;
using System.Text;

namespace R1Sharp.Data;

/// <summary>
/// Writes an output file whole or not at all: to a temporary file in the same folder, then renamed over the
/// destination, so a reader (or a crash) never sees half a file. Destinations that are not regular files —
/// <c>/dev/null</c>, <c>/dev/stdout</c>, a named pipe — are written straight through instead: renaming over them
/// would replace the device node or link (as root, <c>-o /dev/null</c> would otherwise delete /dev/null).
/// </summary>
public static partial class AtomicFile
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Writes <paramref name="path"/> with <paramref name="write"/> (UTF-8, no BOM).</summary>
    public static void Write(string path, Action<TextWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        WriteBytes(path, stream =>
        {
            using var writer = new StreamWriter(stream, Utf8, bufferSize: 1 << 16, leaveOpen: true);
            write(writer);
        });
    }

    /// <summary>
    /// Writes the bytes <paramref name="write"/> puts in the stream to <paramref name="path"/>, whole or not at all; the
    /// temporary file is flushed to disk before it is renamed, so a crash leaves the old file or the new one, never half.
    /// </summary>
    public static void WriteBytes(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        if (!IsRegularFileOrAbsent(full))
        {
            using var direct = new FileStream(full, FileMode.Create, FileAccess.Write);
            write(direct);
            return;
        }
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> as <see cref="Write(string, Action{TextWriter})"/> does.</summary>
    public static void WriteAllText(string path, string text) => Write(path, w => w.Write(text));

    /// <summary>
    /// True when nothing is at <paramref name="path"/>, or a regular file (not a symbolic link, device, pipe or
    /// socket). Linux: <c>lstat</c>'s file type through <c>statx</c>, whose buffer layout is the same on every
    /// architecture; elsewhere: links and anything under /dev are not regular.
    /// </summary>
    public static bool IsRegularFileOrAbsent(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            var buffer = new byte[256];
            int rc = Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer);
            if (rc != 0) return Marshal.GetLastPInvokeError() == ENoEnt;
            ushort mode = BitConverter.ToUInt16(buffer, 28);   // struct statx: stx_mode at byte 28
            return (mode & 0xF000) == 0x8000;                  // S_IFMT == S_IFREG
        }
        var info = new FileInfo(path);
        if (!info.Exists) return !Directory.Exists(path) && info.LinkTarget is null;
        return info.LinkTarget is null && !Path.GetFullPath(path).StartsWith("/dev/", StringComparison.Ordinal);
    }

    private const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxType = 0x1, ENoEnt = 2;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte[] buffer);
}
