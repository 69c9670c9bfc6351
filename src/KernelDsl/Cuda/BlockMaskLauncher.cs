using System;

namespace KernelDsl.Cuda;

/// <summary>
/// Launch constants of one generated block-mask builder kernel (the spec's <c>__GpuBlockMaskKernel</c> class).
/// <paramref name="PerBatch"/> / <paramref name="PerHead"/>: the mask modifier reads b / h, so the mask has one row
/// set per batch / query head (else one shared by all), as for the CPU <c>CreateBlockMask</c>.
/// </summary>
public sealed record GpuBlockMaskKernelInfo(string Ptx, string EntryName, int ThreadsPerBlock, bool PerBatch, bool PerHead);

/// <summary>
/// Builds a <see cref="BlockMask"/> on the GPU with a spec's generated builder kernel: one CTA per (KV block, query
/// block, mask row) writes a byte (0 empty, 1 partial, 2 full) into a dense classification in device memory; the
/// bytes (rows × KV blocks, small) are downloaded and listed by <see cref="BlockMaskBuilder.Compact"/>, the same
/// compaction as the CPU classification, so both give identical masks. The parameter order here is the ABI in
/// generators/KernelDsl.Compiler/Emit/Ptx/BlockMaskPtx.cs: the two must change together.
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
        shape.Validate();
        RequireTileSizes(blockQ, blockKV);
        int batches = kernel.PerBatch ? shape.Batch : 1;
        int heads = kernel.PerHead ? shape.HeadsQ : 1;
        int queryBlocks = (shape.SeqQ + blockQ - 1) / blockQ;
        int kvBlocks = (shape.SeqKv + blockKV - 1) / blockKV;
        long maskRows = (long)batches * heads;
        if (queryBlocks > MaxGridYZ || maskRows > MaxGridYZ)
        {
            throw new ArgumentException(
                $"The GPU block-mask builder launches one grid row per query block ({queryBlocks}) and one layer per mask row ({batches} x {heads}); at most {MaxGridYZ} each. Use larger tiles or the CPU CreateBlockMask.");
        }

        if (maskRows * queryBlocks * kvBlocks > Array.MaxLength)
        {
            throw new ArgumentException($"The block mask would have {maskRows * queryBlocks * kvBlocks} block pairs, more than one array holds. Use larger tiles.");
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
            var arguments = new KernelArguments()
                .AddU32((uint)shape.SeqQ).AddU32((uint)shape.SeqKv).AddU32((uint)blockQ).AddU32((uint)blockKV)
                .AddS32(band.Offset).AddS32(band.Left).AddS32(band.Right).AddU32((uint)heads)
                .AddPointer(classification);
            foreach (var buffer in captured)
            {
                arguments.AddPointer(buffer.DevicePointer);
            }

            var cudaKernel = context.Modules.GetKernel(kernel.Ptx, kernel.EntryName);
            cudaKernel.Launch(new Dim3(kvBlocks, queryBlocks, (int)maskRows), new Dim3(kernel.ThreadsPerBlock, 1, 1), 0, stream, arguments);
            stream?.Synchronize();
            classification.Download(kinds);
        }

        return BlockMaskBuilder.Compact(shape.SeqQ, shape.SeqKv, blockQ, blockKV, batches, heads, kinds, kernel.PerBatch, kernel.PerHead);
    }
}
