using System;

namespace KernelDsl;

/// <summary>
/// The memory plan of a compiled spec, as the generated <c>Plan</c> property exposes it. The build-time part
/// (tiles, working set, per-target decisions) comes from the compiler as text and constants; the
/// shape-dependent part (FLOPs, bytes, block skipping) is computed here for a given call shape.
/// </summary>
public sealed class AttentionPlan
{
    public AttentionPlan(string specName, string buildTimeText, PlanParameters parameters)
    {
        SpecName = specName;
        BuildTimeText = buildTimeText;
        Parameters = parameters;
    }

    /// <summary>The spec class's full name.</summary>
    public string SpecName { get; }

    /// <summary>The compiler's rendering of its decisions (tiles, working set, targets).</summary>
    public string BuildTimeText { get; }

    /// <summary>The numbers the shape-dependent estimates need.</summary>
    public PlanParameters Parameters { get; }

    /// <summary>FLOPs, bytes and memory for one call of the given shape.</summary>
    public WorkloadEstimate For(AttentionShape shape) => WorkloadEstimate.Compute(Parameters, shape);

    /// <summary>
    /// The estimate with a runtime block mask (from the spec's <c>CreateCpuBlockMask</c>/<c>CreateGpuBlockMask</c>):
    /// its block density and the FLOPs of the blocks it lists, which is what the kernel computes.
    /// </summary>
    public WorkloadEstimate For(AttentionShape shape, BlockMask blockMask)
    {
        ArgumentNullException.ThrowIfNull(blockMask);
        blockMask.RequireMatches(shape, blockMask.BlockQ, blockMask.BlockKV, nameof(blockMask));
        return For(shape).WithBlockMask(blockMask);
    }

    /// <summary>The plan text plus the estimate for this shape and block mask.</summary>
    public string Describe(AttentionShape shape, BlockMask blockMask) => BuildTimeText + For(shape, blockMask).ToString();

    /// <summary>The build-time plan followed by the estimate for <paramref name="shape"/>.</summary>
    public string Describe(AttentionShape shape) => BuildTimeText + For(shape).ToString();

    public override string ToString() => BuildTimeText;
}

/// <summary>
/// Build-time constants of a plan that the shape-dependent estimates use: element types, the built-in mask (kind,
/// alignment, window), whether the LSE is written, the CPU kernel's tiles and working set, and <c>GpuKernels</c>, the
/// tiles of the spec's GPU forward kernels in the plan's order (the first runs on every supported GPU; null or empty
/// without a GPU kernel).
/// </summary>
public readonly record struct PlanParameters(
    DType InputType,
    DType OutputType,
    MaskKind Mask,
    MaskAlignment Alignment,
    int WindowLeft,
    int WindowRight,
    bool WritesLse,
    int CpuBlockQ,
    int CpuBlockKV,
    int CpuWorkingSetBytes,
    GpuKernelTiles[]? GpuKernels = null)
{
    /// <summary>True when the spec has a GPU kernel (its tiles are then known).</summary>
    public bool HasGpuKernel => GpuKernels is { Length: > 0 };

    public MaskBand BandFor(AttentionShape shape) =>
        MaskBand.For(Mask, Alignment, WindowLeft, WindowRight, shape.SeqQ, shape.SeqKv);

    public static int SizeOf(DType type) => type == DType.FP32 ? 4 : 2;
}

/// <summary>One GPU kernel's tiles in a plan: its family (the PTX target, e.g. "sm_80") and block sizes.</summary>
public readonly record struct GpuKernelTiles(string Family, int BlockQ, int BlockKV);
