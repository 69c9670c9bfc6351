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

        var gpu = GpuPlanner.Plan(spec, diagnostics);
        var plan = new KernelPlan(spec, cpu, gpu) { GpuHopper = gpu is null ? null : GpuPlanner.PlanHopper(spec) };
        return new PlanningResult(plan, diagnostics.ToEquatableArray());
    }
}
