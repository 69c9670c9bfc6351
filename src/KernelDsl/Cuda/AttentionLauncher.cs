using System;

namespace KernelDsl.Cuda;

/// <summary>
/// Launch constants of one generated GPU attention kernel (from the spec's <c>__GpuKernel</c> class).
/// <paramref name="TakesBlockMask"/>: the kernel has the block-mask parameters (specs with a mask modifier).
/// </summary>
public sealed record GpuKernelInfo(string Ptx, string EntryName, int ThreadsPerBlock, int BlockQ, int SharedMemoryBytes, int BlockKV = 0, bool TakesBlockMask = false)
{
    /// <summary>
    /// The same spec's Hopper-family kernel (sm_90a PTX, wgmma; same parameters), launched instead of this one on
    /// compute capability 9.x devices; null when the family does not cover the spec.
    /// </summary>
    public GpuKernelInfo? Hopper { get; init; }
}

/// <summary>
/// Checks device tensors against a spec and launches its generated attention kernel. The parameter order here
/// is the PTX ABI documented in generators/KernelDsl.Compiler/Emit/Ptx/PtxAbi.cs: the two must change together.
/// </summary>
public static unsafe class AttentionLauncher
{
    /// <summary>
    /// Validates shapes, layouts, alignment and aliasing (same rules and messages as the CPU entry points), then
    /// launches asynchronously on <paramref name="stream"/> (the default stream when null).
    /// </summary>
    public static void Launch<TIn, TOut>(
        GpuKernelInfo kernel,
        TensorLayout layout,
        int headDim,
        int valueHeadDim,
        DeviceTensor<TIn> q,
        DeviceTensor<TIn> k,
        DeviceTensor<TIn> v,
        DeviceTensor<TOut> output,
        DeviceBuffer<float>? lse,
        CudaStream? stream,
        CapturedDeviceBuffer[]? captured = null,
        DeviceBlockMask? blockMask = null)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(k);
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(output);
        RequireLayout(q, layout, nameof(q));
        RequireLayout(k, layout, nameof(k));
        RequireLayout(v, layout, nameof(v));
        RequireLayout(output, layout, nameof(output));

        nint[]? lseLengths = lse is null ? null : new nint[] { q.Batch, q.Heads, q.Seq };
        nint[]? lseStrides = lse is null ? null : new nint[] { (nint)q.Heads * q.Seq, q.Seq, 1 };
        if (lse is not null && lse.Length != (long)q.Batch * q.Heads * q.Seq)
        {
            throw new ArgumentException(
                $"'lse' has {lse.Length} elements, but [batch, query heads, query seq] = [{q.Batch}, {q.Heads}, {q.Seq}] needs {(long)q.Batch * q.Heads * q.Seq}.", nameof(lse));
        }

        var shape = AttentionBinding.Bind(
            layout, headDim, valueHeadDim,
            q.AsArgument(nameof(q)), k.AsArgument(nameof(k)), v.AsArgument(nameof(v)), output.AsArgument(nameof(output)),
            lse is null ? default : new TensorArgument(nameof(lse), (void*)lse.DevicePointer, sizeof(float), lseLengths, lseStrides));

        // cp.async moves 16-byte rows: Q/K/V rows must start on 16-byte boundaries.
        RequireAligned(q, 16, nameof(q));
        RequireAligned(k, 16, nameof(k));
        RequireAligned(v, 16, nameof(v));
        RequireAligned(output, 4, nameof(output));

        // Captured buffers (ABI: after the fixed parameters, in the spec's order): lengths checked against the shape.
        foreach (var buffer in captured ?? Array.Empty<CapturedDeviceBuffer>())
        {
            CapturedBuffers.RequireLength(buffer.Name, buffer.Length, buffer.Dims, shape);
        }

        kernel = GpuKernelSelection.Select(kernel, q.Context.Device, blockMask?.Mask);
        if (blockMask is not null)
        {
            if (!kernel.TakesBlockMask)
            {
                throw new ArgumentException("This spec has no mask modifier, so its kernel takes no block mask (built-in masks skip blocks by themselves).", nameof(blockMask));
            }

            blockMask.Mask.RequireMatches(shape, kernel.BlockQ, kernel.BlockKV, nameof(blockMask));
        }

        var cudaKernel = q.Context.Modules.GetKernel(kernel);
        var arguments = new KernelArguments()
            .AddPointer(q).AddPointer(k).AddPointer(v).AddPointer(output)
            .AddPointer(lse is null ? 0UL : lse.DevicePointer)
            .AddU32((uint)shape.SeqQ).AddU32((uint)shape.SeqKv).AddU32((uint)shape.HeadsQ).AddU32((uint)shape.HeadsKv);
        AddStrides(arguments, q);
        AddStrides(arguments, k);
        AddStrides(arguments, v);
        AddStrides(arguments, output);
        if (kernel.TakesBlockMask)
        {
            // ABI 21-25: counts, indices, batch and head strides in query-block rows (0 = shared), KV blocks per row.
            var mask = blockMask?.Mask;
            arguments.AddPointer(blockMask is null ? 0UL : blockMask.Counts.DevicePointer)
                .AddPointer(blockMask is null ? 0UL : blockMask.Indices.DevicePointer)
                .AddU32(mask is null || mask.Batches == 1 ? 0u : (uint)(mask.Heads * mask.QueryBlocks))
                .AddU32(mask is null || mask.Heads == 1 ? 0u : (uint)mask.QueryBlocks)
                .AddU32(mask is null ? 0u : (uint)mask.KvBlocks);
        }

        foreach (var buffer in captured ?? Array.Empty<CapturedDeviceBuffer>())
        {
            arguments.AddPointer(buffer.DevicePointer);
        }

        var grid = new Dim3((shape.SeqQ + kernel.BlockQ - 1) / kernel.BlockQ, shape.HeadsQ, shape.Batch);
        cudaKernel.Launch(grid, new Dim3(kernel.ThreadsPerBlock, 1, 1), kernel.SharedMemoryBytes, stream, arguments);
    }

    private static void AddStrides<T>(KernelArguments arguments, DeviceTensor<T> tensor)
        where T : unmanaged =>
        arguments.AddU64((ulong)tensor.BatchStride).AddU64((ulong)tensor.SeqStride).AddU64((ulong)tensor.HeadStride);

    private static void RequireLayout<T>(DeviceTensor<T> tensor, TensorLayout layout, string name)
        where T : unmanaged
    {
        if (tensor.Layout != layout)
        {
            throw new ArgumentException($"Tensor '{name}' is {tensor.Layout}, but the spec's layout is {layout}.", name);
        }
    }

    private static void RequireAligned<T>(DeviceTensor<T> tensor, int bytes, string name)
        where T : unmanaged
    {
        int elements = bytes / sizeof(T);
        bool ok = tensor.DevicePointer % (ulong)bytes == 0
                  && (elements <= 1 || (tensor.BatchStride % elements == 0 && tensor.SeqStride % elements == 0 && tensor.HeadStride % elements == 0));
        if (!ok)
        {
            throw new ArgumentException($"Tensor '{name}' rows must start on {bytes}-byte boundaries for the GPU kernel (pointer and strides).", name);
        }
    }
}
