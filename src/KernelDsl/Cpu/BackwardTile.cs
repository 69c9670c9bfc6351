using System;

namespace KernelDsl.Cpu;

/// <summary>
/// The element-wise steps of the CPU backward (FlashAttention-2's), on tiles laid out keys × queries (Sᵀ) like the
/// forward's, so every per-query statistic (LSE, Δ) is one vector across a row.
/// </summary>
public static unsafe class BackwardTile
{
    /// <summary>
    /// Pᵀ[j][i] = 2^(Sᵀ[j][i] − lse2[i]) in place: P recomputed from base-2 scores and the forward's LSE (times
    /// log2 e). A row with no kept key has lse2 = +∞ (see <see cref="RowStatistics"/>), so its P is 0, never NaN.
    /// </summary>
    public static void Probabilities<TOps, TV>(float* sT, nint lds, int keys, int queryVectors, float* lse2)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        int lanes = TOps.Lanes;
        for (int v = 0; v < queryVectors; v++)
        {
            TV shift = TOps.Load(lse2 + (v * lanes));
            for (int j = 0; j < keys; j++)
            {
                float* at = sT + (j * lds) + (v * lanes);
                TOps.Store(at, TOps.Exp2(TOps.Subtract(TOps.Load(at), shift)));
            }
        }
    }

    /// <summary>dSᵀ[j][i] = Pᵀ[j][i] · (dPᵀ[j][i] − Δ[i]), written over dPᵀ.</summary>
    public static void ScoreGradient<TOps, TV>(float* pT, float* dpT, nint ld, int keys, int queryVectors, float* delta)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        int lanes = TOps.Lanes;
        for (int v = 0; v < queryVectors; v++)
        {
            TV d = TOps.Load(delta + (v * lanes));
            for (int j = 0; j < keys; j++)
            {
                nint at = (j * ld) + (v * lanes);
                TOps.Store(dpT + at, TOps.Multiply(TOps.Load(pT + at), TOps.Subtract(TOps.Load(dpT + at), d)));
            }
        }
    }

    /// <summary>
    /// The preprocess of one query row: Δ = Σ_c dO[c]·O[c] (from the forward's stored O, widened) and lse2 = LSE·log2 e,
    /// with +∞ for a row that kept no key (LSE = −∞) so that its recomputed P is 0.
    /// </summary>
    public static void RowStatistics<TOps, TV, TOut>(TOut* output, TOut* dOutput, int count, float lse, float* rowBuffer, out float delta, out float lse2)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where TOut : unmanaged
    {
        ElementRow.Widen<TOps, TV, TOut>(output, rowBuffer, count);
        ElementRow.Widen<TOps, TV, TOut>(dOutput, rowBuffer + count, count);
        float sum = 0f;
        for (int c = 0; c < count; c++)
        {
            sum = MathF.FusedMultiplyAdd(rowBuffer[c], rowBuffer[count + c], sum);
        }

        delta = sum;
        lse2 = float.IsNegativeInfinity(lse) ? float.PositiveInfinity : lse * 1.442695f;
    }

    /// <summary>
    /// One query block's Δ and lse2 from the preprocessed rows, padded to <paramref name="width"/> columns with Δ = 0 and
    /// lse2 = +∞, so padding query columns get P = 0 and dS = 0.
    /// </summary>
    public static void LoadRows(float* delta, float* lse2, int count, int width, float* rowDelta, float* rowLse2)
    {
        for (int i = 0; i < count; i++)
        {
            rowDelta[i] = delta[i];
            rowLse2[i] = lse2[i];
        }

        for (int i = count; i < width; i++)
        {
            rowDelta[i] = 0f;
            rowLse2[i] = float.PositiveInfinity;
        }
    }

    /// <summary>destination[0..count) = (T)(scale · source[0..count)); <paramref name="source"/> is scratch, scaled in place.</summary>
    public static void ScaleAndWrite<TOps, TV, T>(float* source, float scale, T* destination, int count)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where T : unmanaged
    {
        TV s = TOps.Broadcast(scale);
        int lanes = TOps.Lanes, c = 0;
        for (; c + lanes <= count; c += lanes)
        {
            TOps.Store(source + c, TOps.Multiply(TOps.Load(source + c), s));
        }

        for (; c < count; c++)
        {
            source[c] *= scale;
        }

        ElementRow.Narrow<TOps, TV, T>(source, destination, count);
    }
}
