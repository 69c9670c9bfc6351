using System;
using System.Collections.Generic;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>
/// The device Forward of a call with no keys (Skv = 0): O = 0 and LSE = −∞ written by stream-ordered driver fills
/// (cuMemsetD2D8Async over O's rows, cuMemsetD32Async over LSE), so no attention kernel runs over empty loops. Calls with
/// B = 0 or Sq = 0 have nothing to write and never get here.
/// </summary>
internal static class EmptyDeviceCall
{
    /// <summary>The bit pattern of float −∞, which cuMemsetD32 writes into every LSE element.</summary>
    private const uint NegativeInfinityBits = 0xFF80_0000;

    public static unsafe void FillNoKeyOutputs<TOut>(DeviceTensor<TOut> output, DeviceBuffer<float>? lse, CudaStream? stream)
        where TOut : unmanaged
    {
        nint streamHandle = CudaStream.HandleFor(stream, output.Context);
        output.Context.MakeCurrent();
        foreach (var plane in Planes(output.Lengths, output.Strides, sizeof(TOut)))
        {
            CudaException.Check(
                CudaDriver.cuMemsetD2D8Async(output.DevicePointer + (ulong)plane.Offset, (nuint)plane.Pitch, 0, (nuint)plane.Width, (nuint)plane.Height, streamHandle),
                "cuMemsetD2D8Async");
        }

        if (lse is not null && lse.Length > 0)
        {
            CudaException.Check(CudaDriver.cuMemsetD32Async(lse.DevicePointer, NegativeInfinityBits, (nuint)lse.Length, streamHandle), "cuMemsetD32Async");
        }
    }

    /// <summary>The device Backward of an empty call (B, Sq or Skv = 0): its gradient's elements set to zero bits by stream-ordered fills.</summary>
    public static unsafe void Zero<T>(DeviceTensor<T> tensor, CudaStream? stream)
        where T : unmanaged
    {
        nint streamHandle = CudaStream.HandleFor(stream, tensor.Context);
        tensor.Context.MakeCurrent();
        foreach (var plane in Planes(tensor.Lengths, tensor.Strides, sizeof(T)))
        {
            CudaException.Check(
                CudaDriver.cuMemsetD2D8Async(tensor.DevicePointer + (ulong)plane.Offset, (nuint)plane.Pitch, 0, (nuint)plane.Width, (nuint)plane.Height, streamHandle),
                "cuMemsetD2D8Async");
        }
    }

    /// <summary>One 2-D byte fill: <see cref="Height"/> runs of <see cref="Width"/> bytes, <see cref="Pitch"/> bytes apart, from <see cref="Offset"/>.</summary>
    internal readonly record struct Plane(long Offset, long Pitch, long Width, long Height);

    /// <summary>
    /// 2-D fills that cover exactly the elements of a 4-D tensor whose last dimension is contiguous (checked by the
    /// binding), never the gaps of a strided view: one fill for a contiguous tensor; otherwise the outer dimension with
    /// the most rows is the fill's height (its stride the pitch) and the other two are looped over, so a strided view
    /// costs at most the product of its two shorter outer lengths in driver calls (an empty call's rare path).
    /// </summary>
    internal static IEnumerable<Plane> Planes(ReadOnlySpan<nint> lengths, ReadOnlySpan<nint> strides, int elementSize)
    {
        long total = (long)lengths[0] * lengths[1] * lengths[2] * lengths[3];
        var list = new List<Plane>();
        if (total == 0)
        {
            return list;
        }

        long width = lengths[3] * (long)elementSize;
        if (IsContiguous(lengths, strides))
        {
            list.Add(new Plane(0, total * elementSize, total * elementSize, 1));
            return list;
        }

        int tall = 0;
        for (int dim = 1; dim < 3; dim++)
        {
            if (lengths[dim] > lengths[tall])
            {
                tall = dim;
            }
        }

        int a = tall == 0 ? 1 : 0, b = tall == 2 ? 1 : 2;
        // A dimension of length 1 has no second row, so its stride need not reach past the first (the pitch must).
        long pitch = lengths[tall] == 1 ? width : strides[tall] * (long)elementSize;
        for (long i = 0; i < lengths[a]; i++)
        {
            for (long j = 0; j < lengths[b]; j++)
            {
                list.Add(new Plane(((i * strides[a]) + (j * strides[b])) * elementSize, pitch, width, lengths[tall]));
            }
        }

        return list;
    }

    private static bool IsContiguous(ReadOnlySpan<nint> lengths, ReadOnlySpan<nint> strides)
    {
        long expected = 1;
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
