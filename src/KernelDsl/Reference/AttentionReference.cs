using System;

namespace KernelDsl.Reference;

/// <summary>
/// The executable definition of KernelDsl's semantics: unfused attention in float64, exactly the equations
/// of DESIGN.md. Every numeric test compares a kernel against this. Slow (O(S²) time, O(Skv) memory per row)
/// and meant to be: clarity over speed.
/// </summary>
public static class AttentionReference
{
    /// <summary>
    /// Computes O (laid out like the kernels' output: [B,Sq,Hq,Dv] for BSHD, [B,Hq,Sq,Dv] for BHSD) and LSE
    /// ([B,Hq,Sq], natural log, −∞ for rows with no kept key) from contiguous Q, K, V in <paramref name="layout"/>.
    /// </summary>
    public static ReferenceResult Compute<T>(
        ReadOnlySpan<T> q,
        ReadOnlySpan<T> k,
        ReadOnlySpan<T> v,
        AttentionShape shape,
        TensorLayout layout,
        double scale,
        MaskBand mask)
        where T : unmanaged =>
        Compute(q, k, v, shape, layout, scale, mask, null, null);

    /// <summary>
    /// As above, with modifiers (DESIGN.md): s_ij = scoreMod(scale·(q_i·k_j), b, h, i, j) and
    /// keep = mask.Keeps(i, j) &amp;&amp; maskMod(b, h, i, j). Pass the spec's generated <c>ScoreModifierReference</c> and
    /// <c>MaskModifierReference</c> (the modifiers in double precision), or null for none.
    /// </summary>
    public static ReferenceResult Compute<T>(
        ReadOnlySpan<T> q,
        ReadOnlySpan<T> k,
        ReadOnlySpan<T> v,
        AttentionShape shape,
        TensorLayout layout,
        double scale,
        MaskBand mask,
        Func<double, int, int, int, int, double>? scoreMod,
        Func<int, int, int, int, bool>? maskMod)
        where T : unmanaged
    {
        shape.Validate();
        var qIndex = new ContiguousIndex(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim);
        var kIndex = new ContiguousIndex(layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim);
        var vIndex = new ContiguousIndex(layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.ValueHeadDim);
        var oIndex = new ContiguousIndex(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim);
        RequireLength(q.Length, qIndex.Length, "q");
        RequireLength(k.Length, kIndex.Length, "k");
        RequireLength(v.Length, vIndex.Length, "v");

        var output = new double[oIndex.Length];
        var lse = new double[(long)shape.Batch * shape.HeadsQ * shape.SeqQ];
        var scores = new double[shape.SeqKv];
        var kept = new bool[shape.SeqKv];

        for (int b = 0; b < shape.Batch; b++)
        {
            for (int h = 0; h < shape.HeadsQ; h++)
            {
                int kvHead = h / shape.GroupSize;
                for (int i = 0; i < shape.SeqQ; i++)
                {
                    // s_ij = scale · (q_i · k_j), over kept keys only.
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < shape.SeqKv; j++)
                    {
                        kept[j] = mask.Keeps(i, j) && (maskMod is null || maskMod(b, h, i, j));
                        if (!kept[j])
                        {
                            continue;
                        }

                        double dot = 0;
                        for (int d = 0; d < shape.HeadDim; d++)
                        {
                            dot += ToDouble(q[(int)qIndex.At(b, i, h, d)]) * ToDouble(k[(int)kIndex.At(b, j, kvHead, d)]);
                        }

                        scores[j] = scoreMod is null ? scale * dot : scoreMod(scale * dot, b, h, i, j);
                        max = Math.Max(max, scores[j]);
                    }

                    long lseAt = (((long)b * shape.HeadsQ) + h) * shape.SeqQ + i;
                    if (double.IsNegativeInfinity(max))
                    {
                        // No kept key: o_i = 0 (already zero), lse_i = −∞.
                        lse[lseAt] = double.NegativeInfinity;
                        continue;
                    }

                    // softmax over kept keys, shifted by the row max for range, then o_i = Σ p_ij v_j.
                    double sum = 0;
                    for (int j = 0; j < shape.SeqKv; j++)
                    {
                        scores[j] = kept[j] ? Math.Exp(scores[j] - max) : 0;
                        sum += scores[j];
                    }

                    for (int d = 0; d < shape.ValueHeadDim; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < shape.SeqKv; j++)
                        {
                            if (kept[j])
                            {
                                acc += scores[j] * ToDouble(v[(int)vIndex.At(b, j, kvHead, d)]);
                            }
                        }

                        output[oIndex.At(b, i, h, d)] = acc / sum;
                    }

                    lse[lseAt] = max + Math.Log(sum);
                }
            }
        }

        return new ReferenceResult(output, lse);
    }

    /// <summary>Widens any supported element type to double, exactly.</summary>
    public static double ToDouble<T>(T value)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            return (float)(object)value;
        }

        if (typeof(T) == typeof(Half))
        {
            return (double)(Half)(object)value;
        }

        if (typeof(T) == typeof(BFloat16))
        {
            return (BFloat16)(object)value;
        }

        if (typeof(T) == typeof(double))
        {
            return (double)(object)value;
        }

        throw new NotSupportedException($"Element type {typeof(T).Name} is not an attention element type (float, Half, BFloat16).");
    }

    private static void RequireLength(int actual, long expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"'{name}' has {actual} elements, but the shape needs {expected}.", name);
        }
    }
}

/// <summary>The reference's outputs: O in the output layout and LSE [B, Hq, Sq], both float64.</summary>
public sealed record ReferenceResult(double[] Output, double[] Lse);
