using System.Collections.Generic;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Planning;

/// <summary>Spec → plan for every target. Each target's decisions live in its own planner.</summary>
public static class Planner
{
    public static PlanningResult Plan(AttentionSpec spec)
    {
        var diagnostics = new List<SpecDiagnostic>();
        var cpu = CpuPlanner.Plan(spec, diagnostics);
        if (diagnostics.Exists(d => d.Descriptor.Severity == Severity.Error) || cpu is null)
        {
            return new PlanningResult(null, diagnostics.ToEquatableArray());
        }

        // The GPU kernels in order of increasing specialisation: the sm_80 family runs on every GPU since Ampere; the
        // sm_90a family, where it covers the spec, on Hopper only (and is preferred there).
        var kernels = new List<GpuKernelPlan>();
        if (GpuPlanner.Plan(spec, diagnostics) is { } portable)
        {
            kernels.Add(portable);
            if (GpuPlanner.PlanSm90a(spec) is { } sm90a)
            {
                kernels.Add(sm90a);
            }

            // [PagedKv] specs: the paged decode kernel and its split-KV merge (sm_80 family; see DecodePlanner).
            kernels.AddRange(DecodePlanner.Plan(spec, portable));

            // [Varlen] specs: each forward kernel again, over packed sequences (see VarlenPlanner).
            kernels.AddRange(VarlenPlanner.Plan(spec, kernels.ToArray()));
        }

        // The backward's kernels (for [Backward] specs) follow the forward's: kernels as data, one list.
        var (backward, exclusion) = GpuBackwardPlanner.Plan(spec, kernels.Count > 0 ? kernels[0] : null);
        kernels.AddRange(backward);
        var plan = new KernelPlan(spec, cpu, kernels.ToEquatableArray()) { GpuBackwardExclusion = exclusion };
        return new PlanningResult(plan, diagnostics.ToEquatableArray());
    }
}
