using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace R1Sharp.Model;

/// <summary>
/// Which of libtorch's vectorised CPU kernels (ATen's "CPU capability") a process uses: AVX2 rather than AVX-512 on AMD
/// processors.
/// <para>
/// On an AMD EPYC with AVX-512 (the machine this project is built and measured on), about half of all processes ran the
/// pipeline base's pretraining 1.6–1.8× slower than the others (0.45–0.50 s a step against 0.27–0.30 s), from the first
/// step to the last, with the same losses: in the slow ones a quarter of the time sat in the AVX-512 exp of libtorch's
/// flash-attention backward (its masked constant load), in the fast ones almost none. Which one a process got followed
/// the address-space layout (with ASLR off, 4 runs of 4 were fast). With <c>ATEN_CPU_CAPABILITY=avx2</c> every run was
/// fast (5 of 5, 0.26–0.28 s a step) and the 1m decode step was as fast as before (3.3–3.7 ms at batch 64 either way);
/// the GEMMs are MKL's and do not change. AVX2 and AVX-512 kernels round differently, so results are repeatable run to
/// run, but not bit for bit equal to an AVX-512 process's.
/// </para>
/// </summary>
public static class CpuKernels
{
    /// <summary>
    /// Sets <c>ATEN_CPU_CAPABILITY=avx2</c> in this process's environment on a Linux AMD processor with AVX-512, unless it
    /// is already set (a user's choice wins; <c>ATEN_CPU_CAPABILITY=avx512</c> keeps the AVX-512 kernels). libtorch reads
    /// it once, at its first operation, so this must run before any tensor is made: the <c>r1sharp</c> command calls it
    /// first thing. Returns the capability asked for, or null when libtorch chooses.
    /// </summary>
    public static string? PreferAvx2OnAmd()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { } chosen) return chosen;
        if (!OperatingSystem.IsLinux() || !X86Base.IsSupported || !Avx512F.IsSupported || Vendor() != "AuthenticAMD") return null;
        try
        {
            // The native environment: .NET's Environment.SetEnvironmentVariable changes only its own copy on Unix.
            if (setenv(Variable, "avx2", 0) != 0) return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        Environment.SetEnvironmentVariable(Variable, "avx2");
        return "avx2";
    }

    const string Variable = "ATEN_CPU_CAPABILITY";

    /// <summary>The CPUID vendor string, e.g. <c>AuthenticAMD</c> or <c>GenuineIntel</c>.</summary>
    public static string Vendor()
    {
        if (!X86Base.IsSupported) return "";
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        var bytes = new byte[12];
        BitConverter.TryWriteBytes(bytes.AsSpan(0), ebx);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), edx);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), ecx);
        return Encoding.ASCII.GetString(bytes);
    }

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int setenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
