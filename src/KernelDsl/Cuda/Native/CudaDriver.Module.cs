using System.Runtime.InteropServices;

namespace KernelDsl.Cuda.Native;

internal static unsafe partial class CudaDriver
{
    // ---- modules and functions ----

    /// <summary>
    /// Loads a module image; for PTX text the driver JIT-compiles it for the current context's device.
    /// optionValues holds, per option, either a pointer (log buffers) or an integer in a pointer-sized slot
    /// (sizes, flags); the driver writes outputs (bytes logged, wall time) back into those slots.
    /// </summary>
    [LibraryImport(Library)]
    internal static partial CudaResult cuModuleLoadDataEx(out nint module, void* image, uint numOptions, JitOption* options, void** optionValues);

    [LibraryImport(Library)]
    internal static partial CudaResult cuModuleUnload(nint module);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial CudaResult cuModuleGetFunction(out nint function, nint module, string name);

    [LibraryImport(Library)]
    internal static partial CudaResult cuFuncSetAttribute(nint function, FunctionAttribute attribute, int value);

    [LibraryImport(Library)]
    internal static partial CudaResult cuFuncGetAttribute(out int value, FunctionAttribute attribute, nint function);

    [LibraryImport(Library)]
    internal static partial CudaResult cuLaunchKernel(
        nint function,
        uint gridX, uint gridY, uint gridZ,
        uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes,
        nint stream,
        void** kernelParams,
        void** extra);
}
