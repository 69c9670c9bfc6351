using System;

namespace KernelDsl.Reference;

public static partial class ServingReference
{
    /// <summary>
    /// The eviction scores of a paged decode step, by definition: for each cached key, the attention mass it received —
    /// the softmax probability p = exp(s − LSE) of every query row that keeps it, summed over the sequence's queries of the
    /// step and the query heads of the key's KV group. Packed like the cache's tokens and like <see cref="KvCompaction"/>'s
    /// keep flags: key t of sequence s, KV head g is element <c>(Σ_{r&lt;s} L_r + t)·Hkv + g</c> of a [Σ L, Hkv] array.
    /// A key no row keeps gets 0; so does every key of a sequence without queries. Each row's probabilities sum to 1, so a
    /// sequence's masses sum to (its queries × group size) minus its fully masked rows.
    /// </summary>
    public static double[] AttentionMass<T>(
        ReadOnlySpan<T> q,
        PagedKvCache<T> cache,
        PagedKvBatch batch,
        int headsQ,
        double scale,
        Func<AttentionShape, MaskBand> bandFor,
        Func<double, int, int, int, int, double>? scoreMod = null,
        Func<int, int, int, int, bool>? maskMod = null)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(bandFor);
        var g = cache.Geometry;
        batch.Validate(g, int.MaxValue);
        RequireLength(q.Length, (long)batch.TotalQueries * headsQ * g.HeadDim, "q");
        if (headsQ < 1 || headsQ % g.HeadsKv != 0)
        {
            throw new ArgumentException($"'headsQ' ({headsQ}) must be a positive multiple of the cache's {g.HeadsKv} KV heads.", nameof(headsQ));
        }

        int headsKv = g.HeadsKv, d = g.HeadDim, group = headsQ / headsKv;
        var mass = new double[batch.TotalKvTokens * headsKv];
        var offsets = batch.QueryOffsets.Span;
        long keyStart = 0;
        for (int s = 0; s < batch.Sequences; s++)
        {
            int length = batch.KvLengths.Span[s], queries = batch.QueryCount(s);
            var (keys, _) = Gather(cache, batch, s);
            var band = bandFor(new AttentionShape(1, Math.Max(queries, 1), Math.Max(length, 1), headsQ, headsKv, d, g.ValueHeadDim));
            var scores = new double[length];
            var kept = new bool[length];
            for (int h = 0; h < headsQ; h++)
            {
                int kvHead = h / group;
                for (int i = 0; i < queries; i++)
                {
                    // s_ij = scale · (q_i · k_j) over kept keys, then p_ij = exp(s_ij − max) / Σ exp(s − max).
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < length; j++)
                    {
                        kept[j] = band.Keeps(i, j) && (maskMod is null || maskMod(s, h, i, j));
                        if (!kept[j])
                        {
                            continue;
                        }

                        double dot = 0;
                        for (int f = 0; f < d; f++)
                        {
                            dot += AttentionReference.ToDouble(q[(((offsets[s] + i) * headsQ) + h) * d + f]) * AttentionReference.ToDouble(keys[(((j * headsKv) + kvHead) * d) + f]);
                        }

                        scores[j] = scoreMod is null ? scale * dot : scoreMod(scale * dot, s, h, i, j);
                        max = Math.Max(max, scores[j]);
                    }

                    if (double.IsNegativeInfinity(max))
                    {
                        continue; // a fully masked row gives no key any mass
                    }

                    double sum = 0;
                    for (int j = 0; j < length; j++)
                    {
                        scores[j] = kept[j] ? Math.Exp(scores[j] - max) : 0;
                        sum += scores[j];
                    }

                    for (int j = 0; j < length; j++)
                    {
                        mass[((keyStart + j) * headsKv) + kvHead] += scores[j] / sum;
                    }
                }
            }

            keyStart += length;
        }

        return mass;
    }
}
