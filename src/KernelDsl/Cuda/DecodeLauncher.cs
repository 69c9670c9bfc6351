using System;

namespace KernelDsl.Cuda;

/// <summary>
/// Checks a paged decode call (issue 11) and launches the spec's decode kernel — and, when the KV range is split, the merge
/// kernel — packing both from their generated ABI tables (<see cref="GpuKernelInfo.Abi"/>, written from the same records as
/// their PTX entries). q is [totalQ, Hq, D] token-major, given as any contiguous BSHD <see cref="DeviceTensor{T}"/> with
/// batch·seq = totalQ (a [B, 1, Hq, D] decode step or a packed [1, totalQ, Hq, D]); output likewise with Dv; LSE
/// [totalQ, Hq] fp32. The grid and the split count come from the batch's host-side figures and the device's SM count
/// (<see cref="DecodeSplits"/>): nothing is read back from the device. Steady state: no managed allocation (the workspace is
/// cached per context and stream, <see cref="DecodeWorkspace"/>).
/// </summary>
public static unsafe partial class DecodeLauncher
{
    /// <summary>Packed query rows per decode CTA (the mma M): the planner's DecodePlanner.RowsPerCta.</summary>
    public const int RowsPerCta = 16;

    /// <summary>Checks and launches (see the class summary). <paramref name="pageSize"/> is the spec's fixed page size or 0.</summary>
    public static void Launch<TIn, TOut>(
        GpuKernelInfo decode,
        GpuKernelInfo merge,
        int headDim,
        int valueHeadDim,
        int pageSize,
        int maxQueriesPerSequence,
        DeviceTensor<TIn> q,
        DevicePagedKvCache<TIn> cache,
        DeviceTensor<TOut> output,
        DeviceBuffer<float>? lse,
        DevicePagedKvBatch batch,
        int headsQ,
        CudaStream? stream,
        ReadOnlySpan<CapturedDeviceBuffer> captured = default)
        where TIn : unmanaged
        where TOut : unmanaged =>
        LaunchCore(decode, merge, headDim, valueHeadDim, pageSize, maxQueriesPerSequence, q, cache, output, lse, batch, headsQ, stream, captured, default);

    /// <summary>Launch's checks and launches; <paramref name="append"/> holds DecodeAppend's new K/V (zero for plain decode).</summary>
    private static void LaunchCore<TIn, TOut>(
        GpuKernelInfo decode,
        GpuKernelInfo merge,
        int headDim,
        int valueHeadDim,
        int pageSize,
        int maxQueriesPerSequence,
        DeviceTensor<TIn> q,
        DevicePagedKvCache<TIn> cache,
        DeviceTensor<TOut> output,
        DeviceBuffer<float>? lse,
        DevicePagedKvBatch batch,
        int headsQ,
        CudaStream? stream,
        ReadOnlySpan<CapturedDeviceBuffer> captured,
        (ulong Keys, ulong Values) append)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        ArgumentNullException.ThrowIfNull(decode);
        ArgumentNullException.ThrowIfNull(merge);
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(batch);
        var geometry = cache.Geometry;
        // Not ServingBinding.RequirePool: the cache's geometry was validated when the pools were made, and its check builds
        // every message up front (a steady-state call must not allocate).
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
        RequirePacked(output, batch.TotalQueries, headsQ, valueHeadDim, nameof(output));
        long rows = (long)batch.TotalQueries * headsQ;
        if (lse is not null && lse.Length != rows)
        {
            throw new ArgumentException($"'lse' has {lse.Length} elements, but [tokens, heads] = [{batch.TotalQueries}, {headsQ}] needs {rows}.", nameof(lse));
        }

        CudaContext context = q.Context;
        RequireContext(output.Context, context, nameof(output));
        RequireContext(cache.Keys.Context, context, nameof(cache));
        RequireContext(batch.PageTable.Context, context, nameof(batch));
        if (lse is not null)
        {
            RequireContext(lse.Context, context, nameof(lse));
        }

        if (q.DevicePointer % 16 != 0)
        {
            throw new ArgumentException("Tensor 'q' must start on a 16-byte boundary for the GPU kernel.", nameof(q));
        }

        // O is stored two elements at a time (a 4-byte pair, or an 8-byte fp32 pair).
        if (output.DevicePointer % (ulong)(2 * sizeof(TOut)) != 0)
        {
            throw new ArgumentException($"Tensor 'output' must start on a {2 * sizeof(TOut)}-byte boundary for the GPU kernel.", nameof(output));
        }

        long outputBytes = output.Length * sizeof(TOut);
        RequireDisjoint(output.DevicePointer, outputBytes, q.DevicePointer, q.Length * sizeof(TIn), nameof(output), nameof(q));
        RequireDisjoint(output.DevicePointer, outputBytes, cache.Keys.DevicePointer, cache.Keys.SizeInBytes, nameof(output), nameof(cache));
        RequireDisjoint(output.DevicePointer, outputBytes, cache.Values.DevicePointer, cache.Values.SizeInBytes, nameof(output), nameof(cache));
        if (lse is not null)
        {
            RequireDisjoint(lse.DevicePointer, lse.SizeInBytes, output.DevicePointer, outputBytes, nameof(lse), nameof(output));
            RequireDisjoint(lse.DevicePointer, lse.SizeInBytes, q.DevicePointer, q.Length * sizeof(TIn), nameof(lse), nameof(q));
        }

        var capturedShape = ServingBinding.CapturedShape(batch.Sequences, headsQ, geometry.HeadsKv, headDim, valueHeadDim);
        foreach (var buffer in captured)
        {
            CapturedBuffers.RequireLength(buffer.Name, buffer.Length, buffer.Dims, capturedShape);
        }

        if (batch.Sequences == 0 || batch.TotalQueries == 0)
        {
            return;
        }

        var kernel = context.Modules.GetKernel(decode);
        var plan = Plan(batch, headsQ, geometry.HeadsKv, context.Device.MultiprocessorCount, CtasPerMultiprocessor(decode, kernel));
        t_lastPlan = plan;
        DeviceBuffer<float>? workspace = plan.Splits > 1 ? DecodeWorkspace.For(context, stream, plan.Splits * rows * (valueHeadDim + 1L)) : null;
        ulong partialO = workspace?.DevicePointer ?? 0UL;
        ulong partialLse = workspace is null ? 0UL : partialO + (ulong)(plan.Splits * rows * valueHeadDim * sizeof(float));
        var call = new DecodeCall(
            q.DevicePointer, cache.Keys.DevicePointer, cache.Values.DevicePointer, output.DevicePointer, lse?.DevicePointer ?? 0UL,
            batch.QueryOffsets.DevicePointer, batch.KvLengths.DevicePointer, batch.PageTable.DevicePointer, batch.MaxPagesPerSequence,
            geometry, headsQ, plan.RowBlocks, plan.Splits, batch.TotalQueries, partialO, partialLse, append.Keys, append.Values);

        var arguments = new LaunchArguments();
        Pack(decode, call, captured, ref arguments);
        kernel.Launch(plan.Grid, new Dim3(decode.ThreadsPerBlock), decode.SharedMemoryBytes, stream, ref arguments);
        if (plan.Splits > 1)
        {
            var mergeArguments = new LaunchArguments();
            Pack(merge, call, default, ref mergeArguments);
            context.Modules.GetKernel(merge).Launch(new Dim3(checked((int)rows)), new Dim3(merge.ThreadsPerBlock), 0, stream, ref mergeArguments);
        }
    }

    [ThreadStatic]
    private static DecodeLaunchPlan t_lastPlan;

    /// <summary>
    /// The launch shape of the last device decode call made on this thread (default before the first): what measurements
    /// report as the split count, rather than re-deriving it.
    /// </summary>
    public static DecodeLaunchPlan LastPlan => t_lastPlan;

    /// <summary>The launch shape of a call: row blocks per KV head, KV splits, and the decode grid (splits, Hkv·row blocks, sequences).</summary>
    public readonly record struct DecodeLaunchPlan(int RowBlocks, int Splits, Dim3 Grid);

    /// <summary>
    /// The grid and the split count from the batch's host-side figures (<see cref="DecodeSplits"/>: sequences, longest and
    /// total keys) and the GPU's CTA slots (<paramref name="multiprocessors"/> × <paramref name="ctasPerMultiprocessor"/>, the
    /// latter from <see cref="CtasPerMultiprocessor(GpuKernelInfo, CudaContext)"/>), after checking CUDA's grid limits.
    /// </summary>
    public static DecodeLaunchPlan Plan(DevicePagedKvBatch batch, int headsQ, int headsKv, int multiprocessors, int ctasPerMultiprocessor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(multiprocessors, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ctasPerMultiprocessor, 1);
        ArgumentNullException.ThrowIfNull(batch);
        return Plan(batch.Sequences, batch.MaxQueriesPerSequence, batch.MaxKvLength, batch.TotalKvTokens, headsQ, headsKv, multiprocessors * ctasPerMultiprocessor);
    }

    /// <summary>The plan from the batch's figures and the GPU's CTA slots (the grid-limit check runs in tests without a GPU).</summary>
    internal static DecodeLaunchPlan Plan(int sequences, int maxQueriesPerSequence, int maxKvLength, long totalKvTokens, int headsQ, int headsKv, int ctaSlots)
    {
        int group = headsQ / headsKv;
        int rowBlocks = (int)Math.Max(1, ((long)group * maxQueriesPerSequence + RowsPerCta - 1) / RowsPerCta);
        long y = (long)headsKv * rowBlocks;
        if (y > AttentionLauncher.MaxGridYZ || sequences > AttentionLauncher.MaxGridYZ)
        {
            throw new ArgumentException(
                $"The decode kernel launches Hkv x ceil(G*q/16) = {y} grid rows and one layer per sequence ({sequences}); CUDA allows at most {AttentionLauncher.MaxGridYZ} each. Split the batch.", "batch");
        }

        int splits = DecodeSplits.Choose((long)sequences * y, sequences, maxKvLength, totalKvTokens, ctaSlots);
        return new DecodeLaunchPlan(rowBlocks, splits, new Dim3(splits, (int)y, sequences));
    }

    /// <summary>
    /// Decode CTAs one SM of <paramref name="context"/>'s device holds at once, from the kernel's shared memory and threads
    /// (its <see cref="GpuKernelInfo"/>) and the registers the JIT gave it (<see cref="DecodeSplits.CtasPerMultiprocessor"/>).
    /// Loads the kernel's module if it is not loaded yet (the launch would).
    /// </summary>
    public static int CtasPerMultiprocessor(GpuKernelInfo decode, CudaContext context)
    {
        ArgumentNullException.ThrowIfNull(decode);
        ArgumentNullException.ThrowIfNull(context);
        return CtasPerMultiprocessor(decode, context.Modules.GetKernel(decode));
    }

    private static int CtasPerMultiprocessor(GpuKernelInfo decode, CudaKernel kernel)
    {
        var device = kernel.Context.Device;
        return DecodeSplits.CtasPerMultiprocessor(decode.SharedMemoryBytes + kernel.StaticSharedMemoryBytes, decode.ThreadsPerBlock, kernel.Registers, device.SharedMemoryPerMultiprocessor, device.RegistersPerMultiprocessor);
    }

    /// <summary>Everything a decode or merge kernel's parameters are filled from.</summary>
    internal readonly record struct DecodeCall(
        ulong Q, ulong KPool, ulong VPool, ulong Output, ulong Lse, ulong QueryOffsets, ulong KvLengths, ulong PageTable, int MaxPages,
        PagedKvGeometry Geometry, int HeadsQ, int RowBlocks, int Splits, int TotalQueries, ulong PartialOutput, ulong PartialLse,
        ulong NewKeys = 0, ulong NewValues = 0, ulong RotatedQ = 0);

    /// <summary>Writes a decode or merge kernel's parameters, by its ABI table, into <paramref name="arguments"/> (no GPU needed: tests run it).</summary>
    internal static void Pack(GpuKernelInfo kernel, in DecodeCall call, ReadOnlySpan<CapturedDeviceBuffer> captured, ref LaunchArguments arguments)
    {
        var abi = kernel.Abi ?? throw new ArgumentException($"Kernel '{kernel.EntryName}' has no ABI record (GpuKernelInfo.Abi), so its parameters cannot be packed.", nameof(kernel));
        var g = call.Geometry;
        int capturedSlots = 0;
        foreach (var slot in abi)
        {
            ulong value = slot.Value switch
            {
                AbiValue.QPointer => call.Q,
                AbiValue.KPointer => call.KPool,
                AbiValue.VPointer => call.VPool,
                AbiValue.OutputPointer => call.Output,
                AbiValue.LsePointer => call.Lse,
                AbiValue.QueryOffsets => call.QueryOffsets,
                AbiValue.KvLengths => call.KvLengths,
                AbiValue.PageTable => call.PageTable,
                AbiValue.MaxPagesPerSequence => (uint)call.MaxPages,
                AbiValue.PageSize => (uint)g.PageSize,
                AbiValue.HeadsQ => (uint)call.HeadsQ,
                AbiValue.HeadsKv => (uint)g.HeadsKv,
                AbiValue.RowBlocks => (uint)call.RowBlocks,
                AbiValue.KPageStride => (ulong)g.PageStride(g.HeadDim),
                AbiValue.KSlotStride => (ulong)g.SlotStride(g.HeadDim),
                AbiValue.KPoolHeadStride => (ulong)g.HeadStride(g.HeadDim),
                AbiValue.VPageStride => (ulong)g.PageStride(g.ValueHeadDim),
                AbiValue.VSlotStride => (ulong)g.SlotStride(g.ValueHeadDim),
                AbiValue.VPoolHeadStride => (ulong)g.HeadStride(g.ValueHeadDim),
                AbiValue.KvSplits => (uint)call.Splits,
                AbiValue.TotalQueries => (uint)call.TotalQueries,
                AbiValue.PartialOutput => call.PartialOutput,
                AbiValue.PartialLse => call.PartialLse,
                AbiValue.NewKeys => call.NewKeys,
                AbiValue.NewValues => call.NewValues,
                AbiValue.RotatedQ => call.RotatedQ,
                AbiValue.CapturedBuffer => CapturedPointer(captured, slot.Index, ref capturedSlots),
                AbiValue.CapturedLastIndex => AttentionLauncher.CapturedLastIndex(captured, slot.Index),
                _ => throw new ArgumentException($"Kernel '{kernel.EntryName}' has a parameter the decode launcher does not fill ({slot.Value}).", nameof(kernel)),
            };

            arguments.Add(slot, value);
        }

        if (capturedSlots != captured.Length)
        {
            throw new ArgumentException($"Kernel '{kernel.EntryName}' takes {capturedSlots} captured buffers; the call passed {captured.Length}.", nameof(captured));
        }
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

    /// <summary>A packed token-major tensor: contiguous BSHD with batch·seq = tokens, the given heads and head dim.</summary>
    private static void RequirePacked<T>(DeviceTensor<T> tensor, int tokens, int heads, int dim, string name)
        where T : unmanaged
    {
        if (tensor.Layout != TensorLayout.BSHD || !tensor.IsContiguous || (long)tensor.Batch * tensor.Seq != tokens || tensor.Heads != heads || tensor.Dim != dim)
        {
            throw new ArgumentException(
                $"'{name}' is {tensor.ShapeText}{(tensor.IsContiguous ? string.Empty : ", strided")}, but a decode call needs a contiguous BSHD [B, S, {heads}, {dim}] with B*S = {tokens} query tokens (e.g. [{tokens}, 1, {heads}, {dim}]).",
                name);
        }
    }

    internal static void RequireContext(CudaContext actual, CudaContext expected, string name)
    {
        if (!ReferenceEquals(actual, expected))
        {
            throw new ArgumentException($"'{name}' lives on device {actual.Device.Ordinal}, but 'q' on device {expected.Device.Ordinal}: every argument of a call must be in one context.", name);
        }
    }

    internal static void RequireDisjoint(ulong a, long aBytes, ulong b, long bBytes, string aName, string bName)
    {
        if (aBytes > 0 && bBytes > 0 && a < b + (ulong)bBytes && b < a + (ulong)aBytes)
        {
            throw new ArgumentException($"'{aName}' overlaps '{bName}': outputs must not share memory with inputs.", aName);
        }
    }
}
