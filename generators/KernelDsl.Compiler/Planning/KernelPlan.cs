using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// The planner's decisions for one spec, per target. Emitters read only this (and the spec inside it):
/// no emitter re-derives a tile size or a constant. <c>Gpu</c> is null when the spec has no GPU kernel
/// (FP32 inputs, or head dims the GPU planner rejects with a warning). <c>GpuHopper</c> is the Hopper-family
/// (sm_90a, wgmma) kernel for the specs it covers; the runtime launches it on compute capability 9.x devices, and the
/// sm_80-family <c>Gpu</c> kernel everywhere else.
/// </summary>
public sealed record KernelPlan(AttentionSpec Spec, CpuKernelPlan Cpu, GpuKernelPlan? Gpu = null)
{
    /// <summary>The Hopper-family kernel (null when the spec has no GPU kernel or the family does not cover it).</summary>
    public GpuKernelPlan? GpuHopper { get; init; }

    /// <summary>The output element type after defaulting (the input type unless the epilogue says FP32).</summary>
    public ElementType OutputType => Spec.Epilogue.OutputType ?? Spec.InputType;
}

/// <summary>Result of planning: a plan, or diagnostics saying why nothing fits.</summary>
public sealed record PlanningResult(KernelPlan? Plan, EquatableArray<SpecDiagnostic> Diagnostics);
