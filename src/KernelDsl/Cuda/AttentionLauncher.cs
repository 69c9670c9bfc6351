using System;

namespace KernelDsl.Cuda;

/// <summary>
/// Checks device tensors against a spec and launches its generated attention kernel. The parameters are packed from
/// the kernel's ABI record (<see cref="GpuKernelInfo.Abi"/>), which the generator writes from the same plan record as the
/// kernel's PTX <c>.entry</c> list (generators/KernelDsl.Compiler/Planning/KernelAbi.cs), so the two cannot disagree.
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

        // Empty calls (checked like any other above) launch no kernel: B = 0 or Sq = 0 writes nothing, Skv = 0 writes
        // O = 0 and LSE = −∞ (every row has no kept key) with stream-ordered fills.
        if (q.Batch == 0 || q.Seq == 0)
        {
            return;
        }

        if (k.Seq == 0)
        {
            EmptyDeviceCall.FillNoKeyOutputs(output, lse, stream);
            return;
        }

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

        // An empty call (B, Sq or Skv = 0) is not launched (Launch fills or skips its outputs); (1, 1, 1) stands in.
        // The grid's head and batch extents come from q, so the limit's error names q.
        RequireGridLimits(shape, nameof(q));
        Dim3 grid = shape.IsEmpty ? new Dim3(1) : Grid(shape, kernel.BlockQ);
        var abi = kernel.Abi ?? throw new ArgumentException($"Kernel '{kernel.EntryName}' has no ABI record (GpuKernelInfo.Abi), so its parameters cannot be packed.", nameof(kernel));
        int capturedSlots = 0;
        foreach (var slot in abi)
        {
            ulong value = slot.Value switch
            {
                AbiValue.QPointer => (ulong)q.Data,
                AbiValue.KPointer => (ulong)k.Data,
                AbiValue.VPointer => (ulong)v.Data,
                AbiValue.OutputPointer => (ulong)output.Data,
                AbiValue.LsePointer => lse.IsPresent ? (ulong)lse.Data : 0UL,
                AbiValue.SeqQ => (uint)shape.SeqQ,
                AbiValue.SeqKv => (uint)shape.SeqKv,
                AbiValue.HeadsQ => (uint)shape.HeadsQ,
                AbiValue.HeadsKv => (uint)shape.HeadsKv,
                AbiValue.QBatchStride or AbiValue.QSeqStride or AbiValue.QHeadStride => Stride(q, layout, slot.Value - AbiValue.QBatchStride),
                AbiValue.KBatchStride or AbiValue.KSeqStride or AbiValue.KHeadStride => Stride(k, layout, slot.Value - AbiValue.KBatchStride),
                AbiValue.VBatchStride or AbiValue.VSeqStride or AbiValue.VHeadStride => Stride(v, layout, slot.Value - AbiValue.VBatchStride),
                AbiValue.OutputBatchStride or AbiValue.OutputSeqStride or AbiValue.OutputHeadStride => Stride(output, layout, slot.Value - AbiValue.OutputBatchStride),

                // Block mask: 0 = none (the kernel visits the band's tiles with the element mask); strides in query-block
                // rows, 0 where the mask is shared by all batches or heads.
                AbiValue.BlockCounts => blockMask is null ? 0UL : blockCounts,
                AbiValue.BlockIndices => blockMask is null ? 0UL : blockIndices,
                AbiValue.BlockBatchStride => blockMask is null || blockMask.Batches == 1 ? 0u : (uint)(blockMask.Heads * blockMask.QueryBlocks),
                AbiValue.BlockHeadStride => blockMask is null || blockMask.Heads == 1 ? 0u : (uint)blockMask.QueryBlocks,
                AbiValue.BlockKvBlocks => blockMask is null ? 0u : (uint)blockMask.KvBlocks,
                AbiValue.CapturedBuffer => CapturedPointer(captured, slot.Index, ref capturedSlots),
                AbiValue.CapturedLastIndex => CapturedLastIndex(captured, slot.Index),
                _ => throw new ArgumentException($"Kernel '{kernel.EntryName}' has a parameter this runtime does not know ({slot.Value}); the generated code is newer than KernelDsl.", nameof(kernel)),
            };

            arguments.Add(slot, value);
        }

        if (capturedSlots != captured.Length)
        {
            throw new ArgumentException($"Kernel '{kernel.EntryName}' takes {capturedSlots} captured buffers; the call passed {captured.Length}.", nameof(captured));
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
            GridLimitExceeded(shape, nameof(shape));
        }

        return new Dim3(checked((shape.SeqQ + (blockQ - 1)) / blockQ), shape.HeadsQ, shape.Batch);
    }

    /// <summary>CUDA's limit on grid y (Hq) and z (B), checked with an error naming <paramref name="parameterName"/> (the tensor whose heads and batch set them).</summary>
    internal static void RequireGridLimits(AttentionShape shape, string parameterName)
    {
        if (shape.HeadsQ > MaxGridYZ || shape.Batch > MaxGridYZ)
        {
            GridLimitExceeded(shape, parameterName);
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void GridLimitExceeded(AttentionShape shape, string parameterName) =>
        throw new ArgumentException(
            $"The GPU kernel launches one grid row per query head ({shape.HeadsQ}) and one layer per batch ({shape.Batch}); CUDA allows at most {MaxGridYZ} each. Split the call along the batch or the heads.",
            parameterName);

    /// <summary>Element stride <paramref name="which"/> (0 batch, 1 sequence, 2 head) of a checked 4-D tensor, by layout.</summary>
    private static ulong Stride(TensorArgument tensor, TensorLayout layout, int which)
    {
        var strides = tensor.Strides;
        return (ulong)(which == 0 ? strides[0]
            : which == 1 ? (layout == TensorLayout.BSHD ? strides[1] : strides[2])
            : (layout == TensorLayout.BSHD ? strides[2] : strides[1]));
    }

    /// <summary>The last valid index of captured buffer <paramref name="index"/>, the kernels' clamp of every read.</summary>
    internal static ulong CapturedLastIndex(ReadOnlySpan<CapturedDeviceBuffer> captured, int index) =>
        (uint)index < (uint)captured.Length
            ? captured[index].LastIndex
            : throw new ArgumentException($"The kernel reads captured buffer {index}, but the call passed {captured.Length}.", nameof(captured));

    private static ulong CapturedPointer(ReadOnlySpan<CapturedDeviceBuffer> captured, int index, ref int count)
    {
        count++;
        if ((uint)index >= (uint)captured.Length)
        {
            throw new ArgumentException($"The kernel reads captured buffer {index}, but the call passed {captured.Length}.", nameof(captured));
        }

        return captured[index].DevicePointer;
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
