using System;

namespace KernelDsl;

/// <summary>
/// One decode (or speculative-verification) step over a paged KV cache: for each of B sequences, its new query tokens,
/// its length in the cache and its page table.
/// <list type="bullet">
/// <item><see cref="QueryOffsets"/> (<c>cu_seqlens_q</c>, B + 1 entries from 0, non-decreasing): sequence s owns query rows
/// [QueryOffsets[s], QueryOffsets[s + 1]) of the packed Q [totalQ, Hq, D] (1 per sequence for plain decode, up to 16 for
/// verification of draft tokens; 0 is allowed and produces nothing).</item>
/// <item><see cref="KvLengths"/> (B entries ≥ 0): tokens of sequence s in the cache, the new ones included (they were
/// appended before the call). Query i of a sequence with q queries and L tokens has its causal diagonal at key L − q + i
/// (bottom-right alignment, per sequence). L = 0 gives O = 0 and LSE = −∞.</item>
/// <item><see cref="PageTable"/> (int [B, MaxPagesPerSequence], row-major, FlashAttention's <c>block_table</c>): token t of
/// sequence s is in page PageTable[s, t / pageSize], slot t % pageSize. Only the first ceil(L / pageSize) entries of a row
/// are read (the rest may hold anything, e.g. −1); pages may repeat across sequences (a shared prefix).</item>
/// </list>
/// Immutable: the constructor copies and checks what it can without the pool; <see cref="Validate"/> checks it against a
/// pool's geometry (every generated entry point does). Each failure names the argument.
/// </summary>
public sealed class PagedKvBatch
{
    private readonly int[] _queryOffsets;
    private readonly int[] _kvLengths;
    private readonly int[] _pageTable;

    public PagedKvBatch(ReadOnlySpan<int> queryOffsets, ReadOnlySpan<int> kvLengths, ReadOnlySpan<int> pageTable, int maxPagesPerSequence)
    {
        int sequences = kvLengths.Length;
        SequenceOffsets.Validate(queryOffsets, sequences, nameof(queryOffsets));
        for (int s = 0; s < sequences; s++)
        {
            if (kvLengths[s] < 0)
            {
                throw new ArgumentException($"'kvLengths' must not be negative, but sequence {s} has {kvLengths[s]} tokens.", nameof(kvLengths));
            }
        }

        if (maxPagesPerSequence < 0 || (sequences > 0 && maxPagesPerSequence == 0 && pageTable.Length != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(maxPagesPerSequence), maxPagesPerSequence, "The page table's row length must be ≥ 0 (and > 0 when it has entries).");
        }

        if (pageTable.Length != (long)sequences * maxPagesPerSequence)
        {
            throw new ArgumentException($"'pageTable' has {pageTable.Length} entries, but [sequences, maxPagesPerSequence] = [{sequences}, {maxPagesPerSequence}] needs {(long)sequences * maxPagesPerSequence}.", nameof(pageTable));
        }

        _queryOffsets = queryOffsets.ToArray();
        _kvLengths = kvLengths.ToArray();
        _pageTable = pageTable.ToArray();
        MaxPagesPerSequence = maxPagesPerSequence;
        MaxQueriesPerSequence = SequenceOffsets.MaxLength(queryOffsets);
        foreach (int length in _kvLengths)
        {
            MaxKvLength = Math.Max(MaxKvLength, length);
        }
    }

    /// <summary>B, the number of sequences.</summary>
    public int Sequences => _kvLengths.Length;

    /// <summary>Entries per page-table row.</summary>
    public int MaxPagesPerSequence { get; }

    /// <summary><c>cu_seqlens_q</c> (read-only view).</summary>
    public ReadOnlyMemory<int> QueryOffsets => _queryOffsets;

    /// <summary>Tokens per sequence in the cache (read-only view).</summary>
    public ReadOnlyMemory<int> KvLengths => _kvLengths;

    /// <summary>[B, MaxPagesPerSequence] page indices (read-only view).</summary>
    public ReadOnlyMemory<int> PageTable => _pageTable;

    /// <summary>Query rows of all sequences.</summary>
    public int TotalQueries => _queryOffsets[^1];

    /// <summary>The most queries any sequence has.</summary>
    public int MaxQueriesPerSequence { get; }

    /// <summary>The longest sequence in the cache.</summary>
    public int MaxKvLength { get; }

    /// <summary>Total tokens the call reads (Σ L), for bandwidth figures.</summary>
    public long TotalKvTokens
    {
        get
        {
            long total = 0;
            foreach (int length in _kvLengths)
            {
                total += length;
            }

            return total;
        }
    }

    /// <summary>Queries of sequence <paramref name="sequence"/>.</summary>
    public int QueryCount(int sequence) => _queryOffsets[sequence + 1] - _queryOffsets[sequence];

    /// <summary>The page-table row of sequence <paramref name="sequence"/>.</summary>
    public ReadOnlySpan<int> PagesOf(int sequence) => _pageTable.AsSpan(sequence * MaxPagesPerSequence, MaxPagesPerSequence);

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> unless the batch fits a pool of <paramref name="geometry"/>: every sequence
    /// fits its page-table row (<c>kvLengths</c>), every page a sequence reads is inside the pool (<c>pageTable</c>), and no
    /// sequence has more than <paramref name="maxQueriesPerSequence"/> queries (<c>queryOffsets</c>).
    /// </summary>
    public void Validate(PagedKvGeometry geometry, int maxQueriesPerSequence)
    {
        geometry.Validate();
        for (int s = 0; s < Sequences; s++)
        {
            int queries = QueryCount(s);
            if (queries > maxQueriesPerSequence)
            {
                throw new ArgumentException($"'queryOffsets': sequence {s} has {queries} queries, more than the spec's MaxQueriesPerSequence ({maxQueriesPerSequence}).", "queryOffsets");
            }

            int pages = PagesNeeded(_kvLengths[s], geometry.PageSize);
            if (pages > MaxPagesPerSequence)
            {
                throw new ArgumentException($"'kvLengths': sequence {s} has {_kvLengths[s]} tokens, which need {pages} pages of {geometry.PageSize}, but its page-table row has {MaxPagesPerSequence} entries.", "kvLengths");
            }

            var row = PagesOf(s);
            for (int p = 0; p < pages; p++)
            {
                if ((uint)row[p] >= (uint)geometry.Pages)
                {
                    throw new ArgumentException($"'pageTable': entry [{s}, {p}] is page {row[p]}, outside the pool's {geometry.Pages} pages (sequence {s} reads its first {pages} entries).", "pageTable");
                }
            }
        }
    }

    /// <summary>
    /// The batch after a fused append step (<c>DecodeAppend</c>, issue 12): each sequence's length grown by its query tokens, the
    /// same offsets and page table. This batch's lengths are the positions where the new tokens go.
    /// </summary>
    public PagedKvBatch AfterAppend()
    {
        var lengths = new int[Sequences];
        for (int s = 0; s < lengths.Length; s++)
        {
            lengths[s] = checked(_kvLengths[s] + QueryCount(s));
        }

        return new PagedKvBatch(_queryOffsets, lengths, _pageTable, MaxPagesPerSequence);
    }

    /// <summary>ceil(length / pageSize).</summary>
    public static int PagesNeeded(int length, int pageSize) => (int)(((long)length + pageSize - 1) / pageSize);

    /// <summary>The batch on the device (for the GPU kernels), checked against <paramref name="geometry"/> first.</summary>
    public DevicePagedKvBatch ToDevice(PagedKvGeometry geometry, int maxQueriesPerSequence, Cuda.CudaContext? context = null)
    {
        Validate(geometry, maxQueriesPerSequence);
        return new DevicePagedKvBatch(this, geometry, context);
    }
}
