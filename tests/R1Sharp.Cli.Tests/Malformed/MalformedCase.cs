using System.Text;
using System.Text.Json.Nodes;

namespace R1Sharp.Cli.Tests.Malformed;

/// <summary>
/// One malformed input: how to build it in a fresh workspace, the command that reads it, and the fragments its one-line
/// error must contain (the file, and the line / field / tensor / option, and what was expected).
/// </summary>
/// <param name="Name">Unique; the test's display argument.</param>
/// <param name="Setup">Copies pristine inputs into the workspace and corrupts them.</param>
/// <param name="Args">The r1sharp command line.</param>
/// <param name="Expect">Substrings the error must contain.</param>
public sealed record MalformedCase(string Name, Action<Workspace> Setup, Func<Workspace, string[]> Args, Func<Workspace, string[]> Expect)
{
    /// <summary>Paths the failed command must not have created (e.g. the run folder of a training command that failed before training).</summary>
    public Func<Workspace, string[]> MustNotExist { get; init; } = _ => [];

    public override string ToString() => Name;
}

/// <summary>Editing files the way a corruption would: JSON fields, raw bytes, safetensors headers.</summary>
public static class Corrupt
{
    public static JsonNode? Json(string literal) => JsonNode.Parse(literal);

    public static JsonObject ReadObject(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    /// <summary>Parses, edits and rewrites a JSON file.</summary>
    public static void EditJson(string path, Action<JsonObject> edit)
    {
        var json = ReadObject(path);
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    /// <summary>Sets <paramref name="key"/> to the JSON <paramref name="literal"/>, or removes it when the literal is null.</summary>
    public static Action<JsonObject> Field(string key, string? literal) => o =>
    {
        if (literal is null) o.Remove(key);
        else o[key] = Json(literal);
    };

    public static void EditText(string path, Func<string, string> edit) => File.WriteAllText(path, edit(File.ReadAllText(path)));

    public static void EditBytes(string path, Func<byte[], byte[]> edit) => File.WriteAllBytes(path, edit(File.ReadAllBytes(path)));

    /// <summary>The first <paramref name="count"/> bytes (or all but the last −count when negative).</summary>
    public static void Truncate(string path, long count) => EditBytes(path, b => b[..(int)(count >= 0 ? count : b.Length + count)]);

    /// <summary>Replaces the first occurrence of <paramref name="find"/> (ASCII) in the file's bytes.</summary>
    public static void ReplaceBytes(string path, string find, byte[] replacement) => EditBytes(path, b =>
    {
        int at = b.AsSpan().IndexOf(Encoding.ASCII.GetBytes(find));
        if (at < 0) throw new InvalidOperationException($"'{find}' not found in {path}");
        return [.. b[..at], .. replacement, .. b[(at + find.Length)..]];
    });

    /// <summary>A safetensors file's header JSON (text) and data bytes.</summary>
    public static (string Header, byte[] Data) SplitSafetensors(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long n = BitConverter.ToInt64(bytes, 0);
        return (Encoding.UTF8.GetString(bytes, 8, (int)n), bytes[(8 + (int)n)..]);
    }

    /// <summary>Writes a safetensors file from header bytes and data, with the header's true length in front.</summary>
    public static void JoinSafetensors(string path, byte[] header, byte[] data) =>
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((long)header.Length), .. header, .. data]);

    /// <summary>Edits the header as JSON (tensor offsets stay as they are) and optionally the data bytes.</summary>
    public static void EditHeader(string path, Action<JsonObject> edit, Func<byte[], byte[]>? data = null)
    {
        var (header, body) = SplitSafetensors(path);
        var json = JsonNode.Parse(header)!.AsObject();
        edit(json);
        JoinSafetensors(path, Encoding.UTF8.GetBytes(json.ToJsonString()), data?.Invoke(body) ?? body);
    }

    /// <summary>Edits the header as text (for what JSON objects cannot hold: repeated keys, bad UTF-8).</summary>
    public static void EditHeaderBytes(string path, Func<byte[], byte[]> edit)
    {
        var (header, body) = SplitSafetensors(path);
        JoinSafetensors(path, edit(Encoding.UTF8.GetBytes(header)), body);
    }

    /// <summary>Overwrites the 8-byte little-endian header length.</summary>
    public static void SetHeaderLength(string path, ulong length) => EditBytes(path, b =>
    {
        BitConverter.GetBytes(length).CopyTo(b, 0);
        return b;
    });
}
