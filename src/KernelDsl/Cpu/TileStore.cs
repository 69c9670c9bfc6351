using System;

namespace KernelDsl.Cpu;

/// <summary>The epilogue of a query block: O /= l, narrowed to the output type, and the log-sum-exp.</summary>
public static unsafe class TileStore
{
    /// <summary>
    /// Writes output[0..count) = o[0..count) / l, narrowed; a row that kept no key (l = 0) writes zeros. A NaN l (a NaN
    /// or +∞ score in the row) gives NaN, as in the reference: only l = 0 is special.
    /// <paramref name="o"/> is scratch and is scaled in place.
    /// </summary>
    public static void NormalizeAndWrite<TOps, TV, T>(float* o, float l, T* output, int count)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where T : unmanaged
    {
        float inverse = l == 0f ? 0f : 1f / l;
        TV scale = TOps.Broadcast(inverse);
        int lanes = TOps.Lanes, c = 0;
        for (; c + lanes <= count; c += lanes)
        {
            TOps.Store(o + c, TOps.Multiply(TOps.Load(o + c), scale));
        }

        for (; c < count; c++)
        {
            o[c] *= inverse;
        }

        ElementRow.Narrow<TOps, TV, T>(o, output, count);
    }

    /// <summary>ln Σ exp(s) from the base-2 statistics: (m + log2 l)·ln 2; −∞ when the row kept no key; NaN stays NaN.</summary>
    public static float LogSumExp(float m, float l) =>
        l == 0f ? float.NegativeInfinity : (m + MathF.Log2(l)) * 0.6931472f;
}
