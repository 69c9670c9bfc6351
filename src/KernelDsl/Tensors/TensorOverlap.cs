using System;

namespace KernelDsl;

/// <summary>
/// Whether two strided tensors share a byte of some element — exactly, not by comparing their address ranges, so an
/// output stored in the gaps of another tensor (interleaved views of one packed buffer) is accepted.
/// </summary>
/// <remarks>
/// The rule. A tensor whose last dimension is contiguous (the binding checks that first) is a set of rows: row
/// (i_0, …, i_{r−2}) is the <c>width</c> = length_{r−1} · elementSize bytes from <c>base + Σ_k i_k · stride_k</c> (byte
/// strides). Rows x of X and y of Y share a byte iff <c>−width_X &lt; x − y &lt; width_Y</c> — as
/// rows are contiguous, that is exactly "some element of X and some element of Y share memory". So X and Y overlap iff
/// <c>Σ_g c_g · s_g</c> lies in <c>[1 − width_X − (base_X − base_Y), width_Y − 1 − (base_X − base_Y)]</c> for integer
/// coefficients c_g within bounds, where the generators g are X's outer strides (c in [0, n − 1]) and Y's (c in
/// [−(n − 1), 0]), equal strides merged into one generator (their coefficient ranges add). A depth-first search over
/// the generators, largest stride first, keeps only coefficients for which the rest can still reach the window (bounds
/// from the remaining generators' extremes), so it is exact. Its cost: disjoint address ranges return before it (the
/// common case, O(rank)); interleaved views of one buffer share their strides, so each merged generator has at most
/// two or three coefficients within reach and the search visits a handful of nodes (O(rank) again, tested); layouts
/// whose strides do not nest degrade towards enumerating the rows of the search (the exact fallback), which no common
/// layout reaches. Nothing is allocated.
/// </remarks>
internal static unsafe class TensorOverlap
{
    /// <summary>At most 3 outer dimensions per tensor (rank 4) for each of the two.</summary>
    private const int MaxGenerators = 6;

    public static bool Overlaps(TensorArgument x, TensorArgument y) => Overlaps(x, y, out _);

    /// <param name="x">The written tensor.</param>
    /// <param name="y">The other tensor.</param>
    /// <param name="visited">Search nodes visited (0 when the address ranges settle it): the cost, for tests.</param>
    public static bool Overlaps(TensorArgument x, TensorArgument y, out long visited)
    {
        visited = 0;
        if (AttentionBinding.IsEmpty(x) || AttentionBinding.IsEmpty(y))
        {
            return false;
        }

        var (x0, x1) = x.ByteRange;
        var (y0, y1) = y.ByteRange;
        if (x1 <= y0 || y1 <= x0)
        {
            return false;
        }

        Span<long> strides = stackalloc long[MaxGenerators];
        Span<long> low = stackalloc long[MaxGenerators];
        Span<long> high = stackalloc long[MaxGenerators];
        int count = 0;
        Add(x, sign: 1, strides, low, high, ref count);
        Add(y, sign: -1, strides, low, high, ref count);
        SortByStrideDescending(strides, low, high, count);

        // Suffix extremes: the least and greatest Σ c_g·s_g the generators from g on can add.
        Span<long> restMin = stackalloc long[MaxGenerators + 1];
        Span<long> restMax = stackalloc long[MaxGenerators + 1];
        restMin[count] = restMax[count] = 0;
        for (int g = count - 1; g >= 0; g--)
        {
            restMin[g] = restMin[g + 1] + (low[g] * strides[g]);
            restMax[g] = restMax[g + 1] + (high[g] * strides[g]);
        }

        long shift = (long)(x0 - y0);
        long widthX = x.Lengths[^1] * (long)x.ElementSize, widthY = y.Lengths[^1] * (long)y.ElementSize;
        var search = new Search(strides[..count], low[..count], high[..count], restMin, restMax, 1 - widthX - shift, widthY - 1 - shift);
        bool found = search.Reaches(0, 0);
        visited = search.Visited;
        return found;
    }

    /// <summary>Adds a tensor's outer dimensions as generators (byte strides; X's coefficients ≥ 0, Y's ≤ 0), merging equal strides.</summary>
    private static void Add(TensorArgument t, int sign, Span<long> strides, Span<long> low, Span<long> high, ref int count)
    {
        for (int dim = 0; dim < t.Lengths.Length - 1; dim++)
        {
            long length = t.Lengths[dim], stride = t.Strides[dim] * (long)t.ElementSize;
            if (length == 1 || stride == 0)
            {
                continue; // adds nothing but 0
            }

            long lo = sign > 0 ? 0 : -(length - 1), hi = sign > 0 ? length - 1 : 0;
            int existing = strides[..count].IndexOf(stride);
            if (existing >= 0)
            {
                low[existing] += lo;
                high[existing] += hi;
                continue;
            }

            strides[count] = stride;
            low[count] = lo;
            high[count] = hi;
            count++;
        }
    }

    private static void SortByStrideDescending(Span<long> strides, Span<long> low, Span<long> high, int count)
    {
        for (int i = 1; i < count; i++)
        {
            for (int j = i; j > 0 && strides[j - 1] < strides[j]; j--)
            {
                (strides[j - 1], strides[j]) = (strides[j], strides[j - 1]);
                (low[j - 1], low[j]) = (low[j], low[j - 1]);
                (high[j - 1], high[j]) = (high[j], high[j - 1]);
            }
        }
    }

    private ref struct Search(ReadOnlySpan<long> strides, ReadOnlySpan<long> low, ReadOnlySpan<long> high, ReadOnlySpan<long> restMin, ReadOnlySpan<long> restMax, long from, long to)
    {
        private readonly ReadOnlySpan<long> _strides = strides, _low = low, _high = high, _restMin = restMin, _restMax = restMax;

        public long Visited;

        /// <summary>Is there a choice of coefficients from generator g on that brings <paramref name="sum"/> into [from, to]?</summary>
        public bool Reaches(int g, long sum)
        {
            Visited++;
            if (g == _strides.Length)
            {
                return sum >= from && sum <= to;
            }

            long s = _strides[g];
            long first = Math.Max(_low[g], CeilingDivide(from - sum - _restMax[g + 1], s));
            long last = Math.Min(_high[g], FloorDivide(to - sum - _restMin[g + 1], s));
            for (long c = first; c <= last; c++)
            {
                if (Reaches(g + 1, sum + (c * s)))
                {
                    return true;
                }
            }

            return false;
        }

        private static long FloorDivide(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

        private static long CeilingDivide(long a, long b) => -FloorDivide(-a, b);
    }
}
