using System.Runtime.InteropServices;

namespace R1Sharp.Model;

/// <summary>
/// glibc heap settings for a training process: freed tensor memory is kept for the next step instead of being handed back
/// to the kernel and faulted in again, page by page.
/// <para>
/// libtorch allocates every CPU tensor with malloc. glibc serves a block under its mmap threshold from the heap and gives
/// the heap's free top back to the kernel once it exceeds the trim threshold (by default twice the mmap threshold, which
/// itself moves up to the largest block freed, at most 32 MB). A training step allocates and frees the same few hundred
/// MB of activations every step, so the heap grows and shrinks every step, and each regrowth is a page fault per 4 KB
/// page that the kernel must zero. Blocks up to 32 MB (the moving threshold's own ceiling) now always come from the heap,
/// and up to 1 GB of free heap top is kept. On the pipeline's 0.9M-parameter base (16 × 256 tokens a step, 2 cores) page faults
/// fall from ~9,500 to ~3,300 a step and the step from 357 to 306 ms with two threads, with the same peak resident set
/// (<c>dotnet run --project bench/R1Sharp.Bench -c Release -- profile --part pretrain</c>, bench/README.md). The results
/// are bit for bit the same.
/// </para>
/// </summary>
public static class NativeHeap
{
    const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

    /// <summary>Blocks up to this size come from the heap; larger ones are mapped and unmapped one by one (on the 25m preset's
    /// SFT step a higher threshold made no measurable difference: there the GEMMs dwarf the page faults).</summary>
    public const int MmapThreshold = 32 << 20;

    /// <summary>Free heap top kept before any is given back.</summary>
    public const int TrimThreshold = 1 << 30;

    /// <summary>
    /// Applies the settings once per process, on Linux with glibc, unless the user set glibc's own malloc variables
    /// (<c>MALLOC_MMAP_THRESHOLD_</c>, <c>MALLOC_TRIM_THRESHOLD_</c>, <c>MALLOC_TOP_PAD_</c> or those
    /// tunables in <c>GLIBC_TUNABLES</c>) or <c>R1SHARP_GLIBC_HEAP=default</c>.
    /// Returns whether they are in effect.
    /// </summary>
    public static bool KeepFreedMemory()
    {
        lock (Gate)
        {
            if (applied is { } done) return done;
            applied = false;
            if (!OperatingSystem.IsLinux() || UserChoseHeapSettings(Environment.GetEnvironmentVariable)) return false;
            try
            {
                // Both together: setting either one alone turns off glibc's moving threshold and leaves the other at its default.
                applied = mallopt(M_MMAP_THRESHOLD, MmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, TrimThreshold) == 1;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // another C library (musl has no mallopt to speak of): its defaults stay
            }
            return applied.Value;
        }
    }

    /// <summary>Whether the environment asks for glibc's own heap settings (see <see cref="KeepFreedMemory"/>).</summary>
    public static bool UserChoseHeapSettings(Func<string, string?> environment)
    {
        if (DefaultsAsked(environment)) return true;
        foreach (var name in new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_" })
            if (environment(name) is not null) return true;
        var tunables = environment("GLIBC_TUNABLES");
        return tunables is not null && (tunables.Contains("glibc.malloc.mmap_threshold", StringComparison.Ordinal) ||
                                        tunables.Contains("glibc.malloc.trim_threshold", StringComparison.Ordinal) ||
                                        tunables.Contains("glibc.malloc.top_pad", StringComparison.Ordinal));
    }

    /// <summary>
    /// Restarts this process (execve of itself, same pid, arguments, environment and open files) with glibc's
    /// <c>glibc.malloc.hugetlb=1</c> added to <c>GLIBC_TUNABLES</c>, so that malloc asks for transparent huge pages
    /// (<c>madvise(MADV_HUGEPAGE)</c>) on the memory it takes from the kernel: a 2 MB page faulted in where 512 pages of
    /// 4 KB were. glibc reads its tunables only when a process starts, hence the restart; call it first thing in Main,
    /// before any thread of ours or any native library exists. It returns without restarting when the kernel's setting is
    /// not <c>madvise</c> (with <c>always</c> every process has them already; with <c>never</c> none can), when the C
    /// library is not glibc, when <c>GLIBC_TUNABLES</c> already names the tunable (the user's choice, or this process
    /// after its restart), with <c>R1SHARP_GLIBC_HEAP=default</c>, or when execve fails.
    /// Measured on the 2-core development host (bench/README.md): the first GRPO update of a process (6m preset) 12.5–12.7 →
    /// 10.4–11.0 s, its page faults ~520,000 → ~3,300; the pipeline base's pretraining step 329–369 → 316–335 ms.
    /// </summary>
    public static void RestartWithHugePages()
    {
        if (!OperatingSystem.IsLinux() || !IsGlibc()) return;
        string? mode = null;
        try { mode = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled"); }
        catch (IOException) { } // no transparent huge pages in this kernel
        catch (UnauthorizedAccessException) { }
        if (HugePageTunables(Environment.GetEnvironmentVariable, mode) is not { } tunables) return;
        byte[][] arguments, environment;
        try
        {
            arguments = Split(File.ReadAllBytes("/proc/self/cmdline"));
            environment = [.. Split(File.ReadAllBytes("/proc/self/environ")).Where(e => !e.AsSpan().StartsWith("GLIBC_TUNABLES="u8)),
                System.Text.Encoding.UTF8.GetBytes("GLIBC_TUNABLES=" + tunables)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        if (arguments.Length == 0) return;
        Exec("/proc/self/exe", arguments, environment); // returns only if execve failed: go on without huge pages
    }

    /// <summary>
    /// The <c>GLIBC_TUNABLES</c> value to restart with, or null for no restart (see <see cref="RestartWithHugePages"/>):
    /// <paramref name="thpEnabled"/> is the content of /sys/kernel/mm/transparent_hugepage/enabled (the mode in brackets).
    /// </summary>
    public static string? HugePageTunables(Func<string, string?> environment, string? thpEnabled)
    {
        if (thpEnabled is null || !thpEnabled.Contains("[madvise]", StringComparison.Ordinal)) return null;
        if (DefaultsAsked(environment)) return null;
        string? tunables = environment("GLIBC_TUNABLES");
        if (tunables is not null && tunables.Contains("glibc.malloc.hugetlb", StringComparison.Ordinal)) return null;
        return string.IsNullOrEmpty(tunables) ? "glibc.malloc.hugetlb=1" : tunables + ":glibc.malloc.hugetlb=1";
    }

    /// <summary><c>R1SHARP_GLIBC_HEAP=default</c>: glibc's own heap settings, no huge pages.</summary>
    static bool DefaultsAsked(Func<string, string?> environment) =>
        environment("R1SHARP_GLIBC_HEAP") is { } mode && mode.Equals("default", StringComparison.OrdinalIgnoreCase);

    static byte[][] Split(byte[] nulSeparated)
    {
        var parts = new List<byte[]>();
        int start = 0;
        for (int i = 0; i < nulSeparated.Length; i++)
            if (nulSeparated[i] == 0) { parts.Add(nulSeparated[start..i]); start = i + 1; }
        if (start < nulSeparated.Length) parts.Add(nulSeparated[start..]);
        return [.. parts];
    }

    static unsafe void Exec(string path, byte[][] arguments, byte[][] environment)
    {
        static IntPtr[] Strings(byte[][] items)
        {
            var pointers = new IntPtr[items.Length + 1]; // NULL-terminated
            for (int i = 0; i < items.Length; i++)
            {
                pointers[i] = Marshal.AllocHGlobal(items[i].Length + 1);
                Marshal.Copy(items[i], 0, pointers[i], items[i].Length);
                ((byte*)pointers[i])[items[i].Length] = 0;
            }
            return pointers;
        }
        var argv = Strings(arguments);
        var envp = Strings(environment);
        fixed (IntPtr* a = argv, e = envp)
            execve(path, a, e);
        foreach (var p in argv.Concat(envp)) if (p != IntPtr.Zero) Marshal.FreeHGlobal(p);
    }

    static bool IsGlibc() =>
        NativeLibrary.TryLoad("libc.so.6", out var libc) && NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _);

    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    static extern unsafe int execve([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr* argv, IntPtr* envp);

    static readonly object Gate = new();
    static bool? applied;

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int param, int value);
}
