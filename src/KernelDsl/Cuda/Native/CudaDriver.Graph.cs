using System.Runtime.InteropServices;

namespace KernelDsl.Cuda.Native;

internal static partial class CudaDriver
{
    // ---- stream capture and graphs (CUDA 11.4+ for cuGraphInstantiateWithFlags) ----

    /// <summary>cuda.h maps cuStreamBeginCapture to the _v2 symbol (the one that takes a capture mode).</summary>
    [LibraryImport(Library)]
    internal static partial CudaResult cuStreamBeginCapture_v2(nint stream, StreamCaptureMode mode);

    [LibraryImport(Library)]
    internal static partial CudaResult cuStreamEndCapture(nint stream, out nint graph);

    [LibraryImport(Library)]
    internal static partial CudaResult cuStreamIsCapturing(nint stream, out StreamCaptureStatus status);

    [LibraryImport(Library)]
    internal static partial CudaResult cuGraphInstantiateWithFlags(out nint graphExec, nint graph, ulong flags);

    [LibraryImport(Library)]
    internal static partial CudaResult cuGraphLaunch(nint graphExec, nint stream);

    [LibraryImport(Library)]
    internal static partial CudaResult cuGraphGetNodes(nint graph, nint nodes, ref nuint count);

    [LibraryImport(Library)]
    internal static partial CudaResult cuGraphExecDestroy(nint graphExec);

    [LibraryImport(Library)]
    internal static partial CudaResult cuGraphDestroy(nint graph);
}
