using System;
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
    /// <summary>FLOPs in the KV blocks the GPU kernel visits with its own tiles; null without a GPU kernel.</summary>
    public double? GpuComputedFlops { get; init; }

    /// <summary>
    /// FLOPs the Hopper-family kernel computes after skipping blocks with its own (larger) tiles; null when the spec has
    /// none. Larger tiles skip less of a band: this is what runs on H100/H200.
    /// </summary>
    public double? HopperComputedFlops { get; init; }

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
        shape.Validate();
        var band = p.BandFor(shape);
        long headsTimesBatch = (long)shape.Batch * shape.HeadsQ;
        double flopsPerPair = 2.0 * (shape.HeadDim + shape.ValueHeadDim);

        var cpu = BlockSkipping.Count(band, shape, p.CpuBlockQ, p.CpuBlockKV);
        var gpu = p.HasGpuKernel ? BlockSkipping.Count(band, shape, p.GpuBlockQ, p.GpuBlockKV) : default;
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
            GpuComputedFlops = p.HasGpuKernel ? headsTimesBatch * (double)gpu.VisitedPairs * flopsPerPair : null,
            HopperComputedFlops = p.HasHopperKernel
                ? headsTimesBatch * (double)BlockSkipping.Count(band, shape, p.HopperBlockQ, p.HopperBlockKV).VisitedPairs * flopsPerPair
                : null,
        };
    }

    /// <summary>This estimate with a runtime block mask: density, visited blocks and the FLOPs of the listed blocks.</summary>
    public WorkloadEstimate WithBlockMask(BlockMask mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        long shared = (long)(mask.Batches == 1 ? Shape.Batch : 1) * (mask.Heads == 1 ? Shape.HeadsQ : 1);
        double flopsPerPair = 2.0 * (Shape.HeadDim + Shape.ValueHeadDim);
        double pairs = 0;
        long rows = (long)mask.Batches * mask.Heads * mask.QueryBlocks;
        for (long row = 0; row < rows; row++)
        {
            int qb = (int)(row % mask.QueryBlocks);
            int queries = Math.Min(mask.BlockQ, mask.SeqQ - (qb * mask.BlockQ));
            int listed = mask.Counts[2 * row] + mask.Counts[(2 * row) + 1];
            for (int j = 0; j < listed; j++)
            {
                int kb = mask.Indices[(row * mask.KvBlocks) + j];
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

        if (HopperComputedFlops is double hopperFlops)
        {
            s.Append(c, $"  gpu sm_90a   computed after block skipping with the Hopper kernel's tiles {Giga(hopperFlops)} (the kernel that runs on compute capability 9.x)\n");
        }
        return s.ToString();
    }

    private static string Giga(double flops) => (flops / 1e9).ToString("F3", CultureInfo.InvariantCulture) + " GFLOP";

    private static string Mega(long bytes) => (bytes / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " MB";
}
