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
