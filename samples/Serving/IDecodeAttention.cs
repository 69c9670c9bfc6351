using System;
using KernelDsl;

namespace Serving;

/// <summary>
/// Where the KV cache lives and how a decode step's attention runs. The step loop prefills prompts, runs one fused step per
/// token (<see cref="Step"/>: rotate, append, attend) and compacts the cache, so a GPU backend (a <c>DevicePagedKvCache</c>
/// and the device <c>DecodeAppend</c>) drops in beside <see cref="CpuDecodeAttention"/>.
/// </summary>
internal interface IDecodeAttention
{
    string Name { get; }

    PagedKvGeometry Geometry { get; }

    /// <summary>Writes a prompt's K [n, Hkv, D] (un-rotated; rotated here at positions start…start+n−1) and V [n, Hkv, D] into the sequence's pages.</summary>
    void Prefill(ReadOnlySpan<int> pages, int start, ReadOnlySpan<BFloat16> keys, ReadOnlySpan<BFloat16> values);

    /// <summary>
    /// One fused step: q [B, Hq, D], k/v [B, Hkv, D] of the new tokens (un-rotated) → output [B, Hq, D] and the eviction scores
    /// keyMass [Σ L, Hkv] of the cache after the append; returns the batch after the append.
    /// </summary>
    PagedKvBatch Step(ReadOnlySpan<BFloat16> q, ReadOnlySpan<BFloat16> k, ReadOnlySpan<BFloat16> v, PagedKvBatch before, Span<BFloat16> output, Span<float> keyMass);

    /// <summary>Attention of already rotated queries over the cache as it is (no append): to re-run a step on a compacted cache.</summary>
    void Attend(ReadOnlySpan<BFloat16> rotatedQ, PagedKvBatch batch, Span<BFloat16> output);

    /// <summary>Moves each sequence's kept tokens to the front of its pages (<see cref="KvCompaction.Compact{T}"/>).</summary>
    KvCompactionResult Compact(PagedKvBatch batch, ReadOnlySpan<bool> keep);
}

/// <summary>The generated CPU <c>DecodeAppend</c>/<c>Decode</c> and the CPU compaction over a host <see cref="PagedKvCache{T}"/>.</summary>
internal sealed class CpuDecodeAttention(PagedKvGeometry geometry, int headsQ) : IDecodeAttention
{
    public string Name => $"CPU, {Environment.ProcessorCount} cores";

    public PagedKvGeometry Geometry => geometry;

    /// <summary>The cache (for the reference check and the eviction scores).</summary>
    public PagedKvCache<BFloat16> Cache { get; } = new(geometry);

    public void Prefill(ReadOnlySpan<int> pages, int start, ReadOnlySpan<BFloat16> keys, ReadOnlySpan<BFloat16> values)
    {
        // The prompt as the "new tokens" of a one-sequence batch with no query heads: the same prologue DecodeAppend runs
        // (rotation at each token's position, then the page slot), so prompt K is rotated exactly like decoded K.
        int tokens = keys.Length / (geometry.HeadsKv * geometry.HeadDim);
        var batch = new PagedKvBatch([0, tokens], [start], pages, pages.Length);
        DecodeAppendPrologue.Run(ReadOnlySpan<BFloat16>.Empty, keys, values, Cache, batch, 0, ServingAttention.Serving.Rotary, Span<BFloat16>.Empty);
    }

    public PagedKvBatch Step(ReadOnlySpan<BFloat16> q, ReadOnlySpan<BFloat16> k, ReadOnlySpan<BFloat16> v, PagedKvBatch before, Span<BFloat16> output, Span<float> keyMass) =>
        ServingAttention.DecodeAppend(q, k, v, Cache, output, keyMass, before, headsQ);

    public void Attend(ReadOnlySpan<BFloat16> rotatedQ, PagedKvBatch batch, Span<BFloat16> output) =>
        ServingAttention.Decode(rotatedQ, Cache, output, new float[batch.TotalKvTokens * geometry.HeadsKv], batch, headsQ); // the scores of a re-run are not needed

    public KvCompactionResult Compact(PagedKvBatch batch, ReadOnlySpan<bool> keep) => Cache.Compact(batch, keep);
}
