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
        if (environment("R1SHARP_GLIBC_HEAP") is { } mode && mode.Equals("default", StringComparison.OrdinalIgnoreCase)) return true;
        foreach (var name in new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_" })
            if (environment(name) is not null) return true;
        var tunables = environment("GLIBC_TUNABLES");
        return tunables is not null && (tunables.Contains("glibc.malloc.mmap_threshold", StringComparison.Ordinal) ||
                                        tunables.Contains("glibc.malloc.trim_threshold", StringComparison.Ordinal) ||
                                        tunables.Contains("glibc.malloc.top_pad", StringComparison.Ordinal));
    }

    static readonly object Gate = new();
    static bool? applied;

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int param, int value);
}
