using System;
using System.Numerics.Tensors;
using KernelDsl.Cuda;

namespace KernelDsl;

/// <summary>
/// A contiguous row-major 4-D tensor in GPU memory, shape [d0, d1, d2, d3]. <see cref="Layout"/> says how to
/// read the dimensions: BSHD = [batch, seq, heads, dim], BHSD = [batch, heads, seq, dim]; the batch/seq/head
/// strides follow from it. Owns its <see cref="DeviceBuffer{T}"/>; Dispose frees it — unless it is a view of memory
/// another library owns (<see cref="Wrap(ulong, TensorLayout, ReadOnlySpan{int}, ReadOnlySpan{long}, CudaContext?)"/>,
/// in DeviceTensor.External.cs), which may also have any strides.
/// </summary>
public sealed partial class DeviceTensor<T> : IDisposable
    where T : unmanaged
{
    private readonly nint[] _lengths;
    private readonly nint[] _strides;

    /// <summary>Allocates an uninitialized tensor of shape [d0, d1, d2, d3] read in <paramref name="layout"/>; a length may be 0 (an empty batch or sequence).</summary>
    public DeviceTensor(TensorLayout layout, int d0, int d1, int d2, int d3, CudaContext? context = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(d0);
        ArgumentOutOfRangeException.ThrowIfNegative(d1);
        ArgumentOutOfRangeException.ThrowIfNegative(d2);
        ArgumentOutOfRangeException.ThrowIfNegative(d3);
        if (layout is not (TensorLayout.BSHD or TensorLayout.BHSD))
        {
            throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown tensor layout.");
        }

        Layout = layout;
        _lengths = new nint[] { d0, d1, d2, d3 };
        _strides = new nint[] { (nint)d1 * d2 * d3, (nint)d2 * d3, d3, 1 };
        Buffer = new DeviceBuffer<T>((long)d0 * d1 * d2 * d3, context);
    }

    /// <summary>Allocates a tensor from logical sizes, ordering the dimensions as <paramref name="layout"/> stores them.</summary>
    public static DeviceTensor<T> Create(TensorLayout layout, int batch, int seq, int heads, int dim, CudaContext? context = null) =>
        layout == TensorLayout.BSHD
            ? new DeviceTensor<T>(layout, batch, seq, heads, dim, context)
            : new DeviceTensor<T>(layout, batch, heads, seq, dim, context);

    public TensorLayout Layout { get; }

    /// <summary>The memory holding the elements.</summary>
    public DeviceBuffer<T> Buffer { get; }

    public CudaContext Context => Buffer.Context;

    /// <summary>The device address of element [0, 0, 0, 0].</summary>
    public ulong DevicePointer => Buffer.DevicePointer;

    /// <summary>Shape [d0, d1, d2, d3] as stored.</summary>
    public ReadOnlySpan<nint> Lengths => _lengths;

    /// <summary>Row-major element strides of [d0, d1, d2, d3].</summary>
    public ReadOnlySpan<nint> Strides => _strides;

    /// <summary>Number of elements (the product of <see cref="Lengths"/>).</summary>
    public long Length => (long)_lengths[0] * _lengths[1] * _lengths[2] * _lengths[3];

    /// <summary>True when the elements are row-major without gaps (always, unless a view with other strides).</summary>
    public bool IsContiguous => IsRowMajorContiguous(_lengths, _strides);

    public int Batch => (int)_lengths[0];

    public int Seq => (int)(Layout == TensorLayout.BSHD ? _lengths[1] : _lengths[2]);

    public int Heads => (int)(Layout == TensorLayout.BSHD ? _lengths[2] : _lengths[1]);

    public int Dim => (int)_lengths[3];

    /// <summary>Elements between consecutive batches.</summary>
    public long BatchStride => _strides[0];

    /// <summary>Elements between consecutive sequence positions (same batch and head).</summary>
    public long SeqStride => Layout == TensorLayout.BSHD ? _strides[1] : _strides[2];

    /// <summary>Elements between consecutive heads (same batch and position).</summary>
    public long HeadStride => Layout == TensorLayout.BSHD ? _strides[2] : _strides[1];

    public string ShapeText => $"[{string.Join(", ", _lengths)}] ({Layout})";

    /// <summary>
    /// This tensor as a Forward argument for <see cref="AttentionBinding.Bind"/>: its device address stands in for
    /// the data pointer, so shape checks and the aliasing checks between device tensors work unchanged.
    /// </summary>
    public unsafe TensorArgument AsArgument(string name) =>
        new(name, (void*)DevicePointer, sizeof(T), _lengths, _strides);

    /// <summary>Copies a contiguous host array of exactly <see cref="Length"/> elements, in this tensor's order.</summary>
    public void Upload(ReadOnlySpan<T> source)
    {
        RequireContiguous();
        if (source.Length != Length)
        {
            throw new ArgumentException($"'{nameof(source)}' has {source.Length} elements, but the device tensor {ShapeText} has {Length}.", nameof(source));
        }

        Buffer.Upload(source);
    }

    /// <summary>Copies a host tensor of the same shape; strided (non-contiguous) views are flattened first.</summary>
    public unsafe void Upload(in ReadOnlyTensorSpan<T> source)
    {
        RequireContiguous();
        RequireShape(source.Lengths, nameof(source));
        if (IsRowMajorContiguous(source.Lengths, source.Strides))
        {
            fixed (T* data = source)
            {
                Buffer.Upload(new ReadOnlySpan<T>(data, checked((int)Length)));
            }

            return;
        }

        var staging = new T[Length];
        source.FlattenTo(staging);
        Buffer.Upload(staging);
    }

    /// <summary>Copies the whole tensor into a contiguous host array of exactly <see cref="Length"/> elements.</summary>
    public void Download(Span<T> destination)
    {
        RequireContiguous();
        if (destination.Length != Length)
        {
            throw new ArgumentException($"'{nameof(destination)}' has {destination.Length} elements, but the device tensor {ShapeText} has {Length}.", nameof(destination));
        }

        Buffer.Download(destination);
    }

    /// <summary>Copies the whole tensor into a host tensor of the same shape (any strides).</summary>
    public void Download(in TensorSpan<T> destination)
    {
        RequireContiguous();
        RequireShape(destination.Lengths, nameof(destination));
        T[] staging = Buffer.ToArray();
        new ReadOnlyTensorSpan<T>(staging, _lengths).CopyTo(destination);
    }

    /// <summary>Downloads into a new contiguous array.</summary>
    public T[] ToArray()
    {
        RequireContiguous();
        return Buffer.ToArray();
    }

    /// <summary>Sets every element to <paramref name="value"/> (e.g. NaN to poison an output).</summary>
    public void Fill(T value)
    {
        RequireContiguous();
        Buffer.Fill(value);
    }

    public void Dispose() => Buffer.Dispose();

    public override string ToString() => $"DeviceTensor<{typeof(T).Name}>{ShapeText}";

    private void RequireShape(ReadOnlySpan<nint> lengths, string name)
    {
        if (!lengths.SequenceEqual(_lengths))
        {
            throw new ArgumentException(
                $"'{name}' has shape [{string.Join(", ", lengths.ToArray())}], but the device tensor has {ShapeText}.", name);
        }
    }

    private static bool IsRowMajorContiguous(ReadOnlySpan<nint> lengths, ReadOnlySpan<nint> strides)
    {
        nint expected = 1;
        for (int i = lengths.Length - 1; i >= 0; i--)
        {
            if (lengths[i] != 1 && strides[i] != expected)
            {
                return false;
            }

            expected *= lengths[i];
        }

        return true;
    }
}
