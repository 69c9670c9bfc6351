using System;

namespace KernelDsl.Cuda;

/// <summary>
/// Launch constants of one generated block-mask builder kernel (the spec's <c>__GpuBlockMaskKernel</c> class).
/// <paramref name="PerBatch"/> / <paramref name="PerHead"/>: the mask modifier reads b / h, so the mask has one row
/// set per batch / query head (else one shared by all), as for the CPU <c>CreateBlockMask</c>.
/// </summary>
public sealed record GpuBlockMaskKernelInfo(string Ptx, string EntryName, int ThreadsPerBlock, bool PerBatch, bool PerHead)
{
    /// <summary>The builder's parameters in <c>.param</c> order, generated from the same ABI record as its PTX entry; the launcher packs exactly these.</summary>
    public AbiSlot[]? Abi { get; init; }
}

/// <summary>
/// Builds a <see cref="BlockMask"/> on the GPU with a spec's generated builder kernel: one CTA per (KV block, query
/// block, mask row) writes a byte (0 empty, 1 partial, 2 full) into a dense classification in device memory; the
/// bytes (rows × KV blocks, small) are downloaded and listed by <see cref="BlockMaskBuilder.Compact"/>, the same
/// compaction as the CPU classification, so both give identical masks. The parameters are packed from the kernel's ABI
/// table (<see cref="GpuBlockMaskKernelInfo.Abi"/>), generated from the same record as its PTX entry.
/// </summary>
public static class BlockMaskLauncher
{
    /// <summary>The largest grid y and z dimensions (query blocks, mask rows).</summary>
    public const int MaxGridYZ = 65535;

    /// <summary>
    /// Throws an <see cref="ArgumentOutOfRangeException"/> unless both tile sizes are powers of two in 16–256 (the
    /// kernels' tiles; the builder splits element indices with shifts).
    /// </summary>
    public static void RequireTileSizes(int blockQ, int blockKV)
    {
        Require(blockQ, nameof(blockQ));
        Require(blockKV, nameof(blockKV));

        static void Require(int size, string name)
        {
            if (size < 16 || size > 256 || (size & (size - 1)) != 0)
            {
                throw new ArgumentOutOfRangeException(name, size, $"Tile sizes of the GPU block-mask builder must be powers of two between 16 and 256 ({name} = {size}).");
            }
        }
    }

    /// <summary>
    /// Validates the arguments (shape, tile sizes, grid limits, captured buffer lengths against their declared shapes,
    /// one context for everything), launches the builder on <paramref name="stream"/> (the legacy default stream when
    /// null), waits for it and returns the compacted mask. The context is <paramref name="context"/>, else the stream's,
    /// else the first buffer's, else the default device's.
    /// </summary>
    public static BlockMask Build(
        GpuBlockMaskKernelInfo kernel,
        AttentionShape shape,
        int blockQ,
        int blockKV,
        MaskBand band,
        CapturedDeviceBuffer[]? captured,
        CudaContext? context,
        CudaStream? stream)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        shape.ValidateNonEmpty();
        RequireTileSizes(blockQ, blockKV);
        int batches = kernel.PerBatch ? shape.Batch : 1;
        int heads = kernel.PerHead ? shape.HeadsQ : 1;
        int queryBlocks = (shape.SeqQ + blockQ - 1) / blockQ;
        int kvBlocks = (shape.SeqKv + blockKV - 1) / blockKV;
        long maskRows = (long)batches * heads;
        if (queryBlocks > MaxGridYZ || maskRows > MaxGridYZ)
        {
            throw new ArgumentException(
                $"The GPU block-mask builder launches one grid row per query block ({queryBlocks}) and one layer per mask row ({batches} x {heads}); at most {MaxGridYZ} each. Use larger tiles or the CPU CreateBlockMask.",
                nameof(shape));
        }

        if (maskRows * queryBlocks * kvBlocks > Array.MaxLength)
        {
            throw new ArgumentException($"The block mask would have {maskRows * queryBlocks * kvBlocks} block pairs, more than one array holds. Use larger tiles.", nameof(shape));
        }

        captured ??= Array.Empty<CapturedDeviceBuffer>();
        foreach (var buffer in captured)
        {
            CapturedBuffers.RequireLength(buffer.Name, buffer.Length, buffer.Dims, shape);
        }

        context ??= stream?.Context;
        foreach (var buffer in captured)
        {
            context ??= buffer.Context;
        }

        context ??= Cuda.DefaultContext;
        if (stream is not null && stream.Context != context)
        {
            throw new ArgumentException("The stream belongs to another CUDA context than the block mask's.", nameof(stream));
        }

        foreach (var buffer in captured)
        {
            if (buffer.Context is not null && buffer.Context != context)
            {
                throw new ArgumentException($"Captured buffer '{buffer.Name}' lives in another CUDA context than the block mask's.", buffer.Name);
            }
        }

        var kinds = new byte[maskRows * queryBlocks * kvBlocks];
        using (var classification = new DeviceBuffer<byte>(kinds.LongLength, context))
        {
            var arguments = new LaunchArguments();
            var abi = kernel.Abi ?? throw new ArgumentException($"Kernel '{kernel.EntryName}' has no ABI record (GpuBlockMaskKernelInfo.Abi), so its parameters cannot be packed.", nameof(kernel));
            int capturedSlots = 0;
            foreach (var slot in abi)
            {
                ulong value = slot.Value switch
                {
                    AbiValue.SeqQ => (uint)shape.SeqQ,
                    AbiValue.SeqKv => (uint)shape.SeqKv,
                    AbiValue.MaskBlockQ => (uint)blockQ,
                    AbiValue.MaskBlockKV => (uint)blockKV,
                    AbiValue.BandOffset => unchecked((uint)band.Offset),
                    AbiValue.BandLeft => unchecked((uint)band.Left),
                    AbiValue.BandRight => unchecked((uint)band.Right),
                    AbiValue.MaskHeads => (uint)heads,
                    AbiValue.Classification => classification.DevicePointer,
                    AbiValue.CapturedBuffer => (uint)slot.Index < (uint)captured.Length
                        ? captured[slot.Index].DevicePointer
                        : throw new ArgumentException($"The builder reads captured buffer {slot.Index}, but the call passed {captured.Length}.", nameof(captured)),
                    AbiValue.CapturedLastIndex => AttentionLauncher.CapturedLastIndex(captured, slot.Index),
                    _ => throw new ArgumentException($"Kernel '{kernel.EntryName}' has a parameter the block-mask builder does not pack ({slot.Value}).", nameof(kernel)),
                };
                if (slot.Value == AbiValue.CapturedBuffer)
                {
                    capturedSlots++;
                }

                arguments.Add(slot, value);
            }

            if (capturedSlots != captured.Length)
            {
                throw new ArgumentException($"The builder takes {capturedSlots} captured buffers; the call passed {captured.Length}.", nameof(captured));
            }

            var cudaKernel = context.Modules.GetKernel(kernel.Ptx, kernel.EntryName);
            cudaKernel.Launch(new Dim3(kvBlocks, queryBlocks, (int)maskRows), new Dim3(kernel.ThreadsPerBlock, 1, 1), 0, stream, ref arguments);
            stream?.Synchronize();
            classification.Download(kinds);
        }

        return BlockMaskBuilder.Compact(shape.SeqQ, shape.SeqKv, blockQ, blockKV, batches, heads, kinds, kernel.PerBatch, kernel.PerHead);
    }
}
