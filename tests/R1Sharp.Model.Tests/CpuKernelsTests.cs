using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using R1Sharp.Model;

namespace R1Sharp.Model.Tests;

/// <summary>CpuKernels: the processor's vendor read right, and the capability set where libtorch reads it (the process's
/// native environment). Its effect on speed is measured, not tested (CpuKernels.cs, bench/README.md).</summary>
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

    /// <summary>This test process called PreferAvx2OnAmd when it loaded (tests/Shared/SameKernelsAsTheCli.cs), as the
    /// r1sharp command does; /proc/self/environ still holds the environment the process started with.</summary>
    [Fact]
    public void AVX2_is_set_in_the_native_environment_on_an_AMD_processor_with_AVX_512_unless_the_user_chose()
    {
        if (!OperatingSystem.IsLinux()) return;
        string? atStart = File.ReadAllText("/proc/self/environ").Split('\0')
            .FirstOrDefault(v => v.StartsWith("ATEN_CPU_CAPABILITY=", StringComparison.Ordinal))?["ATEN_CPU_CAPABILITY=".Length..];
        string? native = Marshal.PtrToStringUTF8(getenv("ATEN_CPU_CAPABILITY"));
        if (atStart is not null) Assert.Equal(atStart, native);
        else if (Avx512F.IsSupported && CpuKernels.Vendor() == "AuthenticAMD") Assert.Equal("avx2", native);
        else Assert.Null(native);
        Assert.Equal(native, CpuKernels.PreferAvx2OnAmd()); // a second call reports what is set
    }

    [DllImport("libc")]
    static extern IntPtr getenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name);
}
