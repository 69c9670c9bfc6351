using System;

namespace KernelDsl.Cuda;

/// <summary>
/// Checks device tensors against a spec and launches its generated attention kernel. The parameter order here
/// is the PTX ABI documented in generators/KernelDsl.Compiler/Emit/Ptx/PtxAbi.cs: the two must change together.
/// </summary>
/// <remarks>
/// The steady-state path allocates nothing and makes two driver calls (cuCtxSetCurrent, cuLaunchKernel): the
/// tensors are checked through <see cref="TensorArgument"/> views over their cached lengths and strides, error messages
/// are built only on failure, the kernel is found by the descriptor's identity, the device's compute capability is
/// cached with the context, and the parameter values live in a <see cref="LaunchArguments"/> on the stack.
/// </remarks>
public static unsafe class AttentionLauncher
{
    /// <summary>The largest grid y and z extents (query heads, batch) of a launch.</summary>
    public const int MaxGridYZ = 65535;

    /// <summary>
    /// Picks the kernel of <paramref name="kernels"/> for the tensors' device (<see cref="GpuKernelSelection"/>), validates
    /// shapes, layouts, alignment and aliasing (same rules and messages as the CPU entry points), then launches
    /// asynchronously on <paramref name="stream"/> (the legacy default stream when null).
    /// </summary>
    public static void Launch<TIn, TOut>(
        GpuKernelSet kernels,
        TensorLayout layout,
        int headDim,
        int valueHeadDim,
        DeviceTensor<TIn> q,
        DeviceTensor<TIn> k,
        DeviceTensor<TIn> v,
        DeviceTensor<TOut> output,
        DeviceBuffer<float>? lse,
        CudaStream? stream,
        ReadOnlySpan<CapturedDeviceBuffer> captured = default,
        DeviceBlockMask? blockMask = null)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        ArgumentNullException.ThrowIfNull(kernels);
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(k);
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(output);
        RequireLayout(q.Layout, layout, nameof(q));
        RequireLayout(k.Layout, layout, nameof(k));
        RequireLayout(v.Layout, layout, nameof(v));
        RequireLayout(output.Layout, layout, nameof(output));

        CudaContext context = q.Context;
        var chosen = GpuKernelSelection.Select(kernels, context.Device.ComputeCapability, blockMask?.Mask, GpuKernelSelection.ForcedFamily);
        Span<nint> lseLengths = stackalloc nint[3];
        Span<nint> lseStrides = stackalloc nint[3];
        scoped TensorArgument lseArgument = default;
        if (lse is not null)
        {
            lseLengths[0] = q.Batch;
            lseLengths[1] = q.Heads;
            lseLengths[2] = q.Seq;
            lseStrides[0] = (nint)q.Heads * q.Seq;
            lseStrides[1] = q.Seq;
            lseStrides[2] = 1;
            if (lse.Length != (long)q.Batch * q.Heads * q.Seq)
            {
                throw new ArgumentException(
                    $"'lse' has {lse.Length} elements, but [batch, query heads, query seq] = [{q.Batch}, {q.Heads}, {q.Seq}] needs {(long)q.Batch * q.Heads * q.Seq}.", nameof(lse));
            }

            lseArgument = new TensorArgument(nameof(lse), (void*)lse.DevicePointer, sizeof(float), lseLengths, lseStrides);
        }

        var arguments = new LaunchArguments();
        Dim3 grid = Pack(
            chosen, layout, headDim, valueHeadDim,
            q.AsArgument(nameof(q)), k.AsArgument(nameof(k)), v.AsArgument(nameof(v)), output.AsArgument(nameof(output)), lseArgument,
            captured, blockMask?.Mask, blockMask is null ? 0UL : blockMask.Counts.DevicePointer, blockMask is null ? 0UL : blockMask.Indices.DevicePointer,
            ref arguments);
        context.Modules.GetKernel(chosen).Launch(grid, new Dim3(chosen.ThreadsPerBlock), chosen.SharedMemoryBytes, stream, ref arguments);
    }

    /// <summary>
    /// Everything before the driver call, on plain views (no GPU needed, so tests run it anywhere): binds and checks the
    /// tensors, the captured buffers and the block mask against <paramref name="kernel"/> (already selected for the
    /// device), checks the grid against the launch limits, writes the ABI's parameters into
    /// <paramref name="arguments"/> and returns the grid. Allocates nothing unless it throws.
    /// </summary>
    internal static Dim3 Pack(
        GpuKernelInfo kernel,
        TensorLayout layout,
        int headDim,
        int valueHeadDim,
        TensorArgument q,
        TensorArgument k,
        TensorArgument v,
        TensorArgument output,
        TensorArgument lse,
        ReadOnlySpan<CapturedDeviceBuffer> captured,
        BlockMask? blockMask,
        ulong blockCounts,
        ulong blockIndices,
        ref LaunchArguments arguments)
    {
        var shape = AttentionBinding.Bind(layout, headDim, valueHeadDim, q, k, v, output, lse);

        // cp.async moves 16-byte rows: Q/K/V rows must start on 16-byte boundaries.
        RequireAligned(q, 16);
        RequireAligned(k, 16);
        RequireAligned(v, 16);
        RequireAligned(output, 4);

        // Captured buffers (ABI: after the fixed parameters, in the spec's order): lengths checked against the shape.
        foreach (var buffer in captured)
        {
            CapturedBuffers.RequireLength(buffer.Name, buffer.Length, buffer.Dims, shape);
        }

        if (blockMask is not null)
        {
            if (!kernel.TakesBlockMask)
            {
                throw new ArgumentException("This spec has no mask modifier, so its kernel takes no block mask (built-in masks skip blocks by themselves).", "blockMask");
            }

            blockMask.RequireMatches(shape, kernel.BlockQ, kernel.BlockKV, "blockMask");
        }

        Dim3 grid = Grid(shape, kernel.BlockQ);
        arguments.AddU64((ulong)q.Data);
        arguments.AddU64((ulong)k.Data);
        arguments.AddU64((ulong)v.Data);
        arguments.AddU64((ulong)output.Data);
        arguments.AddU64(lse.IsPresent ? (ulong)lse.Data : 0UL);
        arguments.AddU32((uint)shape.SeqQ);
        arguments.AddU32((uint)shape.SeqKv);
        arguments.AddU32((uint)shape.HeadsQ);
        arguments.AddU32((uint)shape.HeadsKv);
        AddStrides(ref arguments, q, layout);
        AddStrides(ref arguments, k, layout);
        AddStrides(ref arguments, v, layout);
        AddStrides(ref arguments, output, layout);
        if (kernel.TakesBlockMask)
        {
            // ABI 21-25: counts, indices, batch and head strides in query-block rows (0 = shared), KV blocks per row.
            arguments.AddU64(blockMask is null ? 0UL : blockCounts);
            arguments.AddU64(blockMask is null ? 0UL : blockIndices);
            arguments.AddU32(blockMask is null || blockMask.Batches == 1 ? 0u : (uint)(blockMask.Heads * blockMask.QueryBlocks));
            arguments.AddU32(blockMask is null || blockMask.Heads == 1 ? 0u : (uint)blockMask.QueryBlocks);
            arguments.AddU32(blockMask is null ? 0u : (uint)blockMask.KvBlocks);
        }

        foreach (var buffer in captured)
        {
            arguments.AddU64(buffer.DevicePointer);
        }

        return grid;
    }

    /// <summary>
    /// The launch grid (ceil(Sq / BlockQ), Hq, B), after checking CUDA's limits on its y and z extents (65,535): a
    /// larger head count or batch would otherwise fail in the driver with an unhelpful "invalid argument".
    /// </summary>
    public static Dim3 Grid(AttentionShape shape, int blockQ)
    {
        if (shape.HeadsQ > MaxGridYZ || shape.Batch > MaxGridYZ)
        {
            throw new ArgumentException(
                $"The GPU kernel launches one grid row per query head ({shape.HeadsQ}) and one layer per batch ({shape.Batch}); CUDA allows at most {MaxGridYZ} each. Split the call along the batch or the heads.");
        }

        return new Dim3(checked((shape.SeqQ + (blockQ - 1)) / blockQ), shape.HeadsQ, shape.Batch);
    }

    /// <summary>The (batch, seq, head) element strides of a checked 4-D tensor, by layout.</summary>
    private static void AddStrides(ref LaunchArguments arguments, TensorArgument tensor, TensorLayout layout)
    {
        var strides = tensor.Strides;
        arguments.AddU64((ulong)strides[0]);
        arguments.AddU64((ulong)(layout == TensorLayout.BSHD ? strides[1] : strides[2]));
        arguments.AddU64((ulong)(layout == TensorLayout.BSHD ? strides[2] : strides[1]));
    }

    private static void RequireLayout(TensorLayout actual, TensorLayout layout, string name)
    {
        if (actual != layout)
        {
            throw new ArgumentException($"Tensor '{name}' is {actual}, but the spec's layout is {layout}.", name);
        }
    }

    private static void RequireAligned(TensorArgument tensor, int bytes)
    {
        int elements = bytes / tensor.ElementSize;
        var strides = tensor.Strides;
        bool ok = (ulong)tensor.Data % (ulong)bytes == 0
                  && (elements <= 1 || (strides[0] % elements == 0 && strides[1] % elements == 0 && strides[2] % elements == 0));
        if (!ok)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' rows must start on {bytes}-byte boundaries for the GPU kernel (pointer and strides).", tensor.Name);
        }
    }
}
