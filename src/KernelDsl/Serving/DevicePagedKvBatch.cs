using System;

namespace KernelDsl;

/// <summary>
/// A <see cref="PagedKvBatch"/> on the device, made by <see cref="PagedKvBatch.ToDevice"/> after it was checked against the
/// pool's <see cref="Geometry"/> (the kernels trust its contents; a device call checks that the cache has this geometry).
/// The buffers are int32: <see cref="QueryOffsets"/> [B + 1], <see cref="KvLengths"/> [B], <see cref="PageTable"/>
/// [B, MaxPagesPerSequence] (each at least one element long). The host-side figures are what a launcher needs to plan the
/// grid and the KV split without reading the device (FlashInfer's plan/run split).
/// </summary>
public sealed class DevicePagedKvBatch : IDisposable
{
    internal DevicePagedKvBatch(PagedKvBatch batch, PagedKvGeometry geometry, Cuda.CudaContext? context)
    {
        Geometry = geometry;
        Sequences = batch.Sequences;
        MaxPagesPerSequence = batch.MaxPagesPerSequence;
        TotalQueries = batch.TotalQueries;
        MaxQueriesPerSequence = batch.MaxQueriesPerSequence;
        MaxKvLength = batch.MaxKvLength;
        TotalKvTokens = batch.TotalKvTokens;
        QueryOffsets = Upload(batch.QueryOffsets.Span, context);
        try
        {
            KvLengths = Upload(batch.KvLengths.Span, context);
            PageTable = Upload(batch.PageTable.Span, context);
        }
        catch
        {
            QueryOffsets.Dispose();
            KvLengths?.Dispose();
            throw;
        }
    }

    /// <summary>The pool geometry the batch was checked against.</summary>
    public PagedKvGeometry Geometry { get; }

    public int Sequences { get; }

    public int MaxPagesPerSequence { get; }

    public int TotalQueries { get; }

    public int MaxQueriesPerSequence { get; }

    public int MaxKvLength { get; }

    public long TotalKvTokens { get; }

    /// <summary><c>cu_seqlens_q</c>, int32 [B + 1].</summary>
    public DeviceBuffer<int> QueryOffsets { get; }

    /// <summary>Tokens per sequence, int32 [B].</summary>
    public DeviceBuffer<int> KvLengths { get; }

    /// <summary>Page indices, int32 [B, MaxPagesPerSequence], row-major.</summary>
    public DeviceBuffer<int> PageTable { get; }

    /// <summary>Throws an <see cref="ArgumentException"/> named <paramref name="name"/> unless the cache has the geometry this batch was checked for.</summary>
    public void RequireGeometry(PagedKvGeometry geometry, string name)
    {
        if (geometry != Geometry)
        {
            throw new ArgumentException($"The cache is {geometry}, but the batch was checked against {Geometry}: make it with ToDevice(cache.Geometry, …).", name);
        }
    }

    public void Dispose()
    {
        QueryOffsets.Dispose();
        KvLengths.Dispose();
        PageTable.Dispose();
    }

    /// <summary>A device copy; an empty span gets one (unused) element, since device buffers are never empty.</summary>
    internal static DeviceBuffer<int> Upload(ReadOnlySpan<int> values, Cuda.CudaContext? context) =>
        values.IsEmpty ? new DeviceBuffer<int>(1, context) : DeviceBuffer<int>.From(values, context);
}
