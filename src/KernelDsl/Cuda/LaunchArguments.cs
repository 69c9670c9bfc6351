using System;
using System.Runtime.CompilerServices;

namespace KernelDsl.Cuda;

/// <summary>
/// The parameter values of one kernel launch, held inline (a value type the caller keeps on its stack): each
/// parameter has its own 8-byte slot, so a .u32 and a .u64 parameter are both aligned, and the void** array
/// cuLaunchKernel takes is built on the stack at launch. Nothing here allocates, which is what keeps a steady-state
/// device <c>Forward</c> at 0 bytes of managed allocation (<see cref="KernelArguments"/> is the reusable,
/// heap-backed form for code that builds argument lists dynamically).
/// </summary>
public struct LaunchArguments
{
    /// <summary>The most parameters a launch may have (the attention kernels use 21–26 plus one per captured buffer).</summary>
    public const int Capacity = 64;

    private Slots _values;
    private Sizes _sizes;
    private int _count;

    /// <summary>Number of parameters added.</summary>
    public readonly int Count => _count;

    /// <summary>A .u64 parameter (device pointers, 64-bit strides).</summary>
    public void AddU64(ulong value) => Add(value, sizeof(ulong));

    /// <summary>A .u32 parameter (the low 4 bytes of its slot, little-endian as the device reads it).</summary>
    public void AddU32(uint value) => Add(value, sizeof(uint));

    /// <summary>
    /// One parameter of a generated ABI table, at the width its slot declares (4 or 8 bytes): both launchers pack by the
    /// table through this, so the width rule lives in one place.
    /// </summary>
    internal void Add(AbiSlot slot, ulong value)
    {
        if (slot.Bytes == sizeof(ulong))
        {
            AddU64(value);
        }
        else
        {
            AddU32((uint)value);
        }
    }

    /// <summary>A .s32 parameter.</summary>
    public void AddS32(int value) => Add(unchecked((uint)value), sizeof(int));

    /// <summary>Size in bytes (4 or 8) of parameter <paramref name="index"/>, for ABI checks.</summary>
    public readonly int SizeOf(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
        return _sizes[index];
    }

    /// <summary>The value of parameter <paramref name="index"/> (zero-extended for 4-byte parameters).</summary>
    public readonly ulong ValueOf(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
        return _values[index];
    }

    /// <summary>
    /// Calls cuLaunchKernel with a void** array (on the stack) pointing at this struct's values, which stay pinned for
    /// the call; the driver copies them before it returns.
    /// </summary>
    internal unsafe Native.CudaResult LaunchKernel(nint function, Dim3 grid, Dim3 block, uint dynamicSharedBytes, nint stream)
    {
        void** pointers = stackalloc void*[Capacity];
        fixed (ulong* values = &_values[0])
        {
            for (int i = 0; i < _count; i++)
            {
                pointers[i] = values + i;
            }

            return Native.CudaDriver.cuLaunchKernel(
                function, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, dynamicSharedBytes, stream, _count == 0 ? null : pointers, null);
        }
    }

    private void Add(ulong value, int size)
    {
        if (_count == Capacity)
        {
            ThrowFull();
        }

        _values[_count] = value;
        _sizes[_count] = (byte)size;
        _count++;
    }

    private static void ThrowFull() =>
        throw new InvalidOperationException($"A kernel launch holds at most {Capacity} parameters.");

    [InlineArray(Capacity)]
    private struct Slots
    {
        private ulong _element;
    }

    [InlineArray(Capacity)]
    private struct Sizes
    {
        private byte _element;
    }
}
