using System;

namespace KernelDsl.Reference;

/// <summary>
/// The score modifier's backward in float64: given the raw score s = scale·(q·k) it was applied to, and
/// <paramref name="gradient"/> = ∂L/∂ScoreMod(s, …), returns ∂L/∂s = gradient · ∂ScoreMod/∂s and adds
/// gradient · ∂ScoreMod/∂buffer[i] into the gradients of the learnable buffers it reads (a side effect the caller owns).
/// A spec with <c>[Backward]</c> gets one generated: <c>ScoreModifierBackwardReference</c>.
/// </summary>
public delegate double ScoreModifierBackward(double score, int b, int h, int i, int j, double gradient);

/// <summary>
/// The backward of <see cref="AttentionReference"/>: float64 analytic gradients of L = Σ dO ∘ O, exactly the
/// equations of DESIGN.md (Backward), unfused. With P the softmax over kept keys and Δ_i = Σ_d dO_id·O_id:
/// dP = dO·Vᵀ, dS = P ∘ (dP − Δ) (times ∂ScoreMod/∂s), dQ = scale·dS·K, dK = scale·dSᵀ·Q, dV = Pᵀ·dO; grouped-query
/// heads sum into their K/V head; a row with no kept key contributes nothing. The tests check it against central
/// finite differences of the forward reference.
/// </summary>
public static class AttentionReferenceBackward
{
    /// <summary>
    /// Gradients of Σ dOutput ∘ O with respect to Q, K and V (each laid out like its input), with the forward's O and
    /// LSE. <paramref name="scoreModBackward"/> must be the backward of <paramref name="scoreMod"/> (null when there
    /// is none); it is called once per kept pair with a nonzero dS, which is where it accumulates buffer gradients.
    /// </summary>
    public static ReferenceGradients Compute<T, TGrad>(
        ReadOnlySpan<T> q,
        ReadOnlySpan<T> k,
        ReadOnlySpan<T> v,
        ReadOnlySpan<TGrad> dOutput,
        AttentionShape shape,
        TensorLayout layout,
        double scale,
        MaskBand mask,
        Func<double, int, int, int, int, double>? scoreMod = null,
        ScoreModifierBackward? scoreModBackward = null,
        Func<int, int, int, int, bool>? maskMod = null)
        where T : unmanaged
        where TGrad : unmanaged
    {
        if ((scoreMod is null) != (scoreModBackward is null))
        {
            throw new ArgumentException("A score modifier needs its backward, and a backward needs its modifier.", nameof(scoreModBackward));
        }

        var forward = AttentionReference.Compute(q, k, v, shape, layout, scale, mask, scoreMod, maskMod);
        var qIndex = new ContiguousIndex(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim);
        var kIndex = new ContiguousIndex(layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim);
        var vIndex = new ContiguousIndex(layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.ValueHeadDim);
        var oIndex = new ContiguousIndex(layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim);
        if (dOutput.Length != oIndex.Length)
        {
            throw new ArgumentException($"'dOutput' has {dOutput.Length} elements, but the shape needs {oIndex.Length}.", nameof(dOutput));
        }

        var dq = new double[qIndex.Length];
        var dk = new double[kIndex.Length];
        var dv = new double[vIndex.Length];
        var raw = new double[shape.SeqKv];
        var p = new double[shape.SeqKv];
        var kept = new bool[shape.SeqKv];

        for (int b = 0; b < shape.Batch; b++)
        {
            for (int h = 0; h < shape.HeadsQ; h++)
            {
                int kvHead = h / shape.GroupSize;
                for (int i = 0; i < shape.SeqQ; i++)
                {
                    double lse = forward.Lse[(((long)b * shape.HeadsQ) + h) * shape.SeqQ + i];
                    if (double.IsNegativeInfinity(lse))
                    {
                        continue; // no kept key: no gradient flows through this row
                    }

                    // P recomputed from the scores and the LSE, as the kernels do.
                    for (int j = 0; j < shape.SeqKv; j++)
                    {
                        kept[j] = mask.Keeps(i, j) && (maskMod is null || maskMod(b, h, i, j));
                        if (!kept[j])
                        {
                            p[j] = 0;
                            continue;
                        }

                        double dot = 0;
                        for (int d = 0; d < shape.HeadDim; d++)
                        {
                            dot += AttentionReference.ToDouble(q[(int)qIndex.At(b, i, h, d)]) * AttentionReference.ToDouble(k[(int)kIndex.At(b, j, kvHead, d)]);
                        }

                        raw[j] = scale * dot;
                        double s = scoreMod is null ? raw[j] : scoreMod(raw[j], b, h, i, j);
                        p[j] = Math.Exp(s - lse);
                    }

                    // Δ_i = Σ_d dO_id · O_id.
                    double delta = 0;
                    for (int d = 0; d < shape.ValueHeadDim; d++)
                    {
                        long at = oIndex.At(b, i, h, d);
                        delta += AttentionReference.ToDouble(dOutput[(int)at]) * forward.Output[at];
                    }

                    for (int j = 0; j < shape.SeqKv; j++)
                    {
                        if (!kept[j])
                        {
                            continue;
                        }

                        // dV_j += P_ij · dO_i and dP_ij = dO_i · v_j.
                        double dp = 0;
                        for (int d = 0; d < shape.ValueHeadDim; d++)
                        {
                            double dO = AttentionReference.ToDouble(dOutput[(int)oIndex.At(b, i, h, d)]);
                            long vAt = vIndex.At(b, j, kvHead, d);
                            dv[vAt] += p[j] * dO;
                            dp += dO * AttentionReference.ToDouble(v[(int)vAt]);
                        }

                        double ds = p[j] * (dp - delta);
                        if (ds == 0)
                        {
                            continue;
                        }

                        // Through the score modifier to the raw score s = scale·(q·k), then to q and k.
                        double dRaw = scoreModBackward is null ? ds : scoreModBackward(raw[j], b, h, i, j, ds);
                        for (int d = 0; d < shape.HeadDim; d++)
                        {
                            long qAt = qIndex.At(b, i, h, d), kAt = kIndex.At(b, j, kvHead, d);
                            dq[qAt] += scale * dRaw * AttentionReference.ToDouble(k[(int)kAt]);
                            dk[kAt] += scale * dRaw * AttentionReference.ToDouble(q[(int)qAt]);
                        }
                    }
                }
            }
        }

        return new ReferenceGradients(dq, dk, dv, forward.Output, forward.Lse);
    }
}

/// <summary>The reference backward's results, float64: dQ, dK, dV laid out like q, k, v; the forward's O and LSE.</summary>
public sealed record ReferenceGradients(double[] DQ, double[] DK, double[] DV, double[] Output, double[] Lse);
