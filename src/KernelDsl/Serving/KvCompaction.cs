using System;
using System.Collections.Generic;

namespace KernelDsl;

/// <summary>What <see cref="KvCompaction.Compact{T}"/> did: each sequence's new length and the pages it no longer uses.</summary>
public sealed class KvCompactionResult(int[] kvLengths, int[] freedPages)
{
    /// <summary>Per sequence, the tokens kept (the new L; use it with the same page table).</summary>
    public int[] KvLengths { get; } = kvLengths;

    /// <summary>The pages that became free: of each sequence, in sequence order, its page-table entries
    /// [ceil(newL / pageSize), ceil(L / pageSize)). Their contents are left as they were.</summary>
    public int[] FreedPages { get; } = freedPages;
}

/// <summary>
/// KV-cache compaction on the CPU (issue 12, item 3): per-token keep decisions move each sequence's kept tokens to the
/// front of its own pages, in order, so the pages past the new length go back to the pool. K is stored after rotary, so
/// attention over the compacted cache equals attention over the kept tokens at their original positions.
/// <para><b>Shared pages</b> (a page read by two sequences of the batch, or twice by one: a common prefix) are never written
/// nor freed. A sequence moves tokens only from its first dropped token on, so it may compact as long as no page from the
/// one holding its first dropped token onward is shared (keeping the whole shared prefix is fine); otherwise the call
/// throws an <see cref="ArgumentException"/> (<c>pageTable</c>) naming the page and the sequences, before touching the
/// cache — copy the page (copy-on-write) first. Pages shared with sequences that are not in <c>batch</c> cannot be seen:
/// pass every sequence that holds a page.</para>
/// </summary>
public static class KvCompaction
{
    /// <summary>
    /// Compacts the sequences of <paramref name="batch"/> (its lengths and page table; the query offsets are ignored) in
    /// <paramref name="cache"/>. <paramref name="keep"/> holds Σ L decisions packed by sequence: sequence s's token t is
    /// <c>keep[Σ_{r&lt;s} L_r + t]</c>.
    /// </summary>
    public static KvCompactionResult Compact<T>(this PagedKvCache<T> cache, PagedKvBatch batch, ReadOnlySpan<bool> keep)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(batch);
        var g = cache.Geometry;
        batch.Validate(g, int.MaxValue);
        if (keep.Length != batch.TotalKvTokens)
        {
            throw new ArgumentException($"'keep' has {keep.Length} decisions, but the batch's sequences hold {batch.TotalKvTokens} tokens.", nameof(keep));
        }

        var lengths = batch.KvLengths.Span;
        var readers = PageReaders(batch, g.PageSize);

        // Plan and check every sequence before moving anything: a refused call leaves the cache as it was.
        var newLengths = new int[batch.Sequences];
        var firstDropped = new int[batch.Sequences];
        int start = 0;
        for (int s = 0; s < batch.Sequences; s++)
        {
            var mask = keep.Slice(start, lengths[s]);
            start += lengths[s];
            firstDropped[s] = mask.IndexOf(false) is var i and >= 0 ? i : lengths[s];
            foreach (bool k in mask)
            {
                newLengths[s] += k ? 1 : 0;
            }

            var row = batch.PagesOf(s);
            for (int p = firstDropped[s] / g.PageSize; p < PagedKvBatch.PagesNeeded(lengths[s], g.PageSize) && firstDropped[s] < lengths[s]; p++)
            {
                if (readers[row[p]].Count > 1)
                {
                    throw new ArgumentException(
                        $"'pageTable': sequence {s} would rewrite or free page {row[p]} (entry [{s}, {p}]), which sequences {string.Join(", ", readers[row[p]])} all read; copy the page first or keep all of its tokens.",
                        "pageTable");
                }
            }
        }

        var freed = new List<int>();
        start = 0;
        for (int s = 0; s < batch.Sequences; s++)
        {
            var row = batch.PagesOf(s);
            int kept = firstDropped[s];
            for (int t = firstDropped[s]; t < lengths[s]; t++)
            {
                if (keep[start + t])
                {
                    // kept < t: slot `kept` was read before (it is an earlier token), so moving forward in place is safe.
                    MoveToken(cache, row, t, kept++);
                }
            }

            for (int p = PagedKvBatch.PagesNeeded(newLengths[s], g.PageSize); p < PagedKvBatch.PagesNeeded(lengths[s], g.PageSize); p++)
            {
                freed.Add(row[p]);
            }

            start += lengths[s];
        }

        return new KvCompactionResult(newLengths, freed.ToArray());
    }

    /// <summary>Which sequences read each page (a page read twice by one sequence is listed twice, so it counts as shared).</summary>
    private static Dictionary<int, List<int>> PageReaders(PagedKvBatch batch, int pageSize)
    {
        var readers = new Dictionary<int, List<int>>();
        for (int s = 0; s < batch.Sequences; s++)
        {
            var row = batch.PagesOf(s);
            for (int p = 0; p < PagedKvBatch.PagesNeeded(batch.KvLengths.Span[s], pageSize); p++)
            {
                if (!readers.TryGetValue(row[p], out var list))
                {
                    readers[row[p]] = list = [];
                }

                list.Add(s);
            }
        }

        return readers;
    }

    private static void MoveToken<T>(PagedKvCache<T> cache, ReadOnlySpan<int> row, int from, int to)
        where T : unmanaged
    {
        int pageSize = cache.Geometry.PageSize;
        int fromPage = row[from / pageSize], fromSlot = from % pageSize;
        int toPage = row[to / pageSize], toSlot = to % pageSize;
        for (int h = 0; h < cache.Geometry.HeadsKv; h++)
        {
            cache.KeyRow(fromPage, fromSlot, h).CopyTo(cache.KeyRow(toPage, toSlot, h));
            cache.ValueRow(fromPage, fromSlot, h).CopyTo(cache.ValueRow(toPage, toSlot, h));
        }
    }
}
