using R1Sharp.Model;

namespace R1Sharp.Model.Tests;

/// <summary>
/// NativeHeap: glibc takes both settings, and a user's own malloc settings win.
/// The effect is measured where it shows, on the main thread of a training process (glibc's per-thread arenas keep
/// freed memory anyway): `r1sharp pretrain --steps 100` takes 356,000 page faults instead of 966,000 and 30.4 s instead of
/// 35.2 s, and `bench … profile --part pretrain` prints the faults and time of a step (bench/README.md).
/// </summary>
public class NativeHeapTests
{
    [Fact]
    public void Glibc_takes_the_settings_once_per_process()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(NativeHeap.KeepFreedMemory(), "glibc refused the mmap or trim threshold");
        Assert.True(NativeHeap.KeepFreedMemory()); // the second call reports the first
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("R1SHARP_GLIBC_HEAP", "default", true)]
    [InlineData("R1SHARP_GLIBC_HEAP", "keep", false)]
    [InlineData("MALLOC_MMAP_THRESHOLD_", "65536", true)]
    [InlineData("MALLOC_TRIM_THRESHOLD_", "0", true)]
    [InlineData("MALLOC_TOP_PAD_", "0", true)]
    [InlineData("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0", true)]
    [InlineData("GLIBC_TUNABLES", "glibc.malloc.arena_max=2:glibc.cpu.hwcaps=-AVX512F", false)]
    public void The_users_own_malloc_settings_win(string? name, string? value, bool userChose)
        => Assert.Equal(userChose, NativeHeap.UserChoseHeapSettings(n => n == name ? value : null));
}

/// <summary>
/// When the r1sharp command restarts itself with malloc on transparent huge pages (NativeHeap.RestartWithHugePages): only in
/// the kernel's madvise mode, once, keeping the user's tunables. That a real r1sharp process did restart is tested on
/// <c>r1sharp serve</c> (Server.Tests' HugePagesTests); the effect is measured in bench/README.md.
/// </summary>
public class HugePageRestartTests
{
    const string Madvise = "always [madvise] never\n";

    [Theory]
    [InlineData(Madvise, null, null, "glibc.malloc.hugetlb=1")]
    [InlineData(Madvise, "glibc.cpu.hwcaps=-AVX512F", null, "glibc.cpu.hwcaps=-AVX512F:glibc.malloc.hugetlb=1")]
    [InlineData(Madvise, "", null, "glibc.malloc.hugetlb=1")]
    [InlineData(Madvise, "glibc.malloc.hugetlb=1", null, null)]                 // restarted already
    [InlineData(Madvise, "glibc.malloc.hugetlb=0", null, null)]                 // the user said no
    [InlineData(Madvise, null, "default", null)]                               // R1SHARP_GLIBC_HEAP=default: glibc's own settings
    [InlineData(Madvise, null, "DEFAULT", null)]
    [InlineData(Madvise, null, "keep", "glibc.malloc.hugetlb=1")]
    [InlineData("[always] madvise never\n", null, null, null)]                // every process has them already
    [InlineData("always madvise [never]\n", null, null, null)]                // none can
    [InlineData(null, null, null, null)]                                      // no transparent huge pages in this kernel
    public void Restarts_only_in_madvise_mode_once_keeping_the_users_tunables(string? thp, string? tunables, string? heap, string? expected)
    {
        string? Env(string name) => name switch { "GLIBC_TUNABLES" => tunables, "R1SHARP_GLIBC_HEAP" => heap, _ => null };
        Assert.Equal(expected, NativeHeap.HugePageTunables(Env, thp));
    }
}
