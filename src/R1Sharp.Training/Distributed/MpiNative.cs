using System.Runtime.InteropServices;

namespace R1Sharp.Training.Distributed;

/// <summary>
/// The few functions of the MPI C API that <see cref="MpiCollective"/> calls, bound at run time from an MPICH-ABI library
/// (MPICH, Intel MPI, MVAPICH, Cray MPICH: <c>libmpich.so.12</c>; <c>R1SHARP_MPI_LIBRARY</c> names another file).
/// In that ABI handles are ints; the constants below are MPICH's mpi.h (4.0, Debian 12's libmpich-dev).
/// </summary>
internal static unsafe class MpiNative
{
    public const string DefaultLibrary = "libmpich.so.12";

    // mpi.h: typedef int MPI_Comm / MPI_Datatype / MPI_Op.
    public const int CommWorld = 0x44000000;    // MPI_COMM_WORLD
    public const int Byte = 0x4c00010d;         // MPI_BYTE
    public const int Int = 0x4c000405;          // MPI_INT
    public const int Float = 0x4c00040a;        // MPI_FLOAT
    public const int Double = 0x4c00080b;       // MPI_DOUBLE
    public const int OpMax = 0x58000001;        // MPI_MAX
    public const int OpSum = 0x58000003;        // MPI_SUM
    public const int ThreadSerialized = 2;      // MPI_THREAD_SERIALIZED
    public const int Success = 0;               // MPI_SUCCESS
    public const int MaxErrorString = 512;      // MPI_MAX_ERROR_STRING
    public static readonly IntPtr InPlace = -1; // MPI_IN_PLACE: (void *) -1

    public static string Library { get; private set; } = DefaultLibrary;

    public static delegate* unmanaged<int*, IntPtr, int, int*, int> InitThread;
    public static delegate* unmanaged<int*, int> Initialized;
    public static delegate* unmanaged<int*, int> Finalized;
    public static delegate* unmanaged<int> Finalize;
    public static delegate* unmanaged<int, int, int> Abort;
    public static delegate* unmanaged<int, int*, int> CommRank;
    public static delegate* unmanaged<int, int*, int> CommSize;
    public static delegate* unmanaged<IntPtr, IntPtr, int, int, int, int, int> Allreduce;
    public static delegate* unmanaged<IntPtr, int, int, int, int, int> Bcast;
    public static delegate* unmanaged<IntPtr, int, int, IntPtr, int, int, int, int> Allgather;
    public static delegate* unmanaged<IntPtr, int, int, IntPtr, int*, int*, int, int, int> Allgatherv;
    public static delegate* unmanaged<int, int> Barrier;
    public static delegate* unmanaged<int, byte*, int*, int> ErrorString;

    static IntPtr handle;

    /// <summary>Loads the library and its functions once.</summary>
    /// <exception cref="DllNotFoundException">The library or one of its functions is missing (the message says what to install).</exception>
    public static void Load()
    {
        if (handle != IntPtr.Zero) return;
        Library = Environment.GetEnvironmentVariable("R1SHARP_MPI_LIBRARY") is { Length: > 0 } custom ? custom : DefaultLibrary;
        if (!NativeLibrary.TryLoad(Library, out var h))
            throw new DllNotFoundException(
                $"MPI backend: cannot load {Library}, the MPI C library of the MPICH ABI (MPICH, Intel MPI, MVAPICH, Cray MPICH). " +
                "Install MPICH (Debian/Ubuntu: apt install mpich) or point R1SHARP_MPI_LIBRARY at your MPI's libmpi.so; " +
                "or set R1SHARP_COLLECTIVE=single to run as one process.");
        IntPtr F(string name) => NativeLibrary.TryGetExport(h, name, out var f) ? f
            : throw new DllNotFoundException($"MPI backend: {Library} has no function {name}: it is not an MPI library of the MPICH ABI");
        InitThread = (delegate* unmanaged<int*, IntPtr, int, int*, int>)F("MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)F("MPI_Finalized");
        Finalize = (delegate* unmanaged<int>)F("MPI_Finalize");
        Abort = (delegate* unmanaged<int, int, int>)F("MPI_Abort");
        CommRank = (delegate* unmanaged<int, int*, int>)F("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<int, int*, int>)F("MPI_Comm_size");
        Allreduce = (delegate* unmanaged<IntPtr, IntPtr, int, int, int, int, int>)F("MPI_Allreduce");
        Bcast = (delegate* unmanaged<IntPtr, int, int, int, int, int>)F("MPI_Bcast");
        Allgather = (delegate* unmanaged<IntPtr, int, int, IntPtr, int, int, int, int>)F("MPI_Allgather");
        Allgatherv = (delegate* unmanaged<IntPtr, int, int, IntPtr, int*, int*, int, int, int>)F("MPI_Allgatherv");
        Barrier = (delegate* unmanaged<int, int>)F("MPI_Barrier");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)F("MPI_Error_string");
        handle = h;
    }

    /// <summary>Throws with MPI's own text when <paramref name="code"/> is not MPI_SUCCESS.</summary>
    public static void Check(int code, string call)
    {
        if (code == Success) return;
        var text = stackalloc byte[MaxErrorString + 1];
        int length = 0;
        string detail = ErrorString(code, text, &length) == Success ? System.Text.Encoding.ASCII.GetString(text, Math.Clamp(length, 0, MaxErrorString)) : $"error {code}";
        throw new InvalidOperationException($"{call} failed: {detail}");
    }
}
