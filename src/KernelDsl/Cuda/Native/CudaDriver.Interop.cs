using System.Runtime.InteropServices;

namespace KernelDsl.Cuda.Native;

internal static unsafe partial class CudaDriver
{
    // ---- checking memory and streams that other libraries own (DeviceBuffer.Wrap, CudaStream.Wrap) ----

    /// <summary>CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: the device an allocation lives on (an int).</summary>
    internal const int PointerAttributeDeviceOrdinal = 9;

    [LibraryImport(Library)]
    internal static partial CudaResult cuPointerGetAttribute(void* data, int attribute, ulong devicePointer);

    /// <summary>The base and size of the allocation that contains a device address.</summary>
    [LibraryImport(Library)]
    internal static partial CudaResult cuMemGetAddressRange_v2(out ulong basePointer, out nuint size, ulong devicePointer);

    [LibraryImport(Library)]
    internal static partial CudaResult cuStreamGetCtx(nint stream, out nint context);
}
