using System;
using KernelDsl;

namespace Serving;

/// <summary>
/// Where the KV cache lives and how a decode step's attention runs. The step loop only appends K/V and calls
/// <see cref="Decode"/>, so a GPU backend (a <c>DevicePagedKvCache</c> and the device <c>Decode</c>, once it exists) drops in
/// beside <see cref="CpuDecodeAttention"/>.
/// </summary>
internal interface IDecodeAttention
{
    string Name { get; }

    PagedKvGeometry Geometry { get; }

    /// <summary>Writes one token's K [Hkv·D] and V [Hkv·D] at <paramref name="position"/> of the sequence whose pages are <paramref name="pages"/>.</summary>
    void Append(ReadOnlySpan<int> pages, int position, ReadOnlySpan<BFloat16> key, ReadOnlySpan<BFloat16> value);

    /// <summary>One step's attention: q [B, Hq, D] (one token per sequence) against the cache → output [B, Hq, D]; returns when done.</summary>
    void Decode(ReadOnlySpan<BFloat16> q, PagedKvBatch batch, Span<BFloat16> output);
}

/// <summary>The generated CPU <c>Decode</c> over a host <see cref="PagedKvCache{T}"/>.</summary>
internal sealed class CpuDecodeAttention(PagedKvGeometry geometry, int headsQ) : IDecodeAttention
{
    public string Name => $"CPU, {Environment.ProcessorCount} cores";

    public PagedKvGeometry Geometry => geometry;

    /// <summary>The cache (for the reference check).</summary>
    public PagedKvCache<BFloat16> Cache { get; } = new(geometry);

    public void Append(ReadOnlySpan<int> pages, int position, ReadOnlySpan<BFloat16> key, ReadOnlySpan<BFloat16> value) =>
        Cache.WriteToken(pages, position, key, value);

    public void Decode(ReadOnlySpan<BFloat16> q, PagedKvBatch batch, Span<BFloat16> output) =>
        ServingAttention.Decode(q, Cache, output, batch, headsQ);
}
