using System;
using System.Linq;
using KernelDsl;
using KernelDsl.Reference;

namespace KernelDsl.Tests.Shared;

/// <summary>
/// A random paged KV cache for tests: each sequence's K/V is first made dense ([L, Hkv, D], random), then scattered into a
/// pool through a shuffled page table. Sequences marked as sharing take the common prefix's pages (whole pages of one
/// shared run of tokens, the same in each of their dense tensors), so pages repeat across sequences; unused pool pages and
/// the page-table entries past each sequence's length hold random junk (valid page indices), so reading a token that is
/// not the sequence's gives a wrong answer rather than a lucky one.
/// </summary>
internal sealed class PagedKvFixture<T>
    where T : unmanaged
{
    private PagedKvFixture(PagedKvCache<T> cache, PagedKvBatch batch, T[][] keys, T[][] values)
    {
        Cache = cache;
        Batch = batch;
        DenseKeys = keys;
        DenseValues = values;
    }

    public PagedKvCache<T> Cache { get; }

    public PagedKvBatch Batch { get; }

    /// <summary>Per sequence, K [L, Hkv, D] as written.</summary>
    public T[][] DenseKeys { get; }

    /// <summary>Per sequence, V [L, Hkv, Dv] as written.</summary>
    public T[][] DenseValues { get; }

    public static PagedKvFixture<T> Create(
        Random random, int[] lengths, int[] queries, int pageSize, int headsKv, int headDim, int valueHeadDim,
        PagedKvLayout layout, int sharedPrefixTokens, bool[] sharesPrefix)
    {
        int sequences = lengths.Length;
        int prefixPages = sharedPrefixTokens / pageSize;
        var prefixKeys = RandomTensors.Uniform<T>(random, prefixPages * pageSize * headsKv * headDim);
        var prefixValues = RandomTensors.Uniform<T>(random, prefixPages * pageSize * headsKv * valueHeadDim);

        // Pages: the shared prefix's, then each sequence's own, then a few spare; all shuffled.
        int ownPages = 0;
        var needed = new int[sequences];
        for (int s = 0; s < sequences; s++)
        {
            needed[s] = PagedKvBatch.PagesNeeded(lengths[s], pageSize);
            ownPages += Math.Max(0, needed[s] - (sharesPrefix[s] ? prefixPages : 0));
        }

        int totalPages = prefixPages + ownPages + 1 + random.Next(3);
        var order = Enumerable.Range(0, totalPages).OrderBy(_ => random.Next()).ToArray();
        int next = 0;
        var prefixPageIds = order.Take(prefixPages).ToArray();
        next += prefixPages;

        int maxPages = Math.Max(1, needed.DefaultIfEmpty(0).Max() + random.Next(3));
        var table = new int[sequences * maxPages];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = random.Next(totalPages); // junk past each length
        }

        for (int s = 0; s < sequences; s++)
        {
            for (int p = 0; p < needed[s]; p++)
            {
                table[(s * maxPages) + p] = sharesPrefix[s] && p < prefixPages ? prefixPageIds[p] : order[next++];
            }
        }

        var geometry = new PagedKvGeometry(totalPages, pageSize, headsKv, headDim, valueHeadDim, layout);
        var cache = new PagedKvCache<T>(geometry);
        RandomTensors.Uniform<T>(random, cache.Keys.Length, 4f).CopyTo(cache.Keys);
        RandomTensors.Uniform<T>(random, cache.Values.Length, 4f).CopyTo(cache.Values);

        var offsets = new int[sequences + 1];
        for (int s = 0; s < sequences; s++)
        {
            offsets[s + 1] = offsets[s] + queries[s];
        }

        var batch = new PagedKvBatch(offsets, lengths, table, maxPages);
        var keys = new T[sequences][];
        var values = new T[sequences][];
        int keyRow = headsKv * headDim, valueRow = headsKv * valueHeadDim;
        for (int s = 0; s < sequences; s++)
        {
            keys[s] = RandomTensors.Uniform<T>(random, lengths[s] * keyRow);
            values[s] = RandomTensors.Uniform<T>(random, lengths[s] * valueRow);
            int shared = sharesPrefix[s] ? Math.Min(lengths[s], prefixPages * pageSize) : 0;
            prefixKeys.AsSpan(0, shared * keyRow).CopyTo(keys[s]);
            prefixValues.AsSpan(0, shared * valueRow).CopyTo(values[s]);
            for (int t = 0; t < lengths[s]; t++)
            {
                cache.WriteToken(batch.PagesOf(s), t, keys[s].AsSpan(t * keyRow, keyRow), values[s].AsSpan(t * valueRow, valueRow));
            }
        }

        return new PagedKvFixture<T>(cache, batch, keys, values);
    }

    /// <summary>
    /// Sequence lengths for a page size, shuffled: 0 and 1, page boundaries ± 1 (as many as fit, leaving one slot), and at
    /// least one long random length in [maxLength / 2, maxLength].
    /// </summary>
    public static int[] RaggedLengths(Random random, int pageSize, int count, int maxLength)
    {
        var boundaries = new[] { pageSize - 1, pageSize, pageSize + 1, (2 * pageSize) - 1, 2 * pageSize, (2 * pageSize) + 1 }
            .Where(length => length > 1 && length <= maxLength)
            .Distinct()
            .OrderBy(_ => random.Next());
        var candidates = new[] { 0, 1 }.Concat(boundaries).Take(Math.Max(count - 1, 2)).ToList();
        while (candidates.Count < count)
        {
            candidates.Add(random.Next(maxLength / 2, maxLength + 1));
        }

        return candidates.OrderBy(_ => random.Next()).ToArray();
    }
}
