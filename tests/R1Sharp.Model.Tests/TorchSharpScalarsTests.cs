using System.Diagnostics;
using R1Sharp.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace R1Sharp.Model.Tests;

/// <summary>
/// The Scalar lifetime fix (docs/torchsharp-native.md, "Scalars"): TorchSharp.dll in this output carries the finalizer
/// hook, loading R1Sharp.Model sets it, and libtorch calls with temporary Scalars survive collections started by another
/// thread. Without the fix the stress below failed within one to five seconds here ("Expected false to be true, but got
/// false" from c10::Scalar::toFloat), in plain arithmetic and in TorchSharp's AdamW alike.
/// </summary>
public class TorchSharpScalarsTests
{
    [Fact]
    public void The_build_hooks_the_Scalar_finalizer_and_loading_R1Sharp_sets_the_hook()
    {
        Assert.True(TorchSharpScalars.Deferred, "TorchSharp.dll in the test output has no R1SharpFinalizeHook, or it is not set");
        Assert.NotNull(typeof(Scalar).GetField("R1SharpFinalizeHook")!.GetValue(null));
    }

    [Fact]
    public void A_finalized_Scalar_is_kept_for_a_while_not_freed_at_once()
    {
        MakeGarbage(1000);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // The 1,000 were finalized just now: none is old enough to be freed yet (older ones may be).
        Assert.True(TorchSharpScalars.PendingCount >= 1000, $"{TorchSharpScalars.PendingCount} pending");
    }

    static void MakeGarbage(int count)
    {
        for (int i = 0; i < count; i++) _ = (i * 0.5).ToScalar();
    }

    [Fact]
    public void Temporary_Scalars_survive_collections_from_another_thread()
    {
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.KeepAlive(new byte[1 << 16]);
                if (Environment.TickCount % 3 == 0)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                }
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            var x = randn(256, 256);
            var parameters = Enumerable.Range(0, 8).Select(_ => new Parameter(randn(64, 64))).ToList();
            var adam = optim.AdamW(parameters, 1e-3); // TorchSharp's own step: eight temporary Scalars per parameter
            long iterations = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(6))
            {
                using var scope = NewDisposeScope();
                for (int i = 0; i < 4; i++)
                {
                    var y = x.mul(0.5).add(1.0).clamp(-3.0, 3.0).pow(2.0); // temporary Scalars
                    y = (y + x).div(2.0);                                   // and the alpha = 1 of Tensor.add(Tensor)
                    Assert.True(float.IsFinite(y.sum().item<float>()));
                }
                foreach (var p in parameters) p.grad = ones(64, 64);
                adam.step();
                iterations++;
            }
            Assert.True(iterations > 10, $"{iterations} iterations");
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }
}
