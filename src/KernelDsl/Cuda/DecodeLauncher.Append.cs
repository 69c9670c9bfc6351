using System;

namespace KernelDsl.Cuda;

public static unsafe partial class DecodeLauncher
{
    /// <summary>
    /// The fused decode step (issue 12, a spec's generated device <c>DecodeAppend</c>): the decode call's checks, plus the new
    /// tokens' <paramref name="k"/> [totalQ, Hkv, D] and <paramref name="v"/> [totalQ, Hkv, Dv] (contiguous BSHD with batch·seq =
    /// the batch's query tokens, 16-byte aligned, not overlapping the pools or the outputs). <paramref name="batch"/> describes the
    /// cache after the step (its lengths include the new tokens, the last q of each sequence: PagedKvBatch.AfterAppend().ToDevice):
    /// one launch writes their K (after rotary) and V into those slots and attends over the cache; the merge kernel follows when
    /// the KV range is split.
    /// </summary>
    public static void LaunchAppend<TIn, TOut>(
        GpuKernelInfo decodeAppend,
        GpuKernelInfo merge,
        int headDim,
        int valueHeadDim,
        int pageSize,
        int maxQueriesPerSequence,
        DeviceTensor<TIn> q,
        DeviceTensor<TIn> k,
        DeviceTensor<TIn> v,
        DevicePagedKvCache<TIn> cache,
        DeviceTensor<TOut> output,
        DeviceBuffer<float>? lse,
        DevicePagedKvBatch batch,
        int headsQ,
        CudaStream? stream,
        ReadOnlySpan<CapturedDeviceBuffer> captured = default)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        ArgumentNullException.ThrowIfNull(k);
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(output);
        var geometry = cache.Geometry;
        RequirePacked(k, batch.TotalQueries, geometry.HeadsKv, headDim, nameof(k));
        RequirePacked(v, batch.TotalQueries, geometry.HeadsKv, valueHeadDim, nameof(v));
        // Checked one by one (no array: a steady-state call allocates nothing).
        RequireNewTokens(k, q, cache, output, nameof(k));
        RequireNewTokens(v, q, cache, output, nameof(v));
        LaunchCore(decodeAppend, merge, headDim, valueHeadDim, pageSize, maxQueriesPerSequence, q!, cache, output, lse, batch, headsQ, stream, captured, (k.DevicePointer, v.DevicePointer));
    }

    private static void RequireNewTokens<TIn, TOut>(DeviceTensor<TIn> tensor, DeviceTensor<TIn>? q, DevicePagedKvCache<TIn> cache, DeviceTensor<TOut> output, string name)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        if (q is not null)
        {
            RequireContext(tensor.Context, q.Context, name);
        }

        if (tensor.DevicePointer % 16 != 0)
        {
            throw new ArgumentException($"Tensor '{name}' must start on a 16-byte boundary for the GPU kernel.", name);
        }

        long bytes = tensor.Length * sizeof(TIn);
        RequireDisjoint(cache.Keys.DevicePointer, cache.Keys.SizeInBytes, tensor.DevicePointer, bytes, nameof(cache), name);
        RequireDisjoint(cache.Values.DevicePointer, cache.Values.SizeInBytes, tensor.DevicePointer, bytes, nameof(cache), name);
        RequireDisjoint(output.DevicePointer, output.Length * sizeof(TOut), tensor.DevicePointer, bytes, nameof(output), name);
    }
}
