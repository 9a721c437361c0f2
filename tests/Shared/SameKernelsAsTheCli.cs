using System.Runtime.CompilerServices;

namespace R1Sharp.Tests;

/// <summary>
/// Test processes use the CPU kernels the r1sharp command uses (R1Sharp.Model.CpuKernels: AVX2 on AMD processors), so a
/// result computed in a test agrees bit for bit with the same computation in an r1sharp process the test started. Runs
/// when the test assembly loads, before any tensor; a no-op in test projects without R1Sharp.Model.
/// </summary>
static class SameKernelsAsTheCli
{
#pragma warning disable CA2255 // a test assembly's module initializer on purpose: it must run before the first tensor
    [ModuleInitializer]
    internal static void Choose() =>
        Type.GetType("R1Sharp.Model.CpuKernels, R1Sharp.Model")?.GetMethod("PreferAvx2OnAmd")?.Invoke(null, null);
#pragma warning restore CA2255
}
