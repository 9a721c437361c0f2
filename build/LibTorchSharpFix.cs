// Build-time fix for TorchSharp-cpu 0.107.0 on Debian 12 / Ubuntu 22.04 (see docs/torchsharp-native.md).
//
// libLibTorchSharp.so asks for exactly one symbol at version GLIBCXX_3.4.32
// (_ZSt21ios_base_library_initv, referenced with no relocations), a version these systems'
// libstdc++ lacks, so the loader refuses the library. Two fields fix it:
//   1. the symbol's .gnu.version entry becomes 1 (unversioned, global);
//   2. the GLIBCXX_3.4.32 entry of .gnu.version_r gets VER_FLG_WEAK (0x2), so a missing version
//      is no longer fatal.
// The task runs only where no system libstdc++ provides GLIBCXX_3.4.32, and is idempotent.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class PatchLibTorchSharp : Task
{
    const string Version = "GLIBCXX_3.4.32";
    const string Symbol = "_ZSt21ios_base_library_initv";

    [Required] public string Directory { get; set; } = "";

    /// <summary>Patch even where this machine's libstdc++ has the version: for output that ships elsewhere (the tool package).</summary>
    public bool Always { get; set; }

    public override bool Execute()
    {
        if (!System.IO.Directory.Exists(Directory)) return true;
        if (!Always && !RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return true;
        if (!Always && SystemHasVersion())
        {
            Log.LogMessage(MessageImportance.Low, $"System libstdc++ provides {Version}; libLibTorchSharp.so left as is.");
            return true;
        }
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories))
        {
            try
            {
                string result = Patch(file);
                Log.LogMessage(MessageImportance.Normal, $"{file}: {result}");
            }
            catch (Exception e)
            {
                Log.LogError($"Could not patch {file}: {e.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    static bool SystemHasVersion()
    {
        var dirs = new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                           "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib" };
        byte[] needle = Encoding.ASCII.GetBytes(Version + "\0");
        foreach (var dir in dirs)
        {
            var path = Path.Combine(dir, "libstdc++.so.6");
            if (!File.Exists(path)) continue;
            return IndexOf(File.ReadAllBytes(path), needle) >= 0;
        }
        return false; // no libstdc++ found where expected: patching is harmless, so patch
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int k = 0;
            while (k < needle.Length && haystack[i + k] == needle[k]) k++;
            if (k == needle.Length) return i;
        }
        return -1;
    }

    /// <summary>Patches one ELF64 little-endian file in place; returns what it did.</summary>
    public static string Patch(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file");

        long shoff = (long)BitConverter.ToUInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        var sections = Enumerable.Range(0, shnum).Select(i =>
        {
            long o = shoff + (long)i * shentsize;
            return (Type: BitConverter.ToUInt32(b, (int)o + 4), Offset: (long)BitConverter.ToUInt64(b, (int)o + 0x18),
                    Size: (long)BitConverter.ToUInt64(b, (int)o + 0x20), Link: BitConverter.ToUInt32(b, (int)o + 0x28),
                    EntSize: (long)BitConverter.ToUInt64(b, (int)o + 0x38));
        }).ToArray();

        var dynsym = sections.Single(s => s.Type == 11);             // SHT_DYNSYM
        var dynstr = sections[dynsym.Link];
        var versym = sections.Single(s => s.Type == 0x6fffffff);     // SHT_GNU_versym
        var verneed = sections.Single(s => s.Type == 0x6ffffffe);    // SHT_GNU_verneed
        string Str(long offset)
        {
            int start = (int)(dynstr.Offset + offset), end = start;
            while (b[end] != 0) end++;
            return Encoding.ASCII.GetString(b, start, end - start);
        }

        bool changed = false;
        // (1) the symbol's version index -> 1 (global)
        long count = dynsym.Size / dynsym.EntSize;
        for (long i = 0; i < count; i++)
        {
            uint name = BitConverter.ToUInt32(b, (int)(dynsym.Offset + i * dynsym.EntSize));
            if (Str(name) != Symbol) continue;
            int at = (int)(versym.Offset + i * 2);
            if (BitConverter.ToUInt16(b, at) != 1) { b[at] = 1; b[at + 1] = 0; changed = true; }
        }
        // (2) VER_FLG_WEAK on the GLIBCXX_3.4.32 requirement
        long vn = verneed.Offset;
        while (true)
        {
            int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
            long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
            for (int k = 0; k < cnt; k++)
            {
                if (Str(BitConverter.ToUInt32(b, (int)aux + 8)) == Version)
                {
                    int flagsAt = (int)aux + 4;
                    ushort flags = BitConverter.ToUInt16(b, flagsAt);
                    if ((flags & 2) == 0) { flags |= 2; b[flagsAt] = (byte)flags; b[flagsAt + 1] = (byte)(flags >> 8); changed = true; }
                }
                aux += BitConverter.ToUInt32(b, (int)aux + 12);
            }
            uint next = BitConverter.ToUInt32(b, (int)vn + 12);
            if (next == 0) break;
            vn += next;
        }
        if (!changed) return "already patched";
        // Write beside, then rename over: a reader never sees a half-written library.
        string tmp = path + ".patching";
        File.WriteAllBytes(tmp, b);
        File.Replace(tmp, path, null); // rename(2) on Unix
        return $"patched ({Symbol} unversioned, {Version} weak)";
    }
}
