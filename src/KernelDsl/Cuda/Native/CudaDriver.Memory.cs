using System.Runtime.InteropServices;

namespace KernelDsl.Cuda.Native;

internal static unsafe partial class CudaDriver
{
    // ---- device memory (CUdeviceptr is a 64-bit integer, not a host pointer) ----

    [LibraryImport(Library)]
    internal static partial CudaResult cuMemAlloc_v2(out ulong devicePointer, nuint bytes);

    [LibraryImport(Library)]
    internal static partial CudaResult cuMemFree_v2(ulong devicePointer);

    [LibraryImport(Library)]
    internal static partial CudaResult cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);

    [LibraryImport(Library)]
    internal static partial CudaResult cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);

    [LibraryImport(Library)]
    internal static partial CudaResult cuMemcpyDtoD_v2(ulong destination, ulong source, nuint bytes);

    [LibraryImport(Library)]
    internal static partial CudaResult cuMemsetD8_v2(ulong destination, byte value, nuint count);

    [LibraryImport(Library)]
    internal static partial CudaResult cuMemsetD16_v2(ulong destination, ushort value, nuint count);

    [LibraryImport(Library)]
    internal static partial CudaResult cuMemsetD32_v2(ulong destination, uint value, nuint count);

    // Stream-ordered fills (the empty-call path of the device Forward: O = 0 and LSE = −∞ without a kernel).
    [LibraryImport(Library)]
    internal static partial CudaResult cuMemsetD32Async(ulong destination, uint value, nuint count, nint stream);

    [LibraryImport(Library)]
    internal static partial CudaResult cuMemsetD2D8Async(ulong destination, nuint pitch, byte value, nuint width, nuint height, nint stream);

    [LibraryImport(Library)]
    internal static partial CudaResult cuMemGetInfo_v2(out nuint free, out nuint total);
}
