using System;
using System.Runtime.CompilerServices;

namespace KernelDsl;

/// <summary>
/// The CPU prologue of the generated <c>DecodeAppend</c> (issue 12): rotates the step's new Q tokens into a scratch copy and
/// writes their K (rotated) and V into the paged cache at each sequence's current length, crossing into the next page of its
/// table where a page fills. Token i of sequence s sits at position KvLengths[s] + i. Rotation follows
/// <see cref="RotaryEmbedding.Apply"/> exactly (angles and products in double, rounded to float once, then to the element
/// type), so the cache holds what the float64 reference's rotated K rounds to. The CPU path is the executable definition:
/// the prologue runs before the attention kernel in the same call; the GPU kernel fuses it into its loads.
/// </summary>
public static class DecodeAppendPrologue
{
    /// <summary>
    /// <paramref name="rotatedQ"/> = rotary(<paramref name="q"/>) (a copy when <paramref name="rotary"/> is null); K and V of the
    /// new tokens into <paramref name="cache"/>. The caller has checked shapes and validated the batch after the append.
    /// </summary>
    public static void Run<T>(
        ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v, PagedKvCache<T> cache, PagedKvBatch batch, int headsQ, RotaryEmbedding? rotary, Span<T> rotatedQ)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(batch);
        var geometry = cache.Geometry;
        int d = geometry.HeadDim, dv = geometry.ValueHeadDim, headsKv = geometry.HeadsKv;
        int pairs = rotary is null ? 0 : rotary.RotaryDim / 2;
        Span<double> cos = stackalloc double[Math.Max(pairs, 1)];
        Span<double> sin = stackalloc double[Math.Max(pairs, 1)];
        var offsets = batch.QueryOffsets.Span;
        var lengths = batch.KvLengths.Span;
        for (int s = 0; s < batch.Sequences; s++)
        {
            var pages = batch.PagesOf(s);
            for (int token = offsets[s]; token < offsets[s + 1]; token++)
            {
                int position = lengths[s] + (token - offsets[s]);
                for (int i = 0; i < pairs; i++)
                {
                    double angle = position * rotary!.Frequency(i);
                    cos[i] = Math.Cos(angle);
                    sin[i] = Math.Sin(angle);
                }

                for (int h = 0; h < headsQ; h++)
                {
                    int at = ((token * headsQ) + h) * d;
                    Rotate(q.Slice(at, d), rotatedQ.Slice(at, d), rotary, cos, sin);
                }

                int page = pages[position / geometry.PageSize], slot = position % geometry.PageSize;
                for (int h = 0; h < headsKv; h++)
                {
                    Rotate(k.Slice(((token * headsKv) + h) * d, d), cache.KeyRow(page, slot, h), rotary, cos, sin);
                    v.Slice(((token * headsKv) + h) * dv, dv).CopyTo(cache.ValueRow(page, slot, h));
                }
            }
        }
    }

    /// <summary>One head's row: the rotary pairs rotated, the features past the rotary dim copied.</summary>
    private static void Rotate<T>(ReadOnlySpan<T> x, Span<T> y, RotaryEmbedding? rotary, ReadOnlySpan<double> cos, ReadOnlySpan<double> sin)
        where T : unmanaged
    {
        if (rotary is null)
        {
            x.CopyTo(y);
            return;
        }

        for (int i = 0; i < rotary.RotaryDim / 2; i++)
        {
            var (a, b) = rotary.PairFeatures(i);
            double x0 = Widen(x[a]), x1 = Widen(x[b]);
            y[a] = Narrow<T>((float)((x0 * cos[i]) - (x1 * sin[i])));
            y[b] = Narrow<T>((float)((x0 * sin[i]) + (x1 * cos[i])));
        }

        x.Slice(rotary.RotaryDim).CopyTo(y.Slice(rotary.RotaryDim));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Widen<T>(T value)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return (float)(object)value;
        }

        if (typeof(T) == typeof(Half))
        {
            return (float)(Half)(object)value;
        }

        if (typeof(T) == typeof(BFloat16))
        {
            return (BFloat16)(object)value;
        }

        throw new NotSupportedException($"{typeof(T).Name} is not an attention element type.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Narrow<T>(float value)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return (T)(object)value;
        }

        if (typeof(T) == typeof(Half))
        {
            return (T)(object)(Half)value;
        }

        if (typeof(T) == typeof(BFloat16))
        {
            return (T)(object)(BFloat16)value;
        }

        throw new NotSupportedException($"{typeof(T).Name} is not an attention element type.");
    }
}
