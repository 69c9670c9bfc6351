using KernelDsl;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

public class WorkloadEstimateTests
{
    private static PlanParameters Parameters(MaskKind mask, MaskAlignment alignment = MaskAlignment.Unspecified, int left = -1, int right = -1) =>
        new(DType.BF16, DType.BF16, mask, alignment, left, right, WritesLse: false, CpuBlockQ: 64, CpuBlockKV: 64, CpuWorkingSetBytes: 1000);

    [Fact]
    public void DenseFlopsFollowTheStandardFormula()
    {
        var shape = new AttentionShape(2, 1000, 1000, 16, 16, 128, 128);
        var estimate = WorkloadEstimate.Compute(Parameters(MaskKind.None), shape);
        estimate.DenseFlops.ShouldBe(4.0 * 2 * 16 * 1000 * 1000 * 128);
        estimate.KeptFlops.ShouldBe(estimate.DenseFlops);
        estimate.BlockDensity.ShouldBe(1.0);
        estimate.BytesRead.ShouldBe(3L * 2 * 1000 * 16 * 128 * 2);
    }

    [Fact]
    public void CausalKeepsTheLowerTriangleAndSkipsBlocksAboveIt()
    {
        var shape = new AttentionShape(1, 4096, 4096, 1, 1, 64, 64);
        var estimate = WorkloadEstimate.Compute(Parameters(MaskKind.Causal, MaskAlignment.TopLeft, -1, 0), shape);
        estimate.KeptPairs.ShouldBe(4096L * 4097 / 2);
        // 64 query blocks; block r visits r + 1 of 64 KV blocks.
        estimate.VisitedBlocks.ShouldBe(64L * 65 / 2);
        estimate.TotalBlocks.ShouldBe(64L * 64);
        estimate.ComputedFlops.ShouldBeGreaterThan(estimate.KeptFlops);
    }

    [Fact]
    public void SlidingWindowCostIsLinearInSequenceLength()
    {
        var short_ = WorkloadEstimate.Compute(Parameters(MaskKind.SlidingWindow, MaskAlignment.TopLeft, 128, 0), new AttentionShape(1, 4096, 4096, 1, 1, 64, 64));
        var long_ = WorkloadEstimate.Compute(Parameters(MaskKind.SlidingWindow, MaskAlignment.TopLeft, 128, 0), new AttentionShape(1, 8192, 8192, 1, 1, 64, 64));
        (long_.ComputedFlops / short_.ComputedFlops).ShouldBe(2.0, 0.03);
    }

    [Fact]
    public void GpuTilesGiveTheirOwnBlockSkippingAndAnH100Roofline()
    {
        var parameters = Parameters(MaskKind.Causal, MaskAlignment.TopLeft, -1, 0) with { GpuKernels = [new("sm_80", 128, 32)] };
        var shape = new AttentionShape(1, 4096, 4096, 16, 16, 128, 128);
        var estimate = WorkloadEstimate.Compute(parameters, shape);

        // 32 query blocks of 128 rows; block r visits 4(r + 1) KV blocks of 32 keys: 128·32·4·(r+1) pairs.
        long pairs = 0;
        for (int r = 0; r < 32; r++)
        {
            pairs += 128L * 32 * 4 * (r + 1);
        }

        estimate.GpuComputedFlops.ShouldBe(16.0 * pairs * 2 * (128 + 128));
        double computeMs = estimate.GpuComputedFlops!.Value / DeviceCeilings.H100.TensorFlops * 1e3;
        estimate.H100FloorMilliseconds!.Value.ShouldBe(computeMs, 1e-12); // compute-bound at this size
        estimate.ToString().ShouldContain("H100 roofline");
    }

    [Fact]
    public void EachGpuKernelsTilesGiveTheirOwnBlockSkipping()
    {
        GpuKernelTiles[] kernels = [new("sm_80", 128, 32), new("sm_90a", 128, 128)];
        var parameters = Parameters(MaskKind.Causal, MaskAlignment.TopLeft, -1, 0) with { GpuKernels = kernels };
        var shape = new AttentionShape(1, 4096, 4096, 16, 16, 128, 128);
        var estimate = WorkloadEstimate.Compute(parameters, shape);

        // 32 query blocks of 128 rows; block r visits r + 1 KV blocks of 128 keys (the diagonal one whole): 128·128·(r+1) pairs.
        long pairs = 0;
        for (int r = 0; r < 32; r++)
        {
            pairs += 128L * 128 * (r + 1);
        }

        estimate.GpuKernelFlops.Count.ShouldBe(2);
        estimate.GpuKernelFlops[1].ShouldBe(new GpuKernelFlops("sm_90a", 128, 128, 16.0 * pairs * 2 * (128 + 128)));
        estimate.GpuKernelFlops[0].ComputedFlops.ShouldBe(estimate.GpuComputedFlops!.Value, "the first kernel's FLOPs are the plan's GPU FLOPs");
        estimate.GpuKernelFlops[1].ComputedFlops.ShouldBe(estimate.GpuComputedFlops!.Value, "with 128-row blocks both visit the causal diagonal up to the block's last row");
        var window = WorkloadEstimate.Compute(Parameters(MaskKind.SlidingWindow, MaskAlignment.TopLeft, 30, 0) with { GpuKernels = kernels }, shape);
        window.GpuKernelFlops[1].ComputedFlops.ShouldBeGreaterThan(window.GpuKernelFlops[0].ComputedFlops, "a 30-key look-back costs a whole 128-key tile, but only one 32-key tile");
        estimate.ToString().ShouldContain("gpu sm_90a   computed after block skipping with the sm_90a kernel's 128x128 tiles");
        WorkloadEstimate.Compute(parameters with { GpuKernels = kernels[..1] }, shape).GpuKernelFlops.Count.ShouldBe(1);
        WorkloadEstimate.Compute(parameters with { GpuKernels = null }, shape).GpuKernelFlops.ShouldBeEmpty();
        WorkloadEstimate.Compute(parameters with { GpuKernels = null }, shape).GpuComputedFlops.ShouldBeNull();
    }

    [Fact]
    public void SpecsWithoutAGpuKernelHaveNoGpuEstimate()
    {
        var estimate = WorkloadEstimate.Compute(Parameters(MaskKind.None), new AttentionShape(1, 256, 256, 1, 1, 64, 64));
        estimate.GpuComputedFlops.ShouldBeNull();
        estimate.H100FloorMilliseconds.ShouldBeNull();
    }
}
