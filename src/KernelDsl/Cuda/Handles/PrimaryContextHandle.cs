using System;
using System.Runtime.InteropServices;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda.Handles;

/// <summary>
/// One retain of a device's primary context (the context the CUDA runtime and PyTorch share, so our
/// allocations and theirs live side by side). Releasing drops the retain; the driver destroys the context
/// when the last retain goes.
/// </summary>
internal sealed class PrimaryContextHandle : SafeHandle
{
    private PrimaryContextHandle(int device)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        Device = device;
    }

    public int Device { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal static PrimaryContextHandle Retain(int device)
    {
        var result = new PrimaryContextHandle(device);
        CudaException.Check(CudaDriver.cuDevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain", $"device {device}");
        result.SetHandle(context);
        return result;
    }

    /// <summary>Makes this context current on the calling thread (driver calls act on the thread's current context).</summary>
    internal void MakeCurrent()
    {
        CudaException.Check(CudaDriver.cuCtxSetCurrent(handle), "cuCtxSetCurrent");
    }

    protected override bool ReleaseHandle() => CudaDriver.cuDevicePrimaryCtxRelease_v2(Device) is CudaResult.Success or CudaResult.ErrorDeinitialized;
}
