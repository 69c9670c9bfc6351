using System;
using KernelDsl.Cuda.Handles;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>Sharing streams with other CUDA libraries, in both directions.</summary>
public sealed partial class CudaStream
{
    /// <summary>
    /// The raw CUstream (= cudaStream_t), to hand this stream to another library (e.g. PyTorch's
    /// <c>torch.cuda.ExternalStream(handle)</c>, or a cuBLAS handle's <c>cublasSetStream</c>).
    /// </summary>
    public nint NativeHandle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return Handle;
        }
    }

    /// <summary>False for a stream made by <see cref="Wrap"/>: disposing it leaves the stream to its owner.</summary>
    public bool OwnsStream => _handle is not BorrowedHandle;

    /// <summary>
    /// A non-owning view of a stream another library created (a CUstream or cudaStream_t, e.g. PyTorch's
    /// <c>torch.cuda.current_stream().cuda_stream</c>), so launches queue behind that library's work and its later work
    /// behind ours, with no synchronization. The stream must belong to <paramref name="context"/> (checked with the
    /// driver; the CUDA runtime and PyTorch use the device's primary context, which is what <see cref="CudaContext"/>
    /// is) and must outlive the view; disposing the view does not destroy it. For the legacy default stream pass
    /// null wherever a stream is accepted instead.
    /// </summary>
    public static CudaStream Wrap(nint handle, CudaContext? context = null)
    {
        CheckWrapArguments(handle);
        context ??= Cuda.DefaultContext;
        context.MakeCurrent();
        CudaResult result = CudaDriver.cuStreamGetCtx(handle, out nint owner);
        if (result != CudaResult.Success)
        {
            throw new ArgumentException($"0x{handle:X} is not a CUDA stream the driver knows.", nameof(handle), new CudaException(result, "cuStreamGetCtx"));
        }

        if (owner != context.Handle.DangerousGetHandle())
        {
            throw new ArgumentException(
                $"The stream 0x{handle:X} belongs to another context than device {context.Device.Ordinal}'s primary context; wrap it with the context it was created in.",
                nameof(handle));
        }

        var borrowed = new BorrowedHandle(context.Handle);
        borrowed.Attach(handle);
        return new CudaStream(context, borrowed);
    }

    /// <summary>The check that needs no GPU.</summary>
    internal static void CheckWrapArguments(nint handle)
    {
        if (handle == 0)
        {
            throw new ArgumentException("The stream handle is 0, the legacy default stream: pass null where a CudaStream is accepted instead.", nameof(handle));
        }
    }
}
