using System.Runtime.Intrinsics.X86;
using R1Sharp.Model;

namespace R1Sharp.Model.Tests;

/// <summary>CpuKernels: the processor's vendor read right, and the choice it makes. Its effect on speed is measured, not
/// tested (CpuKernels.cs, bench/README.md).</summary>
public class CpuKernelsTests
{
    [Fact]
    public void The_vendor_string_reads_as_the_processor_names_itself()
    {
        if (!X86Base.IsSupported) return;
        var cpuinfo = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("vendor_id", StringComparison.Ordinal)) : null;
        if (cpuinfo is not null) Assert.Equal(cpuinfo.Split(':')[1].Trim(), CpuKernels.Vendor());
        else Assert.Matches("^(AuthenticAMD|GenuineIntel|HygonGenuine|CentaurHauls|  Shanghai  )$", CpuKernels.Vendor());
    }

    [Fact]
    public void AVX2_is_asked_for_exactly_on_an_AMD_processor_with_AVX_512_unless_the_user_chose()
    {
        // This test process has made tensors already, so what it sets no longer matters to libtorch; the r1sharp command
        // calls it before its first tensor.
        var before = Environment.GetEnvironmentVariable("ATEN_CPU_CAPABILITY");
        var asked = CpuKernels.PreferAvx2OnAmd();
        if (before is not null) Assert.Equal(before, asked);
        else if (OperatingSystem.IsLinux() && Avx512F.IsSupported && CpuKernels.Vendor() == "AuthenticAMD")
        {
            Assert.Equal("avx2", asked);
            Assert.Equal("avx2", Environment.GetEnvironmentVariable("ATEN_CPU_CAPABILITY"));
        }
        else Assert.Null(asked);
    }
}
