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
}
