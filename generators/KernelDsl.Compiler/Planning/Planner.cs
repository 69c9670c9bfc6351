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

        return new PlanningResult(new KernelPlan(spec, cpu, GpuPlanner.Plan(spec, diagnostics)), diagnostics.ToEquatableArray());
    }
}
