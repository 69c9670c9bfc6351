namespace KernelDsl;

/// <summary>
/// How a page pool orders its dimensions. Both keep the feature dimension contiguous; the kernels read the pool through
/// its three strides (page, slot, head), so either layout runs the same generated code.
/// </summary>
public enum PagedKvLayout
{
    /// <summary>
    /// [pages, Hkv, pageSize, D] (FlashInfer's "HND"; the default). The tokens of one KV head within a page are one
    /// contiguous block of pageSize·D elements, so a decode CTA (one sequence, one KV head) reads each page as a single
    /// contiguous run — one bulk/TMA copy, whole DRAM bursts and one address per page instead of one per token.
    /// </summary>
    PageHeadSlot = 0,

    /// <summary>
    /// [pages, pageSize, Hkv, D] (FlashAttention's <c>block_table</c> cache, FlashInfer's "NHD"): one token's K (or V) for
    /// every head is contiguous, so appending a token is one contiguous write. Use it to share a cache with those libraries.
    /// </summary>
    PageSlotHead = 1,
}
