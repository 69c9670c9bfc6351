using System;

namespace KernelDsl.Cuda;

/// <summary>
/// Checks a varlen forward call (issue 11) and launches the spec's varlen forward kernel for the device (the sm_90a family's on
/// Hopper where the spec has one, as for the dense Forward: <see cref="GpuKernelSelection"/>), packing its parameters from the
/// generated ABI table (<see cref="GpuKernelInfo.Abi"/>, written from the same record as its PTX entry). q is [totalQ, Hq, D],
/// k and v [totalKv, Hkv, D] and [totalKv, Hkv, Dv], output [totalQ, Hq, Dv], each given as a contiguous BSHD
/// <see cref="DeviceTensor{T}"/> with batch·seq = its tokens (e.g. [1, totalQ, Hq, D]); LSE [totalQ, Hq] fp32. The checks are
/// the CPU ForwardVarlen's, naming the same arguments, plus the device's (contexts, 16-byte alignment). The grid is
/// (query blocks of the longest sequence, Hq, sequences), from <see cref="DeviceVarlenBatch"/>'s host-side figures: nothing is
/// read back from the device, and a steady-state call allocates no managed memory (one <c>cuLaunchKernel</c>).
/// </summary>
public static unsafe class VarlenLauncher
{
    /// <summary>Checks and launches (see the class summary).</summary>
    public static void Launch<TIn, TOut>(
        GpuKernelSet kernels,
        int headDim,
        int valueHeadDim,
        DeviceTensor<TIn> q,
        DeviceTensor<TIn> k,
        DeviceTensor<TIn> v,
        DeviceTensor<TOut> output,
        DeviceBuffer<float>? lse,
        DeviceVarlenBatch batch,
        int headsQ,
        int headsKv,
        CudaStream? stream,
        ReadOnlySpan<CapturedDeviceBuffer> captured = default)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        ArgumentNullException.ThrowIfNull(kernels);
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(k);
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(batch);
        ServingBinding.RequireHeads(headsQ, headsKv);
        RequirePacked(q, batch.TotalQueries, headsQ, headDim, nameof(q));
        RequirePacked(k, batch.TotalKeys, headsKv, headDim, nameof(k));
        RequirePacked(v, batch.TotalKeys, headsKv, valueHeadDim, nameof(v));
        RequirePacked(output, batch.TotalQueries, headsQ, valueHeadDim, nameof(output));
        long rows = (long)batch.TotalQueries * headsQ;
        if (lse is not null && lse.Length != rows)
        {
            throw new ArgumentException($"'lse' has {lse.Length} elements, but [tokens, heads] = [{batch.TotalQueries}, {headsQ}] needs {rows}.", nameof(lse));
        }

        CudaContext context = q.Context;
        DecodeLauncher.RequireContext(k.Context, context, nameof(k));
        DecodeLauncher.RequireContext(v.Context, context, nameof(v));
        DecodeLauncher.RequireContext(output.Context, context, nameof(output));
        DecodeLauncher.RequireContext(batch.QueryOffsets.Context, context, nameof(batch));
        if (lse is not null)
        {
            DecodeLauncher.RequireContext(lse.Context, context, nameof(lse));
        }

        // K/V/Q rows are copied 16 bytes at a time (cp.async); O is stored two elements at a time.
        RequireAligned(q.DevicePointer, 16, nameof(q));
        RequireAligned(k.DevicePointer, 16, nameof(k));
        RequireAligned(v.DevicePointer, 16, nameof(v));
        RequireAligned(output.DevicePointer, 2 * sizeof(TOut), nameof(output));
        long outputBytes = output.Length * sizeof(TOut);
        ulong lsePointer = lse?.DevicePointer ?? 0UL;
        long lseBytes = lse?.SizeInBytes ?? 0L;
        RequireOutputsDisjoint(output.DevicePointer, outputBytes, lsePointer, lseBytes, q.DevicePointer, q.Length * sizeof(TIn), nameof(q));
        RequireOutputsDisjoint(output.DevicePointer, outputBytes, lsePointer, lseBytes, k.DevicePointer, k.Length * sizeof(TIn), nameof(k));
        RequireOutputsDisjoint(output.DevicePointer, outputBytes, lsePointer, lseBytes, v.DevicePointer, v.Length * sizeof(TIn), nameof(v));
        if (lse is not null)
        {
            DecodeLauncher.RequireDisjoint(lse.DevicePointer, lse.SizeInBytes, output.DevicePointer, outputBytes, nameof(lse), nameof(output));
        }

        var capturedShape = ServingBinding.CapturedShape(batch.Sequences, headsQ, headsKv, headDim, valueHeadDim);
        foreach (var buffer in captured)
        {
            CapturedBuffers.RequireLength(buffer.Name, buffer.Length, buffer.Dims, capturedShape);
        }

        // The device's kernel: sm_90a (wgmma) on Hopper where the spec has one, else the sm_80 family (KDSL_GPU_FAMILY overrides).
        var kernel = GpuKernelSelection.Select(kernels, context.Device.ComputeCapability, null, GpuKernelSelection.ForcedFamily);
        if (Grid(batch, headsQ, kernel.BlockQ) is not { } grid)
        {
            return;
        }

        var call = new VarlenCall(q.DevicePointer, k.DevicePointer, v.DevicePointer, output.DevicePointer, lse?.DevicePointer ?? 0UL,
            batch.QueryOffsets.DevicePointer, batch.KeyOffsets.DevicePointer, headsQ, headsKv, headDim, valueHeadDim);
        var arguments = new LaunchArguments();
        Pack(kernel, call, captured, ref arguments);
        context.Modules.GetKernel(kernel).Launch(grid, new Dim3(kernel.ThreadsPerBlock), kernel.SharedMemoryBytes, stream, ref arguments);
    }

    /// <summary>(ceil(longest sequence's queries / blockQ), Hq, sequences), after checking CUDA's grid limits; null for a call with no query.</summary>
    public static Dim3? Grid(DeviceVarlenBatch batch, int headsQ, int blockQ)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Grid(batch.Sequences, batch.MaxQueryLength, headsQ, blockQ);
    }

    /// <summary>The grid from a batch's host-side figures: sequences and its longest query run (FlashAttention's max_seqlen_q).</summary>
    public static Dim3? Grid(int sequences, int maxQueryLength, int headsQ, int blockQ)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(headsQ, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockQ, 1);
        if (headsQ > AttentionLauncher.MaxGridYZ || sequences > AttentionLauncher.MaxGridYZ)
        {
            throw new ArgumentException(
                $"The varlen kernel launches one grid row per query head ({headsQ}) and one layer per sequence ({sequences}); CUDA allows at most {AttentionLauncher.MaxGridYZ} each. Split the batch.", "batch");
        }

        return sequences == 0 || maxQueryLength == 0 ? null : new Dim3((maxQueryLength + blockQ - 1) / blockQ, headsQ, sequences);
    }

    /// <summary>Everything the varlen kernel's parameters are filled from (packed tensors: token stride heads·dim, head stride dim).</summary>
    internal readonly record struct VarlenCall(
        ulong Q, ulong K, ulong V, ulong Output, ulong Lse, ulong QueryOffsets, ulong KeyOffsets, int HeadsQ, int HeadsKv, int HeadDim, int ValueHeadDim);

    /// <summary>Writes the varlen kernel's parameters, by its ABI table, into <paramref name="arguments"/> (no GPU needed: tests run it).</summary>
    internal static void Pack(GpuKernelInfo kernel, in VarlenCall call, ReadOnlySpan<CapturedDeviceBuffer> captured, ref LaunchArguments arguments)
    {
        var abi = kernel.Abi ?? throw new ArgumentException($"Kernel '{kernel.EntryName}' has no ABI record (GpuKernelInfo.Abi), so its parameters cannot be packed.", nameof(kernel));
        int capturedSlots = 0;
        foreach (var slot in abi)
        {
            ulong value = slot.Value switch
            {
                AbiValue.QPointer => call.Q,
                AbiValue.KPointer => call.K,
                AbiValue.VPointer => call.V,
                AbiValue.OutputPointer => call.Output,
                AbiValue.LsePointer => call.Lse,
                AbiValue.QueryOffsets => call.QueryOffsets,
                AbiValue.KeyOffsets => call.KeyOffsets,
                AbiValue.HeadsQ => (uint)call.HeadsQ,
                AbiValue.HeadsKv => (uint)call.HeadsKv,
                AbiValue.QSeqStride => (ulong)call.HeadsQ * (ulong)call.HeadDim,
                AbiValue.QHeadStride => (ulong)call.HeadDim,
                AbiValue.KSeqStride => (ulong)call.HeadsKv * (ulong)call.HeadDim,
                AbiValue.KHeadStride => (ulong)call.HeadDim,
                AbiValue.VSeqStride => (ulong)call.HeadsKv * (ulong)call.ValueHeadDim,
                AbiValue.VHeadStride => (ulong)call.ValueHeadDim,
                AbiValue.OutputSeqStride => (ulong)call.HeadsQ * (ulong)call.ValueHeadDim,
                AbiValue.OutputHeadStride => (ulong)call.ValueHeadDim,
                AbiValue.CapturedBuffer => CapturedPointer(captured, slot.Index, ref capturedSlots),
                AbiValue.CapturedLastIndex => AttentionLauncher.CapturedLastIndex(captured, slot.Index),
                _ => throw new ArgumentException($"Kernel '{kernel.EntryName}' has a parameter the varlen launcher does not fill ({slot.Value}).", nameof(kernel)),
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
                $"'{name}' is {tensor.ShapeText}{(tensor.IsContiguous ? string.Empty : ", strided")}, but a varlen call needs a contiguous BSHD [B, S, {heads}, {dim}] with B*S = {tokens} packed tokens (e.g. [1, {tokens}, {heads}, {dim}]).",
                name);
        }
    }

    /// <summary>Neither output (O, and LSE when given) overlaps the input <paramref name="inputName"/>.</summary>
    private static void RequireOutputsDisjoint(ulong output, long outputBytes, ulong lse, long lseBytes, ulong input, long inputBytes, string inputName)
    {
        DecodeLauncher.RequireDisjoint(output, outputBytes, input, inputBytes, "output", inputName);
        DecodeLauncher.RequireDisjoint(lse, lseBytes, input, inputBytes, "lse", inputName);
    }

    private static void RequireAligned(ulong pointer, int bytes, string name)
    {
        if (pointer % (ulong)bytes != 0)
        {
            throw new ArgumentException($"Tensor '{name}' must start on a {bytes}-byte boundary for the GPU kernel.", name);
        }
    }
}
