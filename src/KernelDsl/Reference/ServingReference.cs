using System;

namespace KernelDsl.Reference;

/// <summary>
/// The float64 reference of the serving entry points (varlen prefill and paged decode), by definition: each sequence's
/// K/V is gathered into contiguous tensors (through its page table, for a paged cache) and handed to
/// <see cref="AttentionReference"/> as a dense call with B = 1, Sq = its queries, Skv = its keys, the modifiers seeing
/// b = the sequence's index. Outputs are packed like the kernels': O [totalQ, Hq, Dv] and LSE [totalQ, Hq] (token-major).
/// A sequence with no keys gives O = 0 and LSE = −∞ for each of its queries.
/// </summary>
public static partial class ServingReference
{
    /// <summary>
    /// Sequence <paramref name="sequence"/>'s K [L, Hkv, D] and V [L, Hkv, Dv], copied token by token through its page table.
    /// </summary>
    public static (T[] Keys, T[] Values) Gather<T>(PagedKvCache<T> cache, PagedKvBatch batch, int sequence)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(batch);
        var g = cache.Geometry;
        int length = batch.KvLengths.Span[sequence];
        var pages = batch.PagesOf(sequence);
        var keys = new T[(long)length * g.HeadsKv * g.HeadDim];
        var values = new T[(long)length * g.HeadsKv * g.ValueHeadDim];
        for (int t = 0; t < length; t++)
        {
            int page = pages[t / g.PageSize], slot = t % g.PageSize;
            for (int h = 0; h < g.HeadsKv; h++)
            {
                cache.KeyRow(page, slot, h).CopyTo(keys.AsSpan((int)((((long)t * g.HeadsKv) + h) * g.HeadDim), g.HeadDim));
                cache.ValueRow(page, slot, h).CopyTo(values.AsSpan((int)((((long)t * g.HeadsKv) + h) * g.ValueHeadDim), g.ValueHeadDim));
            }
        }

        return (keys, values);
    }

    /// <summary>
    /// Paged decode: Q packed [totalQ, Hq, D]; each sequence against its gathered cache. <paramref name="bandFor"/> gives the
    /// built-in mask for a per-sequence shape (pass the spec's <c>Plan.Parameters.BandFor</c>).
    /// </summary>
    public static ReferenceResult Decode<T>(
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
        var g = cache.Geometry;
        batch.Validate(g, int.MaxValue);
        var offsets = batch.QueryOffsets.Span;
        var result = Empty(batch.TotalQueries, headsQ, g.ValueHeadDim);
        RequireLength(q.Length, (long)batch.TotalQueries * headsQ * g.HeadDim, "q");
        for (int s = 0; s < batch.Sequences; s++)
        {
            var (keys, values) = Gather(cache, batch, s);
            Sequence(q, keys, values, offsets[s], batch.QueryCount(s), batch.KvLengths.Span[s], headsQ, g.HeadsKv, g.HeadDim, g.ValueHeadDim, s, scale, bandFor, scoreMod, maskMod, result);
        }

        return result;
    }

    /// <summary>Varlen prefill: Q [totalQ, Hq, D], K [totalKv, Hkv, D], V [totalKv, Hkv, Dv], packed by the batch's offsets.</summary>
    public static ReferenceResult Varlen<T>(
        ReadOnlySpan<T> q,
        ReadOnlySpan<T> k,
        ReadOnlySpan<T> v,
        VarlenBatch batch,
        int headsQ,
        int headsKv,
        int headDim,
        int valueHeadDim,
        double scale,
        Func<AttentionShape, MaskBand> bandFor,
        Func<double, int, int, int, int, double>? scoreMod = null,
        Func<int, int, int, int, bool>? maskMod = null)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(batch);
        RequireLength(q.Length, (long)batch.TotalQueries * headsQ * headDim, "q");
        RequireLength(k.Length, (long)batch.TotalKeys * headsKv * headDim, "k");
        RequireLength(v.Length, (long)batch.TotalKeys * headsKv * valueHeadDim, "v");
        var result = Empty(batch.TotalQueries, headsQ, valueHeadDim);
        var qOffsets = batch.QueryOffsets.Span;
        var kOffsets = batch.KeyOffsets.Span;
        for (int s = 0; s < batch.Sequences; s++)
        {
            int length = batch.KeyLength(s);
            var keys = k.Slice(kOffsets[s] * headsKv * headDim, length * headsKv * headDim);
            var values = v.Slice(kOffsets[s] * headsKv * valueHeadDim, length * headsKv * valueHeadDim);
            Sequence(q, keys, values, qOffsets[s], batch.QueryLength(s), length, headsQ, headsKv, headDim, valueHeadDim, s, scale, bandFor, scoreMod, maskMod, result);
        }

        return result;
    }

    /// <summary>One sequence as a dense B = 1 call; its rows of the packed outputs are written in place.</summary>
    private static void Sequence<T>(
        ReadOnlySpan<T> q,
        ReadOnlySpan<T> keys,
        ReadOnlySpan<T> values,
        int queryStart,
        int queries,
        int length,
        int headsQ,
        int headsKv,
        int headDim,
        int valueHeadDim,
        int sequence,
        double scale,
        Func<AttentionShape, MaskBand> bandFor,
        Func<double, int, int, int, int, double>? scoreMod,
        Func<int, int, int, int, bool>? maskMod,
        ReferenceResult result)
        where T : unmanaged
    {
        if (queries == 0)
        {
            return;
        }

        long lseStart = (long)queryStart * headsQ;
        if (length == 0)
        {
            // No keys: every row is fully masked (O stays 0).
            result.Lse.AsSpan((int)lseStart, queries * headsQ).Fill(double.NegativeInfinity);
            return;
        }

        var shape = new AttentionShape(1, queries, length, headsQ, headsKv, headDim, valueHeadDim);
        var dense = AttentionReference.Compute(
            q.Slice(queryStart * headsQ * headDim, queries * headsQ * headDim),
            keys,
            values,
            shape,
            TensorLayout.BSHD,
            scale,
            bandFor(shape),
            scoreMod is null ? null : (score, _, h, i, j) => scoreMod(score, sequence, h, i, j),
            maskMod is null ? null : (_, h, i, j) => maskMod(sequence, h, i, j));

        // O: [1, Sq, Hq, Dv] is exactly the sequence's rows of the packed output. LSE: [1, Hq, Sq] → [Sq, Hq].
        dense.Output.CopyTo(result.Output, (long)queryStart * headsQ * valueHeadDim);
        for (int h = 0; h < headsQ; h++)
        {
            for (int i = 0; i < queries; i++)
            {
                result.Lse[lseStart + ((long)i * headsQ) + h] = dense.Lse[((long)h * queries) + i];
            }
        }
    }

    private static ReferenceResult Empty(int totalQueries, int headsQ, int valueHeadDim) =>
        new(new double[(long)totalQueries * headsQ * valueHeadDim], new double[(long)totalQueries * headsQ]);

    private static void RequireLength(long actual, long expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"'{name}' has {actual} elements, but the batch needs {expected}.", name);
        }
    }
}
