using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using TorchSharp;

namespace R1Sharp.Model;

/// <summary>
/// Frees the native object of a finalized TorchSharp <see cref="Scalar"/> only after <see cref="Delay"/>, never while
/// libtorch may still read it (docs/torchsharp-native.md, "Scalars").
/// <para>
/// TorchSharp reads a Scalar's handle and calls libtorch without keeping the Scalar alive, and makes temporary ones all
/// the time (<c>x * 0.5</c>, the <c>alpha = 1</c> of every <c>a + b</c>). A collection that another thread starts during
/// such a call lets the finalizer free the c10::Scalar under libtorch, which fails — rarely, and far into a run — as
/// "Expected false to be true, but got false" from <c>c10::Scalar::toFloat</c>. The build rewrites TorchSharp.dll's
/// Scalar finalizer to call a hook (build/TorchSharpScalarFix.cs); loading this assembly sets the hook. A call reads its
/// Scalars when it starts, so a native object freed ten seconds after its Scalar became garbage is never in use.
/// </para>
/// </summary>
public static class TorchSharpScalars
{
    /// <summary>
    /// Scalars for the hot path, made once and never finalized. A literal makes a new Scalar at every call, and so does
    /// <c>a + b</c> of two tensors (TorchSharp passes <c>alpha = 1</c> as a new one): each then waits for a collection, and
    /// glibc carves its few bytes out of a freed activation block, which then no longer fits the next step's activation
    /// — the C heap grows every step until a collection comes (optimizer steps made most of them: DisposingAdamW.cs).
    /// Write <c>a.add(b, One)</c> and <c>x.pow(Two)</c> in code that runs every step.
    /// </summary>
    public static readonly Scalar One = 1, Two = 2;

    /// <summary>How long a finalized Scalar's native object is kept.</summary>
    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(10);

    static readonly ConcurrentQueue<(long Ticks, IntPtr Handle)> Pending = new();
    static readonly Action<IntPtr>? Free = (Action<IntPtr>?)typeof(Scalar).Assembly.GetType("TorchSharp.PInvoke.NativeMethods")
        ?.GetMethod("THSTorch_dispose_scalar", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static)
        ?.CreateDelegate(typeof(Action<IntPtr>));

    /// <summary>True when TorchSharp.dll carries the hook and it is set: finalized Scalars are freed late.</summary>
    public static bool Deferred { get; private set; }

    /// <summary>Finalized Scalars whose native objects are still kept.</summary>
    public static int PendingCount => Pending.Count;

    /// <summary>Scalars finalized since the process started (every one was garbage a collection had to find).</summary>
    public static long FinalizedCount => Interlocked.Read(ref finalized);

    static long finalized;

    /// <summary><see cref="FinalizedCount"/> after a full collection has found every garbage Scalar so far.</summary>
    public static long CountAfterCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return FinalizedCount;
    }

    /// <summary>How many Scalars <paramref name="action"/> leaves to the finalizer (garbage from before it collected first).</summary>
    public static long LeftToFinalizer(Action action)
    {
        long before = CountAfterCollection();
        action();
        return CountAfterCollection() - before;
    }

#pragma warning disable CA2255 // a library's module initializer on purpose: the hook must be set before any Scalar is finalized
    [ModuleInitializer]
    internal static void Install()
    {
        var hook = typeof(Scalar).GetField("R1SharpFinalizeHook", BindingFlags.Public | BindingFlags.Static);
        if (hook is null || Free is null) return; // an unpatched TorchSharp.dll: TorchSharp's own finalizer stays
        hook.SetValue(null, new Action<IntPtr>(Finalized));
        Deferred = true;
    }
#pragma warning restore CA2255

    /// <summary>Runs on the finalizer thread for each finalized Scalar: keeps it, then frees those kept long enough.</summary>
    static void Finalized(IntPtr handle)
    {
        long now = Environment.TickCount64;
        Interlocked.Increment(ref finalized);
        Pending.Enqueue((now, handle));
        while (Pending.TryPeek(out var oldest) && now - oldest.Ticks >= (long)Delay.TotalMilliseconds && Pending.TryDequeue(out oldest))
            Free!(oldest.Handle);
    }
}
