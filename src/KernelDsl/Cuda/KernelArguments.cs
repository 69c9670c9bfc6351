using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace KernelDsl.Cuda;

/// <summary>
/// The parameter list of a kernel launch, in .param order. cuLaunchKernel takes a void** whose i-th entry
/// points at the value of parameter i; values here live in one byte buffer, each aligned to its own size, and
/// the pointer array is built over the pinned buffer only for the duration of the launch (the driver copies
/// the values during the call). Reusable: <see cref="Clear"/> and add again.
/// </summary>
public sealed class KernelArguments
{
    private readonly List<(int Offset, int Size)> _slots = new();
    private byte[] _data = new byte[64];
    private int _length;

    /// <summary>Number of parameters.</summary>
    public int Count => _slots.Count;

    /// <summary>Bytes used by the values, including alignment padding.</summary>
    public int SizeInBytes => _length;

    /// <summary>A device address (a .u64 parameter holding a CUdeviceptr).</summary>
    public KernelArguments AddPointer(ulong devicePointer) => AddU64(devicePointer);

    /// <summary>The device address of a buffer's first element.</summary>
    public KernelArguments AddPointer<T>(DeviceBuffer<T> buffer)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(buffer);
        return AddU64(buffer.DevicePointer);
    }

    /// <summary>The device address of a tensor's first element.</summary>
    public KernelArguments AddPointer<T>(DeviceTensor<T> tensor)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return AddU64(tensor.DevicePointer);
    }

    public KernelArguments AddU32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(Reserve(sizeof(uint)), value);
        return this;
    }

    public KernelArguments AddS32(int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(Reserve(sizeof(int)), value);
        return this;
    }

    public KernelArguments AddU64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Reserve(sizeof(ulong)), value);
        return this;
    }

    public KernelArguments AddF32(float value)
    {
        BinaryPrimitives.WriteSingleLittleEndian(Reserve(sizeof(float)), value);
        return this;
    }

    /// <summary>Removes every parameter, keeping the storage.</summary>
    public KernelArguments Clear()
    {
        _slots.Clear();
        _length = 0;
        return this;
    }

    /// <summary>Where parameter <paramref name="index"/> lives in the value buffer.</summary>
    public (int Offset, int Size) GetSlot(int index) => _slots[index];

    /// <summary>The bytes of parameter <paramref name="index"/> (little-endian, as the device reads them).</summary>
    public ReadOnlySpan<byte> GetBytes(int index)
    {
        var (offset, size) = _slots[index];
        return _data.AsSpan(offset, size);
    }

    /// <summary>The value buffer (pinned by the launcher for the duration of cuLaunchKernel).</summary>
    internal byte[] Data => _data;

    private Span<byte> Reserve(int size)
    {
        // Align each value to its size: the array's data starts 8-byte aligned on 64-bit runtimes, so offsets
        // aligned here are aligned in memory too.
        int offset = (_length + size - 1) & ~(size - 1);
        if (offset + size > _data.Length)
        {
            Array.Resize(ref _data, Math.Max(_data.Length * 2, offset + size));
        }

        _slots.Add((offset, size));
        _length = offset + size;
        return _data.AsSpan(offset, size);
    }
}
