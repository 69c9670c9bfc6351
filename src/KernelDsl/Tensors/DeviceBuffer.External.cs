using System;
using KernelDsl.Cuda;
using KernelDsl.Cuda.Handles;
using KernelDsl.Cuda.Native;

namespace KernelDsl;

/// <summary>Views of device memory that another library owns (PyTorch, cuBLAS, a native host, ...).</summary>
public sealed unsafe partial class DeviceBuffer<T>
{
    private DeviceBuffer(CudaContext context, long length, ContextBoundHandle memory)
    {
        Context = context;
        Length = length;
        _memory = memory;
    }

    /// <summary>False for a view made by <see cref="Wrap"/>: disposing it leaves the memory to its owner.</summary>
    public bool OwnsMemory => _memory is not BorrowedHandle;

    /// <summary>
    /// A non-owning view of <paramref name="length"/> elements at <paramref name="devicePointer"/> (a CUdeviceptr, e.g.
    /// PyTorch's <c>tensor.data_ptr()</c> or a <c>cudaMalloc</c> result). The memory must be on the context's device,
    /// and the whole range must lie inside one allocation (both checked with the driver); it must stay allocated while
    /// the view is used — the owner frees it, never this view. Kernels launched through the view are ordered with the
    /// owner's work only by the stream they run on (wrap the owner's stream with <see cref="CudaStream.Wrap"/>).
    /// </summary>
    public static DeviceBuffer<T> Wrap(ulong devicePointer, long length, CudaContext? context = null)
    {
        CheckWrapArguments(devicePointer, length);
        context ??= Cuda.Cuda.DefaultContext;
        context.MakeCurrent();
        if (length == 0)
        {
            // An empty view (PyTorch's empty tensors may have any data_ptr, 0 included) addresses nothing: nothing to check.
            return new DeviceBuffer<T>(context, 0, new BorrowedHandle(context.Handle));
        }

        long bytes = checked(length * sizeof(T));

        int ordinal;
        CudaResult result = CudaDriver.cuPointerGetAttribute(&ordinal, CudaDriver.PointerAttributeDeviceOrdinal, devicePointer);
        if (result != CudaResult.Success)
        {
            throw new ArgumentException(
                $"0x{devicePointer:X} is not device memory the CUDA driver knows.", nameof(devicePointer),
                new CudaException(result, "cuPointerGetAttribute", "CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL"));
        }

        if (ordinal != context.Device.Ordinal)
        {
            throw new ArgumentException(
                $"0x{devicePointer:X} is memory of device {ordinal}, but the context is device {context.Device.Ordinal}'s: pass CudaContext.ForDevice({ordinal}).",
                nameof(devicePointer));
        }

        CudaException.Check(CudaDriver.cuMemGetAddressRange_v2(out ulong start, out nuint size, devicePointer), "cuMemGetAddressRange_v2");
        ulong available = start + size - devicePointer;
        if ((ulong)bytes > available)
        {
            throw new ArgumentOutOfRangeException(
                nameof(length), length,
                $"{length} × {typeof(T).Name} = {bytes} bytes from 0x{devicePointer:X} run past the end of its allocation (0x{start:X}, {size} bytes): at most {available / (ulong)sizeof(T)} elements fit.");
        }

        var memory = new BorrowedHandle(context.Handle);
        memory.Attach((nint)devicePointer);
        return new DeviceBuffer<T>(context, length, memory);
    }

    /// <summary>The checks that need no GPU: a negative length; for a non-empty view, a null pointer or a misaligned address.</summary>
    internal static void CheckWrapArguments(ulong devicePointer, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0)
        {
            return;
        }

        if (devicePointer == 0)
        {
            throw new ArgumentException("The device pointer is null.", nameof(devicePointer));
        }

        if (devicePointer % (ulong)sizeof(T) != 0)
        {
            throw new ArgumentException(
                $"0x{devicePointer:X} is not aligned to {typeof(T).Name} ({sizeof(T)} bytes).", nameof(devicePointer));
        }
    }
}
