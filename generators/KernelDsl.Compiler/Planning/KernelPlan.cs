using System.Collections.Generic;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// The planner's decisions for one spec, per target. Emitters read only this (and the spec inside it):
/// no emitter re-derives a tile size or a constant. <see cref="GpuKernels"/> lists the spec's GPU kernels, one per
/// kind and family it covers, each with its tiles, resources and ABI decisions; empty when the spec has no GPU kernel
/// (FP32 inputs, or head dims the GPU planner rejects with a warning). The list is in order of increasing
/// specialisation: the first kernel of a kind runs on every supported GPU, a later one only on the devices its family
/// names, where the runtime prefers it (KernelDsl.Cuda.GpuKernelSelection).
/// </summary>
public sealed record KernelPlan(AttentionSpec Spec, CpuKernelPlan Cpu, EquatableArray<GpuKernelPlan> GpuKernels)
{
    public KernelPlan(AttentionSpec spec, CpuKernelPlan cpu)
        : this(spec, cpu, EquatableArray<GpuKernelPlan>.Empty)
    {
    }

    /// <summary>Why a [Backward] spec has no GPU backward kernels (null when it has them, or has no [Backward]).</summary>
    public string? GpuBackwardExclusion { get; init; }

    /// <summary>The output element type after defaulting (the input type unless the epilogue says FP32).</summary>
    public ElementType OutputType => Spec.Epilogue.OutputType ?? Spec.InputType;

    /// <summary>True when the spec has any GPU kernel.</summary>
    public bool HasGpu => GpuKernels.Count > 0;

    /// <summary>True when the spec has the GPU backward's kernels.</summary>
    public bool HasGpuBackward => PortableGpuKernel(GpuKernelKind.BackwardQuery) is not null;

    /// <summary>The kernels of one kind, in the list's order (the first runs on every supported GPU).</summary>
    public IEnumerable<GpuKernelPlan> GpuKernelsOf(GpuKernelKind kind)
    {
        foreach (var kernel in GpuKernels)
        {
            if (kernel.Kind == kind)
            {
                yield return kernel;
            }
        }
    }

    /// <summary>The kernel of a kind and family, or null when the plan has none.</summary>
    public GpuKernelPlan? GpuKernel(GpuFamily family, GpuKernelKind kind = GpuKernelKind.Forward)
    {
        foreach (var kernel in GpuKernels)
        {
            if (kernel.Kind == kind && kernel.Family == family)
            {
                return kernel;
            }
        }

        return null;
    }

    /// <summary>The first kernel of a kind: the one every supported GPU runs (null when the plan has none).</summary>
    public GpuKernelPlan? PortableGpuKernel(GpuKernelKind kind = GpuKernelKind.Forward)
    {
        foreach (var kernel in GpuKernelsOf(kind))
        {
            return kernel;
        }

        return null;
    }
}

/// <summary>Result of planning: a plan, or diagnostics saying why nothing fits.</summary>
public sealed record PlanningResult(KernelPlan? Plan, EquatableArray<SpecDiagnostic> Diagnostics);
