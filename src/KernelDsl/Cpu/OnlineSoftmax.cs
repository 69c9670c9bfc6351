using System.Runtime.CompilerServices;

namespace KernelDsl.Cpu;

/// <summary>
/// The online softmax of FlashAttention-2 over one KV block, in base 2 (the scores were pre-multiplied by
/// scale·log2 e, so exp2 gives exp). Scores are laid out keys × queries (Sᵀ), so every statistic of a query
/// row is a vertical SIMD operation across a vector of queries — no horizontal reductions.
/// </summary>
public static unsafe class OnlineSoftmax
{
    /// <summary>Resets the running statistics of a query block: m = −∞, l = 0.</summary>
    public static void Reset(float* m, float* l, int count)
    {
        new System.Span<float>(m, count).Fill(float.NegativeInfinity);
        new System.Span<float>(l, count).Clear();
    }

    /// <summary>
    /// For each query column i (in vectors of Lanes): m' = max(m, max_j S[j][i]); alpha = 2^(m − m');
    /// P[j][i] = 2^(S[j][i] − m') written over S; l = alpha·l + Σ_j P[j][i]; m = m'. Rows whose maximum is
    /// still −∞ (every key so far masked) shift by 0 instead of −∞, so they get P = 0 and alpha = 0, not NaN.
    /// </summary>
    public static void Step<TOps, TV>(float* sT, nint lds, int keys, int queryVectors, float* m, float* l, float* alpha)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        int lanes = TOps.Lanes;
        for (int v = 0; v < queryVectors; v++)
        {
            float* column = sT + (v * lanes);
            TV previous = TOps.Load(m + (v * lanes));
            TV next = BlockMax<TOps, TV>(column, lds, keys, previous);
            TV shift = TOps.ReplaceNegativeInfinity(next, TOps.Zero);
            TV rescale = TOps.Exp2(TOps.Subtract(previous, shift));
            TV sum = ExponentiateAndSum<TOps, TV>(column, lds, keys, shift);
            TOps.Store(m + (v * lanes), next);
            TOps.Store(alpha + (v * lanes), rescale);
            TOps.Store(l + (v * lanes), TOps.MultiplyAdd(TOps.Load(l + (v * lanes)), rescale, sum));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV BlockMax<TOps, TV>(float* column, nint lds, int keys, TV start)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        // Two independent chains hide the max latency.
        TV max0 = start, max1 = start;
        int j = 0;
        for (; j + 1 < keys; j += 2)
        {
            max0 = TOps.Max(max0, TOps.Load(column + (j * lds)));
            max1 = TOps.Max(max1, TOps.Load(column + ((j + 1) * lds)));
        }

        if (j < keys)
        {
            max0 = TOps.Max(max0, TOps.Load(column + (j * lds)));
        }

        return TOps.Max(max0, max1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExponentiateAndSum<TOps, TV>(float* column, nint lds, int keys, TV shift)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        TV sum0 = TOps.Zero, sum1 = TOps.Zero;
        int j = 0;
        for (; j + 1 < keys; j += 2)
        {
            float* s0 = column + (j * lds), s1 = s0 + lds;
            TV p0 = TOps.Exp2(TOps.Subtract(TOps.Load(s0), shift));
            TV p1 = TOps.Exp2(TOps.Subtract(TOps.Load(s1), shift));
            TOps.Store(s0, p0);
            TOps.Store(s1, p1);
            sum0 = TOps.Add(sum0, p0);
            sum1 = TOps.Add(sum1, p1);
        }

        if (j < keys)
        {
            float* s0 = column + (j * lds);
            TV p0 = TOps.Exp2(TOps.Subtract(TOps.Load(s0), shift));
            TOps.Store(s0, p0);
            sum0 = TOps.Add(sum0, p0);
        }

        return TOps.Add(sum0, sum1);
    }
}
