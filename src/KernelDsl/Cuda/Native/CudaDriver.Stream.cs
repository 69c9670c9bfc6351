using System.Runtime.InteropServices;

namespace KernelDsl.Cuda.Native;

internal static partial class CudaDriver
{
    // ---- streams and events ----

    [LibraryImport(Library)]
    internal static partial CudaResult cuStreamCreate(out nint stream, uint flags);

    [LibraryImport(Library)]
    internal static partial CudaResult cuStreamSynchronize(nint stream);

    [LibraryImport(Library)]
    internal static partial CudaResult cuStreamDestroy_v2(nint stream);

    [LibraryImport(Library)]
    internal static partial CudaResult cuEventCreate(out nint @event, uint flags);

    [LibraryImport(Library)]
    internal static partial CudaResult cuEventRecord(nint @event, nint stream);

    [LibraryImport(Library)]
    internal static partial CudaResult cuEventSynchronize(nint @event);

    /// <summary>The unversioned symbol: present in every driver this runtime supports (CUDA 11.8+).</summary>
    [LibraryImport(Library)]
    internal static partial CudaResult cuEventElapsedTime(out float milliseconds, nint start, nint end);

    [LibraryImport(Library)]
    internal static partial CudaResult cuEventDestroy_v2(nint @event);
}
