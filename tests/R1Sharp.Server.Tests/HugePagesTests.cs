using R1Sharp.Server.Tests.Fleet;

namespace R1Sharp.Server.Tests;

/// <summary>
/// A real <c>r1sharp serve</c> process restarted itself (execve, same pid) with malloc on transparent huge pages where the
/// kernel asks for madvise (NativeHeap.RestartWithHugePages), and malloc did advise its memory; elsewhere it did not restart.
/// </summary>
public class HugePagesTests
{
    [Fact]
    public void A_serving_process_runs_with_malloc_on_huge_pages_where_the_kernel_is_in_madvise_mode()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/sys/kernel/mm/transparent_hugepage/enabled")) return;
        bool madvise = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[madvise]", StringComparison.Ordinal);
        using var serve = new ServeProcess();
        Assert.True(serve.Running);
        var environment = File.ReadAllText($"/proc/{serve.Pid}/environ").Split('\0');
        bool tunable = environment.Any(e => e.StartsWith("GLIBC_TUNABLES=", StringComparison.Ordinal) && e.Contains("glibc.malloc.hugetlb=1", StringComparison.Ordinal));
        Assert.Equal(madvise, tunable);
        // "hg" in a mapping's VmFlags: madvise(MADV_HUGEPAGE) was called on it — by glibc's malloc, as nothing else of the
        // process's asks for huge pages
        bool advised = File.ReadLines($"/proc/{serve.Pid}/smaps").Any(l => l.StartsWith("VmFlags:", StringComparison.Ordinal) && l.Split(' ').Contains("hg"));
        Assert.Equal(madvise, advised);
    }
}
