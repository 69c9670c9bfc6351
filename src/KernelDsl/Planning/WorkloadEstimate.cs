using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace KernelDsl;

/// <summary>
/// What one call of a given shape costs under a plan. FLOPs count 2 per multiply-add in QKᵀ and PV:
/// <list type="bullet">
/// <item><see cref="DenseFlops"/>: every (query, key) pair, 2·B·Hq·Sq·Skv·(D + Dv).</item>
/// <item><see cref="ComputedFlops"/>: the pairs in KV blocks the CPU kernel visits after block skipping.</item>
/// <item><see cref="KeptFlops"/>: the pairs the mask keeps — the convention for reporting TFLOP/s on masks.</item>
/// </list>
/// Bytes are the minimum traffic (each input read once, each output written once); the CPU kernel also
/// re-reads each visited K/V block once per query block, reported as <see cref="StreamedKvBytes"/>.
/// </summary>
public sealed record WorkloadEstimate(
    AttentionShape Shape,
    double DenseFlops,
    double ComputedFlops,
    double KeptFlops,
    long KeptPairs,
    long VisitedBlocks,
    long TotalBlocks,
    long BytesRead,
    long BytesWritten,
    long StreamedKvBytes,
    long CpuWorkingSetBytesPerThread)
{
    /// <summary>
    /// FLOPs in the KV blocks the plan's first GPU kernel (the one every supported GPU runs) visits with its own tiles;
    /// null without a GPU kernel.
    /// </summary>
    public double? GpuComputedFlops { get; init; }

    /// <summary>
    /// Per GPU kernel of the plan (same order): the FLOPs it computes after skipping blocks with its own tiles. Larger
    /// tiles skip less of a band; the kernel a device runs is KernelDsl.Cuda.GpuKernelSelection's choice. Empty without a GPU kernel.
    /// </summary>
    public IReadOnlyList<GpuKernelFlops> GpuKernelFlops { get; init; } = Array.Empty<GpuKernelFlops>();

    /// <summary>
    /// The H100 roofline for this call's GPU kernel: max(FLOPs computed / dense 16-bit tensor-core rate,
    /// minimum bytes / HBM bandwidth), with the ceilings measured on the H100 (<see cref="DeviceCeilings.H100"/>).
    /// </summary>
    public double? H100FloorMilliseconds => GpuComputedFlops is double flops
        ? Math.Max(flops / DeviceCeilings.H100.TensorFlops, (BytesRead + BytesWritten) / DeviceCeilings.H100.BytesPerSecond) * 1e3
        : null;

    /// <summary>The runtime block mask this estimate accounts for (<c>Plan.For(shape, blockMask)</c>), if any.</summary>
    public BlockMask? BlockMask { get; init; }

    /// <summary>
    /// With a block mask: the FLOPs of the block pairs it lists (tiles clipped at the sequence ends), i.e. what the
    /// kernel built for its tiles computes; the mask modifier's kept pairs lie within them.
    /// </summary>
    public double? BlockMaskFlops { get; init; }

    /// <summary>Fraction of (query block, KV block) tiles the CPU kernel visits.</summary>
    public double BlockDensity => TotalBlocks == 0 ? 0 : (double)VisitedBlocks / TotalBlocks;

    /// <summary>Kept FLOPs per byte of minimum traffic.</summary>
    public double ArithmeticIntensity => KeptFlops / Math.Max(1, BytesRead + BytesWritten);

    public static WorkloadEstimate Compute(PlanParameters p, AttentionShape shape)
    {
        shape.ValidateNonEmpty();
        var band = p.BandFor(shape);
        long headsTimesBatch = (long)shape.Batch * shape.HeadsQ;
        double flopsPerPair = 2.0 * (shape.HeadDim + shape.ValueHeadDim);

        var cpu = BlockSkipping.Count(band, shape, p.CpuBlockQ, p.CpuBlockKV);
        long keptPairs = 0;
        for (int i = 0; i < shape.SeqQ; i++)
        {
            var (rowFirst, rowEnd) = band.KeyRange(i, i + 1, shape.SeqKv);
            keptPairs += Math.Max(0, rowEnd - rowFirst);
        }

        int inSize = PlanParameters.SizeOf(p.InputType);
        long qBytes = headsTimesBatch * shape.SeqQ * shape.HeadDim * inSize;
        long kvRowBytes = (long)shape.Batch * shape.HeadsKv * (shape.HeadDim + shape.ValueHeadDim) * inSize;
        long kvBytes = kvRowBytes * shape.SeqKv;
        long oBytes = headsTimesBatch * shape.SeqQ * shape.ValueHeadDim * PlanParameters.SizeOf(p.OutputType);
        long lseBytes = p.WritesLse ? headsTimesBatch * shape.SeqQ * 4 : 0;

        // Each query block of each query head streams the K/V rows of the blocks it visits.
        long streamed = headsTimesBatch * cpu.VisitedKvRows * (shape.HeadDim + shape.ValueHeadDim) * inSize;

        var kernels = PerKernel(p, band, shape, headsTimesBatch * flopsPerPair);
        return new WorkloadEstimate(
            shape,
            DenseFlops: headsTimesBatch * (double)shape.SeqQ * shape.SeqKv * flopsPerPair,
            ComputedFlops: headsTimesBatch * (double)cpu.VisitedPairs * flopsPerPair,
            KeptFlops: headsTimesBatch * (double)keptPairs * flopsPerPair,
            KeptPairs: headsTimesBatch * keptPairs,
            VisitedBlocks: headsTimesBatch * cpu.VisitedBlocks,
            TotalBlocks: headsTimesBatch * cpu.TotalBlocks,
            BytesRead: qBytes + kvBytes,
            BytesWritten: oBytes + lseBytes,
            StreamedKvBytes: streamed,
            CpuWorkingSetBytesPerThread: p.CpuWorkingSetBytes)
        {
            GpuComputedFlops = kernels.Length > 0 ? kernels[0].ComputedFlops : null,
            GpuKernelFlops = kernels,
        };
    }

    private static GpuKernelFlops[] PerKernel(PlanParameters p, MaskBand band, AttentionShape shape, double flopsPerKvPairAllRows)
    {
        var kernels = new GpuKernelFlops[p.GpuKernels?.Length ?? 0];
        for (int i = 0; i < kernels.Length; i++)
        {
            var tiles = p.GpuKernels![i];
            var visited = BlockSkipping.Count(band, shape, tiles.BlockQ, tiles.BlockKV);
            kernels[i] = new GpuKernelFlops(tiles.Family, tiles.BlockQ, tiles.BlockKV, flopsPerKvPairAllRows * visited.VisitedPairs);
        }

        return kernels;
    }

    /// <summary>This estimate with a runtime block mask: density, visited blocks and the FLOPs of the listed blocks.</summary>
    public WorkloadEstimate WithBlockMask(BlockMask mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        long shared = (long)(mask.Batches == 1 ? Shape.Batch : 1) * (mask.Heads == 1 ? Shape.HeadsQ : 1);
        double flopsPerPair = 2.0 * (Shape.HeadDim + Shape.ValueHeadDim);
        double pairs = 0;
        long rows = (long)mask.Batches * mask.Heads * mask.QueryBlocks;
        var counts = mask.Counts.Span;
        var indices = mask.Indices.Span;
        for (int row = 0; row < rows; row++)
        {
            int qb = (int)(row % mask.QueryBlocks);
            int queries = Math.Min(mask.BlockQ, mask.SeqQ - (qb * mask.BlockQ));
            int listed = counts[2 * row] + counts[(2 * row) + 1];
            for (int j = 0; j < listed; j++)
            {
                int kb = indices[(row * mask.KvBlocks) + j];
                pairs += (double)queries * Math.Min(mask.BlockKV, mask.SeqKv - (kb * mask.BlockKV));
            }
        }

        return this with
        {
            BlockMask = mask,
            BlockMaskFlops = pairs * flopsPerPair * shared,
            VisitedBlocks = (mask.PartialBlocks + mask.FullBlocks) * shared,
            TotalBlocks = mask.TotalBlocks * shared,
        };
    }

    public override string ToString()
    {
        var s = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        s.Append("For ").Append(Shape).Append('\n');
        s.Append(c, $"  FLOPs        dense {Giga(DenseFlops)}, computed after block skipping {Giga(ComputedFlops)}, kept pairs {Giga(KeptFlops)}\n");
        s.Append(c, $"  blocks       {VisitedBlocks:N0} of {TotalBlocks:N0} visited (density {BlockDensity:P1})\n");
        if (BlockMask is { } mask && BlockMaskFlops is double maskFlops)
        {
            s.Append(c, $"  block mask   {mask.BlockQ}x{mask.BlockKV} tiles: {mask.PartialBlocks:N0} partial + {mask.FullBlocks:N0} full of {mask.TotalBlocks:N0} per {(mask.Batches == 1 && mask.Heads == 1 ? "call (shared by every batch and head)" : "mask row set")}; {Giga(maskFlops)} in the listed blocks (the mask modifier's kept pairs lie within them; 'kept pairs' above counts the built-in mask only)\n");
        }

        s.Append(c, $"  memory       reads {Mega(BytesRead)}, writes {Mega(BytesWritten)} (minimum); K/V streamed by the CPU kernel {Mega(StreamedKvBytes)}\n");
        s.Append(c, $"  intensity    {ArithmeticIntensity:F1} FLOP/byte (kept FLOPs / minimum bytes)\n");
        s.Append(c, $"  extra memory {CpuWorkingSetBytesPerThread / 1024.0:F0} KiB per CPU worker thread, independent of sequence length\n");
        if (GpuComputedFlops is double gpuFlops && H100FloorMilliseconds is double floor)
        {
            bool computeBound = gpuFlops / DeviceCeilings.H100.TensorFlops >= (BytesRead + BytesWritten) / DeviceCeilings.H100.BytesPerSecond;
            s.Append(c, $"  gpu          computed after block skipping {Giga(gpuFlops)}; H100 roofline {floor:F3} ms ({(computeBound ? "compute" : "memory")}-bound at {DeviceCeilings.H100.TensorFlops / 1e12:F0} TFLOP/s, {DeviceCeilings.H100.BytesPerSecond / 1e12:F1} TB/s)\n");
        }

        for (int i = 1; i < GpuKernelFlops.Count; i++)
        {
            var kernel = GpuKernelFlops[i];
            s.Append(c, $"  gpu {kernel.Family,-8} computed after block skipping with the {kernel.Family} kernel's {kernel.BlockQ}x{kernel.BlockKV} tiles {Giga(kernel.ComputedFlops)} (the kernel that runs where its family is preferred)\n");
        }

        return s.ToString();
    }

    private static string Giga(double flops) => (flops / 1e9).ToString("F3", CultureInfo.InvariantCulture) + " GFLOP";

    private static string Mega(long bytes) => (bytes / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " MB";
}

/// <summary>What one GPU kernel of a plan computes for a call: its family and tiles, and the FLOPs after its block skipping.</summary>
public readonly record struct GpuKernelFlops(string Family, int BlockQ, int BlockKV, double ComputedFlops);
