using System;

namespace KernelDsl;

/// <summary>
/// A <see cref="VarlenBatch"/> on the device (<see cref="VarlenBatch.ToDevice"/>): int32 <see cref="QueryOffsets"/> and
/// <see cref="KeyOffsets"/> [B + 1], with the host-side totals and maxima a launcher needs to size the grid.
/// </summary>
public sealed class DeviceVarlenBatch : IDisposable
{
    internal DeviceVarlenBatch(VarlenBatch batch, Cuda.CudaContext? context)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Sequences = batch.Sequences;
        TotalQueries = batch.TotalQueries;
        TotalKeys = batch.TotalKeys;
        MaxQueryLength = batch.MaxQueryLength;
        MaxKeyLength = batch.MaxKeyLength;
        QueryOffsets = DevicePagedKvBatch.Upload(batch.QueryOffsets.Span, context);
        try
        {
            KeyOffsets = DevicePagedKvBatch.Upload(batch.KeyOffsets.Span, context);
        }
        catch
        {
            QueryOffsets.Dispose();
            throw;
        }
    }

    public int Sequences { get; }

    public int TotalQueries { get; }

    public int TotalKeys { get; }

    public int MaxQueryLength { get; }

    public int MaxKeyLength { get; }

    /// <summary><c>cu_seqlens_q</c>, int32 [B + 1].</summary>
    public DeviceBuffer<int> QueryOffsets { get; }

    /// <summary><c>cu_seqlens_k</c>, int32 [B + 1].</summary>
    public DeviceBuffer<int> KeyOffsets { get; }

    public void Dispose()
    {
        QueryOffsets.Dispose();
        KeyOffsets.Dispose();
    }
}
