using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace KernelDsl.Cpu;

/// <summary>
/// Converts one contiguous row between an element type (float, Half, BFloat16) and float, with SIMD.
/// The element type is a generic argument, so the JIT keeps only the branch for it.
/// </summary>
public static unsafe class ElementRow
{
    /// <summary>dst[0..count) = (float)src[0..count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen<TOps, TV, T>(T* source, float* destination, int count)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            Buffer.MemoryCopy(source, destination, count * sizeof(float), count * sizeof(float));
        }
        else if (typeof(T) == typeof(BFloat16))
        {
            // bfloat16 is the top half of a float: widening is a shift, done one vector at a time.
            ushort* bits = (ushort*)source;
            int lanes = TOps.Lanes, i = 0;
            for (; i + lanes <= count; i += lanes)
            {
                TOps.Store(destination + i, TOps.WidenBFloat16(bits + i));
            }

            for (; i < count; i++)
            {
                destination[i] = BitConverter.UInt32BitsToSingle((uint)bits[i] << 16);
            }
        }
        else if (typeof(T) == typeof(Half))
        {
            // System.Numerics.Tensors converts Half with SIMD (no portable Vector API for it).
            TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(source, count), new Span<float>(destination, count));
        }
        else
        {
            throw new NotSupportedException($"{typeof(T).Name} is not an attention element type.");
        }
    }

    /// <summary>dst[0..count) = (T)src[0..count), rounding to nearest even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Narrow<TOps, TV, T>(float* source, T* destination, int count)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            Buffer.MemoryCopy(source, destination, count * sizeof(float), count * sizeof(float));
        }
        else if (typeof(T) == typeof(BFloat16))
        {
            ushort* bits = (ushort*)destination;
            int lanes = TOps.Lanes, i = 0;
            for (; i + lanes <= count; i += lanes)
            {
                TOps.NarrowBFloat16(TOps.Load(source + i), bits + i);
            }

            for (; i < count; i++)
            {
                ((BFloat16*)destination)[i] = (BFloat16)source[i];
            }
        }
        else if (typeof(T) == typeof(Half))
        {
            TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(source, count), new Span<Half>((Half*)destination, count));
        }
        else
        {
            throw new NotSupportedException($"{typeof(T).Name} is not an attention element type.");
        }
    }
}
