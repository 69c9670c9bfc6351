using System;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>
/// The GPU backward's kernels of one spec, from its generated descriptor (the plan's list): the preprocess (Δ and the
/// base-2 LSE), the deterministic mode's dK/dV and dQ kernels, and — for specs without <c>[Backward(Deterministic = true)]</c>
/// — the atomic-dQ mode's dK/dV kernel (which also adds dQ into an fp32 accumulator) and its dQ conversion kernel; each
/// with its ABI table.
/// </summary>
public sealed record GpuBackwardKernels(GpuKernelInfo Preprocess, GpuKernelInfo KeyValue, GpuKernelInfo Query)
{
    /// <summary>Atomic-dQ mode: dK, dV and dQ += dS·K (red.global.add into the fp32 accumulator); null for deterministic-only specs.</summary>
    public GpuKernelInfo? KeyValueAtomicDq { get; init; }

    /// <summary>Atomic-dQ mode: dQ = scale · accumulator, in dQ's type and strides; null for deterministic-only specs.</summary>
    public GpuKernelInfo? QueryConvert { get; init; }

    /// <summary>The kernels a call runs in order, after the preprocess.</summary>
    public bool HasAtomicDq => KeyValueAtomicDq is not null && QueryConvert is not null;
}

/// <summary>
/// Checks a device <c>Backward</c> call (the same rules and messages as the CPU one, <see cref="BackwardBinding"/>) and
/// launches the backward's kernels in order on one stream. Atomic-dQ mode (the default where the spec has its kernels):
/// zero the fp32 dQ accumulator → preprocess → dK/dV + dQ (red.global.add) → dQ conversion; 5 tile products per tile
/// pair, but the order of the fp32 adds into dQ varies from run to run. Deterministic mode (<c>deterministic: true</c>, or
/// a <c>[Backward(Deterministic = true)]</c> spec): preprocess → dK/dV → dQ, where every gradient element has one writer
/// and a fixed summation order — bit-identical from run to run, at 7 tile products per tile pair. Each kernel's
/// parameters are packed from its generated ABI table (the same record as its PTX <c>.entry</c>).
/// </summary>
public static unsafe class BackwardLauncher
{
    /// <summary>Floats of workspace a deterministic-mode call of this shape needs: Δ and the base-2 LSE, [B, Hq, Sq] each.</summary>
    public static long WorkspaceLength(int batch, int headsQ, int seqQ) => 2L * batch * headsQ * seqQ;

    /// <summary>
    /// Floats of workspace a call of this shape needs in its mode: Δ and the base-2 LSE, [B, Hq, Sq] each, and in the
    /// atomic-dQ mode (<paramref name="deterministic"/> false) the fp32 dQ accumulator [B, Hq, Sq, headDim] too.
    /// </summary>
    public static long WorkspaceLength(int batch, int headsQ, int seqQ, int headDim, bool deterministic) =>
        (deterministic ? 2L : 2L + headDim) * batch * headsQ * seqQ;

    /// <summary>
    /// Whether a call runs the atomic-dQ mode: <paramref name="deterministic"/> null means the spec's default (atomic where
    /// its kernels exist), true the deterministic mode, false the atomic one — an error for a spec built with
    /// <c>[Backward(Deterministic = true)]</c>, which has no atomic kernels.
    /// </summary>
    internal static bool UsesAtomicDq(GpuBackwardKernels kernels, bool? deterministic)
    {
        if (deterministic == false && !kernels.HasAtomicDq)
        {
            throw new ArgumentException(
                "deterministic: false asks for the atomic-dQ backward, but this spec is [Backward(Deterministic = true)] and has only the deterministic kernels; drop the argument (or pass true), or drop Deterministic from the attribute.",
                nameof(deterministic));
        }

        return deterministic != true && kernels.HasAtomicDq;
    }

    /// <summary>
    /// Validates and launches asynchronously on <paramref name="stream"/> (the legacy default stream when null).
    /// <paramref name="workspace"/> holds at least <see cref="WorkspaceLength(int, int, int, int, bool)"/> floats for the call's
    /// mode; when null one is allocated for the call and freed after the launches (the free waits for the device).
    /// <paramref name="deterministic"/>: see <see cref="UsesAtomicDq"/>. <paramref name="blockMask"/>: the mask the forward ran
    /// with (specs with a mask modifier); the kernels skip the tile pairs it leaves out.
    /// </summary>
    public static void Launch<TIn, TOut>(
        GpuBackwardKernels kernels,
        TensorLayout layout,
        int headDim,
        int valueHeadDim,
        DeviceTensor<TIn> q,
        DeviceTensor<TIn> k,
        DeviceTensor<TIn> v,
        DeviceTensor<TOut> output,
        DeviceBuffer<float> lse,
        DeviceTensor<TOut> dOutput,
        DeviceTensor<TIn> dq,
        DeviceTensor<TIn> dk,
        DeviceTensor<TIn> dv,
        CudaStream? stream,
        DeviceBuffer<float>? workspace = null,
        ReadOnlySpan<CapturedDeviceBuffer> captured = default,
        bool? deterministic = null,
        DeviceBlockMask? blockMask = null)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        ArgumentNullException.ThrowIfNull(kernels);
        bool atomic = UsesAtomicDq(kernels, deterministic);
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(k);
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(lse);
        ArgumentNullException.ThrowIfNull(dOutput);
        ArgumentNullException.ThrowIfNull(dq);
        ArgumentNullException.ThrowIfNull(dk);
        ArgumentNullException.ThrowIfNull(dv);
        CudaContext context = q.Context;
        int computeCapability = context.Device.ComputeCapability;
        if (!kernels.Query.RunsOn(computeCapability))
        {
            throw new NotSupportedException($"The GPU backward's kernels ({kernels.Query.Family}) need compute capability {kernels.Query.MinComputeCapability} or later; this device has {computeCapability}.");
        }

        Span<nint> lseLengths = stackalloc nint[3];
        Span<nint> lseStrides = stackalloc nint[3];
        lseLengths[0] = q.Batch;
        lseLengths[1] = q.Heads;
        lseLengths[2] = q.Seq;
        lseStrides[0] = (nint)q.Heads * q.Seq;
        lseStrides[1] = q.Seq;
        lseStrides[2] = 1;
        if (lse.Length != (long)q.Batch * q.Heads * q.Seq)
        {
            throw new ArgumentException($"'lse' has {lse.Length} elements, but [batch, query heads, query seq] = [{q.Batch}, {q.Heads}, {q.Seq}] needs {(long)q.Batch * q.Heads * q.Seq}.", nameof(lse));
        }

        var tensors = new BackwardTensors(
            q.AsArgument(nameof(q)), k.AsArgument(nameof(k)), v.AsArgument(nameof(v)), output.AsArgument(nameof(output)),
            new TensorArgument(nameof(lse), (void*)lse.DevicePointer, sizeof(float), lseLengths, lseStrides),
            dOutput.AsArgument(nameof(dOutput)), dq.AsArgument(nameof(dq)), dk.AsArgument(nameof(dk)), dv.AsArgument(nameof(dv)));
        RequireLayouts(layout, q.Layout, k.Layout, v.Layout, output.Layout, dOutput.Layout, dq.Layout, dk.Layout, dv.Layout);
        var shape = Check(layout, headDim, valueHeadDim, tensors, captured);
        if (shape.IsEmpty)
        {
            // B, Sq or Skv = 0 (checked like any other call above): no kernel; every gradient element is 0, as on the CPU.
            EmptyDeviceCall.Zero(dq, stream);
            EmptyDeviceCall.Zero(dk, stream);
            EmptyDeviceCall.Zero(dv, stream);
            return;
        }

        var (keyValue, query) = atomic ? (kernels.KeyValueAtomicDq!, kernels.QueryConvert!) : (kernels.KeyValue, kernels.Query);
        if (blockMask is not null)
        {
            RequireBlockMask(blockMask.Mask, shape, keyValue, atomic ? null : query);
        }

        long needed = WorkspaceLength(shape.Batch, shape.HeadsQ, shape.SeqQ, shape.HeadDim, deterministic: !atomic);
        if (workspace is not null && workspace.Length < needed)
        {
            throw new ArgumentException(
                $"'workspace' has {workspace.Length} floats; this call needs {needed} (" + (atomic
                    ? $"(2 + head dim {shape.HeadDim}) x batch x query heads x query seq: delta, lse2 and the atomic-dQ mode's fp32 dQ accumulator; BackwardLauncher.WorkspaceLength(B, Hq, Sq, D, deterministic: false))."
                    : "2 x batch x query heads x query seq)."),
                nameof(workspace));
        }

        DeviceBuffer<float>? owned = workspace is null ? new DeviceBuffer<float>(Math.Max(needed, 1), context) : null;
        try
        {
            // Atomic mode: the accumulator first (16-byte aligned for the conversion kernel's loads), then delta and lse2.
            long rows = (long)shape.Batch * shape.HeadsQ * shape.SeqQ;
            ulong start = (workspace ?? owned)!.DevicePointer;
            ulong accumulator = atomic ? start : 0;
            ulong delta = start + (atomic ? (ulong)(rows * shape.HeadDim) * sizeof(float) : 0);
            ulong lse2 = delta + ((ulong)rows * sizeof(float));
            if (atomic)
            {
                nint streamHandle = CudaStream.HandleFor(stream, context);
                context.MakeCurrent();
                CudaException.Check(CudaDriver.cuMemsetD32Async(accumulator, 0, (nuint)(rows * shape.HeadDim), streamHandle), "cuMemsetD32Async");
            }

            var classes = blockMask is null ? null : new BlockClasses(blockMask.Classes.DevicePointer, blockMask.Mask);
            foreach (var (kernel, grid) in new[]
                     {
                         (kernels.Preprocess, new Dim3(Blocks(shape.SeqQ, kernels.Preprocess.BlockQ), shape.HeadsQ, shape.Batch)),
                         (keyValue, new Dim3(Blocks(shape.SeqKv, keyValue.BlockKV), shape.HeadsKv, shape.Batch)),
                         (query, new Dim3(Blocks(shape.SeqQ, query.BlockQ), shape.HeadsQ, shape.Batch)),
                     })
            {
                var arguments = new LaunchArguments();
                Pack(kernel, layout, shape, tensors, delta, lse2, captured, ref arguments, accumulator, classes);
                context.Modules.GetKernel(kernel).Launch(grid, new Dim3(kernel.ThreadsPerBlock), kernel.SharedMemoryBytes, stream, ref arguments);
            }
        }
        finally
        {
            owned?.Dispose();
        }
    }

    /// <summary>The call's tensors as plain views (the device addresses stand in for data pointers).</summary>
    internal readonly ref struct BackwardTensors
    {
        public BackwardTensors(TensorArgument q, TensorArgument k, TensorArgument v, TensorArgument output, TensorArgument lse, TensorArgument dOutput, TensorArgument dq, TensorArgument dk, TensorArgument dv)
        {
            Q = q;
            K = k;
            V = v;
            Output = output;
            Lse = lse;
            DOutput = dOutput;
            DQ = dq;
            DK = dk;
            DV = dv;
        }

        public TensorArgument Q { get; }

        public TensorArgument K { get; }

        public TensorArgument V { get; }

        public TensorArgument Output { get; }

        public TensorArgument Lse { get; }

        public TensorArgument DOutput { get; }

        public TensorArgument DQ { get; }

        public TensorArgument DK { get; }

        public TensorArgument DV { get; }
    }

    /// <summary>Shapes, aliasing (as the CPU Backward), 16-byte rows for every tile the kernels copy with cp.async, the captured buffers' lengths and the grid limits.</summary>
    internal static AttentionShape Check(TensorLayout layout, int headDim, int valueHeadDim, in BackwardTensors t, ReadOnlySpan<CapturedDeviceBuffer> captured)
    {
        var shape = BackwardBinding.Bind(layout, headDim, valueHeadDim, t.Q, t.K, t.V, t.Output, t.Lse, t.DOutput, t.DQ, t.DK, t.DV);
        RequireAligned(t.Q, 16);
        RequireAligned(t.K, 16);
        RequireAligned(t.V, 16);
        RequireAligned(t.Output, 16);
        RequireAligned(t.DOutput, 16);
        RequireAligned(t.DQ, 4);
        RequireAligned(t.DK, 4);
        RequireAligned(t.DV, 4);

        foreach (var buffer in captured)
        {
            CapturedBuffers.RequireLength(buffer.Name, buffer.Length, buffer.Dims, shape);
        }

        // The three kernels' grids have Hq (or Hkv ≤ Hq) rows and B layers, both from q: the limit's error names q.
        AttentionLauncher.RequireGridLimits(shape, "q");
        return shape;
    }

    /// <summary>One kernel's parameters from its ABI table.</summary>
    internal static void Pack(GpuKernelInfo kernel, TensorLayout layout, AttentionShape shape, in BackwardTensors t, ulong delta, ulong lse2,
        ReadOnlySpan<CapturedDeviceBuffer> captured, ref LaunchArguments arguments, ulong dqAccumulator = 0, BlockClasses? blockClasses = null)
    {
        var abi = kernel.Abi ?? throw new ArgumentException($"Kernel '{kernel.EntryName}' has no ABI record (GpuKernelInfo.Abi), so its parameters cannot be packed.", nameof(kernel));
        int capturedSlots = 0;
        foreach (var slot in abi)
        {
            ulong value = slot.Value switch
            {
                AbiValue.QPointer => (ulong)t.Q.Data,
                AbiValue.KPointer => (ulong)t.K.Data,
                AbiValue.VPointer => (ulong)t.V.Data,
                AbiValue.OutputPointer => (ulong)t.Output.Data,
                AbiValue.LsePointer => (ulong)t.Lse.Data,
                AbiValue.DOutputPointer => (ulong)t.DOutput.Data,
                AbiValue.DqPointer => (ulong)t.DQ.Data,
                AbiValue.DkPointer => (ulong)t.DK.Data,
                AbiValue.DvPointer => (ulong)t.DV.Data,
                AbiValue.DeltaPointer => delta,
                AbiValue.ScaledLsePointer => lse2,
                AbiValue.DqAccumulatorPointer => dqAccumulator != 0 ? dqAccumulator
                    : throw new ArgumentException($"Kernel '{kernel.EntryName}' adds into the atomic-dQ accumulator, but the call has none (a deterministic-mode launch).", nameof(kernel)),
                // Block mask (backward): 0 = none (every band tile visited); strides in cells, 0 where the mask is shared.
                AbiValue.BlockClasses => blockClasses?.Pointer ?? 0UL,
                AbiValue.BlockClassBatchStride => blockClasses is { Mask: var m } && m.Batches > 1 ? (uint)((long)m.Heads * m.QueryBlocks * m.KvBlocks) : 0u,
                AbiValue.BlockClassHeadStride => blockClasses is { Mask: var m } && m.Heads > 1 ? (uint)((long)m.QueryBlocks * m.KvBlocks) : 0u,
                AbiValue.BlockMaskTileQ => (uint)(blockClasses?.Mask.BlockQ ?? 1),
                AbiValue.BlockMaskTileKv => (uint)(blockClasses?.Mask.BlockKV ?? 1),
                AbiValue.BlockMaskKvBlocks => (uint)(blockClasses?.Mask.KvBlocks ?? 0),
                AbiValue.SeqQ => (uint)shape.SeqQ,
                AbiValue.SeqKv => (uint)shape.SeqKv,
                AbiValue.HeadsQ => (uint)shape.HeadsQ,
                AbiValue.HeadsKv => (uint)shape.HeadsKv,
                AbiValue.QBatchStride or AbiValue.QSeqStride or AbiValue.QHeadStride => Stride(t.Q, layout, slot.Value - AbiValue.QBatchStride),
                AbiValue.KBatchStride or AbiValue.KSeqStride or AbiValue.KHeadStride => Stride(t.K, layout, slot.Value - AbiValue.KBatchStride),
                AbiValue.VBatchStride or AbiValue.VSeqStride or AbiValue.VHeadStride => Stride(t.V, layout, slot.Value - AbiValue.VBatchStride),
                AbiValue.OutputBatchStride or AbiValue.OutputSeqStride or AbiValue.OutputHeadStride => Stride(t.Output, layout, slot.Value - AbiValue.OutputBatchStride),
                AbiValue.DOutputBatchStride or AbiValue.DOutputSeqStride or AbiValue.DOutputHeadStride => Stride(t.DOutput, layout, slot.Value - AbiValue.DOutputBatchStride),
                AbiValue.DqBatchStride or AbiValue.DqSeqStride or AbiValue.DqHeadStride => Stride(t.DQ, layout, slot.Value - AbiValue.DqBatchStride),
                AbiValue.DkBatchStride or AbiValue.DkSeqStride or AbiValue.DkHeadStride => Stride(t.DK, layout, slot.Value - AbiValue.DkBatchStride),
                AbiValue.DvBatchStride or AbiValue.DvSeqStride or AbiValue.DvHeadStride => Stride(t.DV, layout, slot.Value - AbiValue.DvBatchStride),
                AbiValue.CapturedBuffer => CapturedPointer(captured, slot.Index, ref capturedSlots),
                AbiValue.CapturedLastIndex => AttentionLauncher.CapturedLastIndex(captured, slot.Index),
                _ => throw new ArgumentException($"Kernel '{kernel.EntryName}' has a parameter the backward launcher does not fill ({slot.Value}).", nameof(kernel)),
            };

            arguments.Add(slot, value);
        }

        if (capturedSlots != 0 && capturedSlots != captured.Length)
        {
            throw new ArgumentException($"Kernel '{kernel.EntryName}' takes {capturedSlots} captured buffers; the call passed {captured.Length}.", nameof(captured));
        }
    }

    /// <summary>A block mask's classes as the backward kernels read them (<see cref="DeviceBlockMask"/>).</summary>
    internal sealed record BlockClasses(ulong Pointer, BlockMask Mask);

    /// <summary>
    /// The mask fits the call (shape, batches, heads: as the forward's check) and the kernels about to run: each of their
    /// tiles must lie inside one cell, so the mask's tiles must be multiples of theirs (masks built for the forward's
    /// kernels, 64 or more per side, are).
    /// </summary>
    internal static void RequireBlockMask(BlockMask mask, AttentionShape shape, GpuKernelInfo keyValue, GpuKernelInfo? query)
    {
        if (!keyValue.TakesBlockMask)
        {
            throw new ArgumentException("This spec has no mask modifier, so its backward takes no block mask (built-in masks skip blocks by themselves).", "blockMask");
        }

        mask.RequireMatches(shape, mask.BlockQ, mask.BlockKV, "blockMask");
        foreach (var (rows, keys) in query is null ? new[] { (keyValue.BlockQ, keyValue.BlockKV) } : new[] { (keyValue.BlockQ, keyValue.BlockKV), (query.BlockQ, query.BlockKV) })
        {
            if (mask.BlockQ % rows != 0 || mask.BlockKV % keys != 0)
            {
                throw new ArgumentException(
                    $"The block mask's {mask.BlockQ}x{mask.BlockKV} tiles are not multiples of the backward's {rows}x{keys} tiles; build it with the forward kernel's CreateBlockMask (tiles of 64 or more).",
                    "blockMask");
            }
        }
    }

    private static int Blocks(int rows, int perBlock) => checked((rows + perBlock - 1) / perBlock);

    private static ulong Stride(TensorArgument tensor, TensorLayout layout, int which)
    {
        var strides = tensor.Strides;
        return (ulong)(which == 0 ? strides[0]
            : which == 1 ? (layout == TensorLayout.BSHD ? strides[1] : strides[2])
            : (layout == TensorLayout.BSHD ? strides[2] : strides[1]));
    }

    private static ulong CapturedPointer(ReadOnlySpan<CapturedDeviceBuffer> captured, int index, ref int count)
    {
        count++;
        if ((uint)index >= (uint)captured.Length)
        {
            throw new ArgumentException($"The kernel reads captured buffer {index}, but the call passed {captured.Length}.", nameof(captured));
        }

        return captured[index].DevicePointer;
    }

    private static void RequireLayouts(TensorLayout layout, params TensorLayout[] actual)
    {
        string[] names = { "q", "k", "v", "output", "dOutput", "dq", "dk", "dv" };
        for (int i = 0; i < actual.Length; i++)
        {
            if (actual[i] != layout)
            {
                throw new ArgumentException($"Tensor '{names[i]}' is {actual[i]}, but the spec's layout is {layout}.", names[i]);
            }
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
            throw new ArgumentException($"Tensor '{tensor.Name}' rows must start on {bytes}-byte boundaries for the GPU kernels (pointer and strides).", tensor.Name);
        }
    }
}
