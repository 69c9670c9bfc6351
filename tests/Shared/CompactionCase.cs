using System;
using System.Linq;
using KernelDsl;

namespace KernelDsl.Tests.Shared;

/// <summary>Keep-mask patterns for KV compaction tests (issue 12).</summary>
public enum KeepPattern
{
    None,
    All,
    Alternating,
    Random,
}

/// <summary>
/// Builders for KV-compaction tests: keep masks packed by sequence (as <see cref="KvCompaction.Compact{T}"/> takes them),
/// a paged cache whose K was rotated at its original positions, and the cache that holds only the kept tokens (fresh,
/// contiguous pages) — what attention after compaction must equal.
/// </summary>
internal static class CompactionCase
{
    /// <summary>Σ L decisions, sequence by sequence; Random keeps each token with probability 1/2.</summary>
    public static bool[] Mask(Random random, int[] lengths, KeepPattern pattern) =>
        lengths.SelectMany(length => Enumerable.Range(0, length).Select(t => pattern switch
        {
            KeepPattern.None => false,
            KeepPattern.All => true,
            KeepPattern.Alternating => t % 2 == 0,
            _ => random.Next(2) == 0,
        })).ToArray();

    /// <summary>Sequence <paramref name="s"/>'s slice of the packed mask.</summary>
    public static bool[] MaskOf(bool[] keep, int[] lengths, int s) => keep.Skip(lengths.Take(s).Sum()).Take(lengths[s]).ToArray();

    /// <summary>
    /// A random paged cache (no shared pages) whose K is rotary-embedded at each token's position in its sequence, as a
    /// serving stack stores it; the fixture's DenseKeys are the rotated keys.
    /// </summary>
    public static PagedKvFixture<float> RotatedCache(Random random, int[] lengths, int pageSize, int headsKv, int headDim, PagedKvLayout layout, RotaryEmbedding rope)
    {
        var fixture = PagedKvFixture<float>.Create(random, lengths, lengths.Select(_ => 1).ToArray(), pageSize, headsKv, headDim, headDim, layout, 0, new bool[lengths.Length]);
        int row = headsKv * headDim;
        for (int s = 0; s < lengths.Length; s++)
        {
            var keys = fixture.DenseKeys[s];
            rope.Apply(keys, Enumerable.Range(0, lengths[s]).ToArray(), keys);
            for (int t = 0; t < lengths[s]; t++)
            {
                fixture.Cache.WriteToken(fixture.Batch.PagesOf(s), t, keys.AsSpan(t * row, row), fixture.DenseValues[s].AsSpan(t * row, row));
            }
        }

        return fixture;
    }

    /// <summary>A fresh cache holding, for each sequence, only its kept tokens (same K/V values, in order) in its own pages.</summary>
    public static (PagedKvCache<float> Cache, PagedKvBatch Batch) KeptOnly(PagedKvFixture<float> fixture, bool[] keep, int[] lengths, PagedKvGeometry geometry)
    {
        int sequences = lengths.Length, pageSize = geometry.PageSize;
        int rowK = geometry.HeadsKv * geometry.HeadDim, rowV = geometry.HeadsKv * geometry.ValueHeadDim;
        var kept = Enumerable.Range(0, sequences).Select(s => MaskOf(keep, lengths, s).Count(k => k)).ToArray();
        int maxPages = Math.Max(1, kept.Max(k => PagedKvBatch.PagesNeeded(k, pageSize)));
        var cache = new PagedKvCache<float>(geometry with { Pages = sequences * maxPages });
        var table = Enumerable.Range(0, sequences * maxPages).ToArray();
        var batch = new PagedKvBatch(fixture.Batch.QueryOffsets.Span, kept, table, maxPages);
        for (int s = 0; s < sequences; s++)
        {
            var mask = MaskOf(keep, lengths, s);
            int j = 0;
            for (int t = 0; t < lengths[s]; t++)
            {
                if (mask[t])
                {
                    cache.WriteToken(batch.PagesOf(s), j++, fixture.DenseKeys[s].AsSpan(t * rowK, rowK), fixture.DenseValues[s].AsSpan(t * rowV, rowV));
                }
            }
        }

        return (cache, batch);
    }
}
