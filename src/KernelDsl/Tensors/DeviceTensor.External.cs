using System;
using KernelDsl.Cuda;

namespace KernelDsl;

/// <summary>Views of device tensors that another library owns, with their own shapes and strides.</summary>
public sealed partial class DeviceTensor<T>
{
    private DeviceTensor(TensorLayout layout, nint[] lengths, nint[] strides, DeviceBuffer<T> buffer)
    {
        Layout = layout;
        _lengths = lengths;
        _strides = strides;
        Buffer = buffer;
    }

    /// <summary>
    /// A non-owning view of a row-major (contiguous) tensor of shape <paramref name="lengths"/> = [d0, d1, d2, d3] read
    /// in <paramref name="layout"/> (BSHD: [batch, seq, heads, dim]; BHSD: [batch, heads, seq, dim]) at
    /// <paramref name="devicePointer"/>. See <see cref="DeviceBuffer{T}.Wrap"/> for what is checked and who frees it.
    /// </summary>
    public static DeviceTensor<T> Wrap(ulong devicePointer, TensorLayout layout, ReadOnlySpan<int> lengths, CudaContext? context = null)
    {
        RequireFour(lengths.Length, nameof(lengths));
        Span<long> strides = stackalloc long[4];
        strides[3] = 1;
        for (int i = 2; i >= 0; i--)
        {
            strides[i] = strides[i + 1] * Math.Max(lengths[i + 1], 1);
        }

        return Wrap(devicePointer, layout, lengths, strides, context);
    }

    /// <summary>
    /// A non-owning view with explicit element <paramref name="strides"/> (PyTorch's <c>tensor.stride()</c>; e.g. q, k
    /// and v as slices of one packed qkv tensor). The device <c>Forward</c> needs the last stride 1 and the others
    /// multiples of 8 (it checks); uploads, downloads and fills need a contiguous view (they would otherwise write the
    /// gaps, which may hold another tensor), so copy strided data through its owner.
    /// </summary>
    public static DeviceTensor<T> Wrap(
        ulong devicePointer, TensorLayout layout, ReadOnlySpan<int> lengths, ReadOnlySpan<long> strides, CudaContext? context = null)
    {
        long extent = CheckViewArguments(layout, lengths, strides);
        var buffer = DeviceBuffer<T>.Wrap(devicePointer, extent, context);
        var lengthArray = new nint[4];
        var strideArray = new nint[4];
        for (int i = 0; i < 4; i++)
        {
            lengthArray[i] = lengths[i];
            strideArray[i] = checked((nint)strides[i]);
        }

        return new DeviceTensor<T>(layout, lengthArray, strideArray, buffer);
    }

    /// <summary>False for a view made by Wrap: disposing it leaves the memory to its owner.</summary>
    public bool OwnsMemory => Buffer.OwnsMemory;

    /// <summary>
    /// The checks that need no GPU; returns the elements the view spans (1 + Σ (length − 1)·stride, or 0 when a length is
    /// 0), which must lie in one allocation.
    /// </summary>
    internal static long CheckViewArguments(TensorLayout layout, ReadOnlySpan<int> lengths, ReadOnlySpan<long> strides)
    {
        if (layout is not (TensorLayout.BSHD or TensorLayout.BHSD))
        {
            throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown tensor layout.");
        }

        RequireFour(lengths.Length, nameof(lengths));
        RequireFour(strides.Length, nameof(strides));
        long extent = 1;
        bool empty = false;
        for (int i = 0; i < 4; i++)
        {
            if (lengths[i] < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(lengths), lengths[i], $"Dimension {i} has length {lengths[i]}; lengths must not be negative.");
            }

            empty |= lengths[i] == 0;

            if (strides[i] < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(strides), strides[i], $"Dimension {i} has stride {strides[i]}; strides must not be negative.");
            }

            extent = checked(extent + ((Math.Max(lengths[i], 1) - 1) * strides[i]));
        }

        // An empty view (a zero length: an empty batch or sequence) spans no element.
        return empty ? 0 : extent;
    }

    private static void RequireFour(int count, string name)
    {
        if (count != 4)
        {
            throw new ArgumentException($"'{name}' has {count} entries; an attention tensor has 4 ([batch, seq, heads, dim] or [batch, heads, seq, dim]).", name);
        }
    }

    private void RequireContiguous()
    {
        if (!IsContiguous)
        {
            throw new InvalidOperationException(
                $"{this} is a strided view (strides [{string.Join(", ", _strides)}]); copy its data through the library that owns it.");
        }
    }
}
