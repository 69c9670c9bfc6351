using System;
using System.Runtime.CompilerServices;
using KernelDsl.Cuda;
using KernelDsl.Cuda.Handles;
using KernelDsl.Cuda.Native;

namespace KernelDsl;

/// <summary>
/// A contiguous array of <typeparamref name="T"/> in GPU memory (float, <see cref="Half"/>, <see cref="BFloat16"/>,
/// or any unmanaged type). Copies are synchronous on the legacy default stream: an upload has finished with the
/// host span when it returns, and a download has the data. Dispose frees the memory (a finalizer does, too) —
/// unless the buffer is a view of memory another library owns (<see cref="Wrap"/>, in DeviceBuffer.External.cs).
/// </summary>
public sealed unsafe partial class DeviceBuffer<T> : IDisposable
    where T : unmanaged
{
    private readonly ContextBoundHandle _memory;

    /// <summary>Allocates <paramref name="length"/> elements (uninitialized) on the context's device; 0 is an empty buffer (pointer 0).</summary>
    public DeviceBuffer(long length, CudaContext? context = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Context = context ?? Cuda.Cuda.DefaultContext;
        Length = length;
        Context.MakeCurrent();
        _memory = new DeviceMemoryHandle(Context.Handle);
        if (length == 0)
        {
            // An empty buffer (an empty batch or sequence) holds no memory: its pointer is 0 and nothing is freed.
            return;
        }

        CudaResult result = CudaDriver.cuMemAlloc_v2(out ulong pointer, checked((nuint)SizeInBytes));
        CudaException.Check(result, "cuMemAlloc_v2", $"{SizeInBytes} bytes for {length} × {typeof(T).Name}");
        _memory.Attach((nint)pointer);
    }

    public CudaContext Context { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    public long SizeInBytes => Length * sizeof(T);

    /// <summary>The device address of element 0 (a CUdeviceptr), for kernel arguments.</summary>
    public ulong DevicePointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_memory.IsClosed, this);
            return (ulong)_memory.DangerousGetHandle();
        }
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="source"/>.</summary>
    public static DeviceBuffer<T> From(ReadOnlySpan<T> source, CudaContext? context = null)
    {
        var buffer = new DeviceBuffer<T>(source.Length, context);
        buffer.Upload(source);
        return buffer;
    }

    /// <summary>Copies host data into the whole buffer; the span's length must equal <see cref="Length"/>.</summary>
    public void Upload(ReadOnlySpan<T> source)
    {
        RequireLength(source.Length, nameof(source));
        if (Length == 0)
        {
            return;
        }

        Context.MakeCurrent();
        fixed (T* host = source)
        {
            CudaException.Check(CudaDriver.cuMemcpyHtoD_v2(DevicePointer, host, (nuint)SizeInBytes), "cuMemcpyHtoD_v2");
        }
    }

    /// <summary>Copies the whole buffer into host memory; the span's length must equal <see cref="Length"/>.</summary>
    public void Download(Span<T> destination)
    {
        RequireLength(destination.Length, nameof(destination));
        if (Length == 0)
        {
            return;
        }

        Context.MakeCurrent();
        fixed (T* host = destination)
        {
            CudaException.Check(CudaDriver.cuMemcpyDtoH_v2(host, DevicePointer, (nuint)SizeInBytes), "cuMemcpyDtoH_v2");
        }
    }

    /// <summary>Downloads into a new array.</summary>
    public T[] ToArray()
    {
        var result = new T[checked((int)Length)];
        Download(result);
        return result;
    }

    /// <summary>Copies this buffer into another of the same length on the same device.</summary>
    public void CopyTo(DeviceBuffer<T> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Length != Length)
        {
            throw new ArgumentException($"'{nameof(destination)}' has {destination.Length} elements, but this buffer has {Length}.", nameof(destination));
        }

        if (Length == 0)
        {
            return;
        }

        Context.MakeCurrent();
        CudaException.Check(CudaDriver.cuMemcpyDtoD_v2(destination.DevicePointer, DevicePointer, (nuint)SizeInBytes), "cuMemcpyDtoD_v2");
    }

    /// <summary>
    /// Sets every element to <paramref name="value"/> on the device, for 1-, 2- and 4-byte types
    /// (cuMemsetD8/D16/D32). Use it to poison outputs: <c>Fill(float.NaN)</c>, <c>Fill(Half.NaN)</c>.
    /// </summary>
    public void Fill(T value)
    {
        if (Length == 0)
        {
            return;
        }

        Context.MakeCurrent();
        nuint count = (nuint)Length;
        CudaResult result = sizeof(T) switch
        {
            1 => CudaDriver.cuMemsetD8_v2(DevicePointer, Unsafe.BitCast<T, byte>(value), count),
            2 => CudaDriver.cuMemsetD16_v2(DevicePointer, Unsafe.BitCast<T, ushort>(value), count),
            4 => CudaDriver.cuMemsetD32_v2(DevicePointer, Unsafe.BitCast<T, uint>(value), count),
            _ => throw new NotSupportedException($"Fill supports 1-, 2- and 4-byte element types, not {typeof(T).Name} ({sizeof(T)} bytes); use Memset or Upload."),
        };
        CudaException.Check(result, "cuMemsetD" + (sizeof(T) * 8) + "_v2");
    }

    /// <summary>Sets every byte of the buffer to <paramref name="value"/> (cuMemsetD8); 0xFF poisons float types with NaN.</summary>
    public void Memset(byte value)
    {
        if (Length == 0)
        {
            return;
        }

        Context.MakeCurrent();
        CudaException.Check(CudaDriver.cuMemsetD8_v2(DevicePointer, value, (nuint)SizeInBytes), "cuMemsetD8_v2");
    }

    /// <summary>Sets every element to all-zero bits.</summary>
    public void Clear() => Memset(0);

    public void Dispose() => _memory.Dispose();

    private void RequireLength(int actual, string name)
    {
        if (actual != Length)
        {
            throw new ArgumentException($"'{name}' has {actual} elements, but the device buffer has {Length} ({typeof(T).Name}).", name);
        }
    }
}
