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

    /// <summary>
    /// The unfused prologue (the generated device <c>RotateAppend</c>): one launch, grid (MaxQueriesPerSequence, 1, sequences),
    /// that writes rotary(q) into <paramref name="rotatedQ"/> and the new k (rotated) and v into their page slots; a plain Decode
    /// over the same <paramref name="batch"/> (after the step) and <paramref name="rotatedQ"/> then gives DecodeAppend's result in
    /// two launches. Checks as LaunchAppend's.
    /// </summary>
    public static void LaunchRotateAppend<T>(
        GpuKernelInfo rotateAppend,
        int headDim,
        int valueHeadDim,
        int pageSize,
        int maxQueriesPerSequence,
        DeviceTensor<T> q,
        DeviceTensor<T> k,
        DeviceTensor<T> v,
        DevicePagedKvCache<T> cache,
        DeviceTensor<T> rotatedQ,
        DevicePagedKvBatch batch,
        int headsQ,
        CudaStream? stream)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(rotateAppend);
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(k);
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(rotatedQ);
        ArgumentNullException.ThrowIfNull(batch);
        var geometry = cache.Geometry;
        if (geometry.HeadDim != headDim || geometry.ValueHeadDim != valueHeadDim || (pageSize != 0 && geometry.PageSize != pageSize))
        {
            ServingBinding.RequirePool(geometry, headDim, valueHeadDim, pageSize, nameof(cache));
        }

        batch.RequireGeometry(geometry, nameof(batch));
        if (batch.MaxQueriesPerSequence > maxQueriesPerSequence)
        {
            throw new ArgumentException($"'batch': a sequence brings {batch.MaxQueriesPerSequence} queries, more than the spec's MaxQueriesPerSequence ({maxQueriesPerSequence}).", nameof(batch));
        }

        ServingBinding.RequireHeads(headsQ, geometry.HeadsKv);
        RequirePacked(q, batch.TotalQueries, headsQ, headDim, nameof(q));
        RequirePacked(rotatedQ, batch.TotalQueries, headsQ, headDim, nameof(rotatedQ));
        RequirePacked(k, batch.TotalQueries, geometry.HeadsKv, headDim, nameof(k));
        RequirePacked(v, batch.TotalQueries, geometry.HeadsKv, valueHeadDim, nameof(v));
        RequireContext(rotatedQ.Context, q.Context, nameof(rotatedQ));
        RequireContext(cache.Keys.Context, q.Context, nameof(cache));
        RequireContext(batch.PageTable.Context, q.Context, nameof(batch));
        RequireNewTokens(k, q, cache, rotatedQ, nameof(k));
        RequireNewTokens(v, q, cache, rotatedQ, nameof(v));
        RequireDisjoint(rotatedQ.DevicePointer, rotatedQ.Length * sizeof(T), q.DevicePointer, q.Length * sizeof(T), nameof(rotatedQ), nameof(q));
        if (batch.Sequences == 0 || batch.TotalQueries == 0)
        {
            return;
        }

        var call = new DecodeCall(
            q.DevicePointer, cache.Keys.DevicePointer, cache.Values.DevicePointer, 0, 0,
            batch.QueryOffsets.DevicePointer, batch.KvLengths.DevicePointer, batch.PageTable.DevicePointer, batch.MaxPagesPerSequence,
            geometry, headsQ, 1, 1, batch.TotalQueries, 0, 0, k.DevicePointer, v.DevicePointer, rotatedQ.DevicePointer);
        var arguments = new LaunchArguments();
        Pack(rotateAppend, call, default, ref arguments);
        q.Context.Modules.GetKernel(rotateAppend).Launch(new Dim3(batch.MaxQueriesPerSequence, 1, batch.Sequences), new Dim3(rotateAppend.ThreadsPerBlock), 0, stream, ref arguments);
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
