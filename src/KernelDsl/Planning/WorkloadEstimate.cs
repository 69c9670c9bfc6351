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
    /// The H100 roofline for this call's GPU kernel: max(FLOPs computed / dense 16-bit tensor-core rate,
    /// minimum bytes / HBM bandwidth), with the ceilings measured on the H100 (<see cref="DeviceCeilings.H100"/>).
    /// </summary>
    public double? H100FloorMilliseconds => GpuComputedFlops is double flops
        ? Math.Max(flops / DeviceCeilings.H100.TensorFlops, (BytesRead + BytesWritten) / DeviceCeilings.H100.BytesPerSecond) * 1e3
        : null;

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
        };
    }

    public override string ToString()
    {
        var s = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        s.Append("For ").Append(Shape).Append('\n');
        s.Append(c, $"  FLOPs        dense {Giga(DenseFlops)}, computed after block skipping {Giga(ComputedFlops)}, kept pairs {Giga(KeptFlops)}\n");
        s.Append(c, $"  blocks       {VisitedBlocks:N0} of {TotalBlocks:N0} visited (density {BlockDensity:P1})\n");
        s.Append(c, $"  memory       reads {Mega(BytesRead)}, writes {Mega(BytesWritten)} (minimum); K/V streamed by the CPU kernel {Mega(StreamedKvBytes)}\n");
        s.Append(c, $"  intensity    {ArithmeticIntensity:F1} FLOP/byte (kept FLOPs / minimum bytes)\n");
        s.Append(c, $"  extra memory {CpuWorkingSetBytesPerThread / 1024.0:F0} KiB per CPU worker thread, independent of sequence length\n");
        if (GpuComputedFlops is double gpuFlops && H100FloorMilliseconds is double floor)
        {
            bool computeBound = gpuFlops / DeviceCeilings.H100.TensorFlops >= (BytesRead + BytesWritten) / DeviceCeilings.H100.BytesPerSecond;
            s.Append(c, $"  gpu          computed after block skipping {Giga(gpuFlops)}; H100 roofline {floor:F3} ms ({(computeBound ? "compute" : "memory")}-bound at {DeviceCeilings.H100.TensorFlops / 1e12:F0} TFLOP/s, {DeviceCeilings.H100.BytesPerSecond / 1e12:F1} TB/s)\n");
        }
        return s.ToString();
    }

    private static string Giga(double flops) => (flops / 1e9).ToString("F3", CultureInfo.InvariantCulture) + " GFLOP";

    private static string Mega(long bytes) => (bytes / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " MB";
}
