using System.Runtime.InteropServices;

namespace KernelDsl.Cuda.Native;

/// <summary>
/// Raw entry points of the CUDA driver (libcuda.so.1, installed with the NVIDIA driver; no toolkit needed).
/// Names are the exported symbols: where cuda.h maps an API to a versioned symbol (cuMemAlloc → cuMemAlloc_v2)
/// the versioned one is imported, because the unversioned export keeps the old 32-bit ABI.
/// Handles are raw here; the public types wrap them in SafeHandles. Split by topic into partial files.
/// </summary>
internal static unsafe partial class CudaDriver
{
    internal const string Library = "libcuda.so.1";

    // ---- init, version, errors ----

    [LibraryImport(Library)]
    internal static partial CudaResult cuInit(uint flags);

    [LibraryImport(Library)]
    internal static partial CudaResult cuDriverGetVersion(out int version);

    /// <summary>Writes a pointer to a static NUL-terminated string; never freed.</summary>
    [LibraryImport(Library)]
    internal static partial CudaResult cuGetErrorName(CudaResult error, out byte* name);

    [LibraryImport(Library)]
    internal static partial CudaResult cuGetErrorString(CudaResult error, out byte* message);

    // ---- devices ----

    [LibraryImport(Library)]
    internal static partial CudaResult cuDeviceGetCount(out int count);

    [LibraryImport(Library)]
    internal static partial CudaResult cuDeviceGet(out int device, int ordinal);

    [LibraryImport(Library)]
    internal static partial CudaResult cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(Library)]
    internal static partial CudaResult cuDeviceGetAttribute(out int value, DeviceAttribute attribute, int device);

    [LibraryImport(Library)]
    internal static partial CudaResult cuDeviceTotalMem_v2(out nuint bytes, int device);

    // ---- contexts ----

    [LibraryImport(Library)]
    internal static partial CudaResult cuDevicePrimaryCtxRetain(out nint context, int device);

    [LibraryImport(Library)]
    internal static partial CudaResult cuDevicePrimaryCtxRelease_v2(int device);

    [LibraryImport(Library)]
    internal static partial CudaResult cuCtxSetCurrent(nint context);

    [LibraryImport(Library)]
    internal static partial CudaResult cuCtxGetCurrent(out nint context);

    [LibraryImport(Library)]
    internal static partial CudaResult cuCtxSynchronize();
}
