using System;
using System.Runtime.InteropServices;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda.Handles;

/// <summary>
/// A driver resource that belongs to a context (memory, module, stream, event). It keeps the context alive
/// (a SafeHandle reference count) until the resource is freed, and makes the context current before freeing,
/// because the release may run on the finalizer thread, where no context is current.
/// </summary>
internal abstract class ContextBoundHandle : SafeHandle
{
    private readonly PrimaryContextHandle _context;

    protected ContextBoundHandle(PrimaryContextHandle context)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        _context = context;
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>
    /// Takes ownership of a raw handle the driver returned, and only then holds the context: a handle whose
    /// creation failed is never released, so it must not keep a reference.
    /// </summary>
    internal void Attach(nint value)
    {
        bool added = false;
        _context.DangerousAddRef(ref added);
        SetHandle(value);
    }

    protected sealed override bool ReleaseHandle()
    {
        try
        {
            CudaResult current = CudaDriver.cuCtxSetCurrent(_context.DangerousGetHandle());
            CudaResult freed = current == CudaResult.Success ? Free(handle) : current;

            // After the driver has shut down (process exit) the memory is gone anyway.
            return freed is CudaResult.Success or CudaResult.ErrorDeinitialized;
        }
        finally
        {
            _context.DangerousRelease();
        }
    }

    protected abstract CudaResult Free(nint value);
}

internal sealed class DeviceMemoryHandle(PrimaryContextHandle context) : ContextBoundHandle(context)
{
    protected override CudaResult Free(nint value) => CudaDriver.cuMemFree_v2((ulong)value);
}

internal sealed class CudaModuleHandle(PrimaryContextHandle context) : ContextBoundHandle(context)
{
    protected override CudaResult Free(nint value) => CudaDriver.cuModuleUnload(value);
}

internal sealed class StreamHandle(PrimaryContextHandle context) : ContextBoundHandle(context)
{
    protected override CudaResult Free(nint value) => CudaDriver.cuStreamDestroy_v2(value);
}

internal sealed class EventHandle(PrimaryContextHandle context) : ContextBoundHandle(context)
{
    protected override CudaResult Free(nint value) => CudaDriver.cuEventDestroy_v2(value);
}

internal sealed class GraphHandle(PrimaryContextHandle context) : ContextBoundHandle(context)
{
    protected override CudaResult Free(nint value) => CudaDriver.cuGraphDestroy(value);
}

internal sealed class GraphExecHandle(PrimaryContextHandle context) : ContextBoundHandle(context)
{
    protected override CudaResult Free(nint value) => CudaDriver.cuGraphExecDestroy(value);
}
