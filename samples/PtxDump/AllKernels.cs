using System.Collections.Generic;
using System.IO;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.PtxDump;

/// <summary>
/// --all: writes the PTX of every kernel the compiler tests build (the ptxas gate's matrices: plain, modifier and
/// captured-buffer specs; each spec's sm_80 kernel, its Hopper kernel forced on, its block-mask builder and each
/// modifier alone), plus the device harness's SpecMatrix with its variants, one file per kernel. Two such folders,
/// written before and after a refactor of the PTX emitter, are compared by samples/PtxDump/compare-ptx.sh, which
/// ignores register names, comments and whitespace only.
/// </summary>
/// <remarks>Uses only the emitter's public entry points, so the same file builds against older commits too.</remarks>
public static class AllKernels
{
    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        var specs = new List<AttentionSpec>();
        specs.AddRange(KernelDsl.Compiler.Tests.Specs.PtxMatrix());
        specs.AddRange(KernelDsl.Compiler.Tests.Modifiers.PtxMatrix());
        specs.AddRange(KernelDsl.Compiler.Tests.Modifiers.CapturedPtxMatrix());
        specs.AddRange(KernelDsl.Compiler.Tests.Modifiers.BlockMaskBuilderMatrix());
        specs.AddRange(SpecMatrix.All());
        int count = 0;
        foreach (var spec in specs)
        {
            var plan = Planner.Plan(spec).Plan;
            if (plan?.PortableGpuKernel() is null)
            {
                continue;
            }

            string name = plan.PortableGpuKernel()!.EntryName;
            count += Save(dir, name + ".sm80.ptx", PtxEmitter.PtxFor(plan));
            count += Save(dir, name + ".hopper-default.ptx", plan.GpuKernel(GpuFamily.Sm90a) is { } sm90a ? PtxEmitter.PtxFor(plan, sm90a) : null);
            var forced = GpuPlanner.PlanSm90a(spec, new GpuTuning(Family: GpuFamily.Sm90a));
            if (forced is not null)
            {
                count += Save(dir, name + ".sm90a.ptx", PtxEmitter.PtxFor(plan, forced));
            }

            count += Save(dir, name + ".blockmask.ptx", BlockMaskPtx.PtxFor(plan));
            // Alone, a modifier has no captured-buffer parameters: only buffer-free ones have a standalone kernel.
            if (spec.CapturedBuffers.Count > 0)
            {
                continue;
            }

            if (spec.ScoreModifier is { } score)
            {
                count += Save(dir, name + ".scoremod.ptx", ModifierPtx.Standalone(score));
            }

            if (spec.MaskModifier is { } mask)
            {
                count += Save(dir, name + ".maskmod.ptx", ModifierPtx.Standalone(mask));
            }
        }

        // The paged decode kernels (issue 11): each [PagedKv] spec's decode and split-KV merge kernels.
        foreach (var spec in KernelDsl.Compiler.Tests.DecodeSpecs.Matrix())
        {
            var plan = Planner.Plan(spec).Plan!;
            foreach (var kind in new[] { GpuKernelKind.Decode, GpuKernelKind.DecodeMerge })
            {
                if (plan.PortableGpuKernel(kind) is { } kernel)
                {
                    count += Save(dir, kernel.EntryName + ".ptx", PtxEmitter.PtxFor(plan, kernel));
                }
            }
        }

        // The varlen forward kernels (issue 11): each [Varlen] spec's forward over packed sequences, both families.
        foreach (var spec in KernelDsl.Compiler.Tests.VarlenSpecs.Matrix())
        {
            var plan = Planner.Plan(spec).Plan!;
            foreach (var kernel in plan.GpuKernelsOf(GpuKernelKind.ForwardVarlen))
            {
                count += Save(dir, kernel.EntryName + ".ptx", PtxEmitter.PtxFor(plan, kernel));
            }
        }

        var tunings = new List<(AttentionSpec Spec, GpuTuning Tuning)>(SpecMatrix.Variants());
        foreach (var (spec, tuning) in SpecMatrix.HopperVariants())
        {
            tunings.Add((spec, tuning!));
        }

        foreach (var (spec, tuning) in tunings)
        {
            var plan = Planner.Plan(spec).Plan;
            var gpu = plan is null ? null : GpuPlanner.Plan(spec, new List<KernelDsl.Compiler.Diagnostics.SpecDiagnostic>(), tuning);
            if (plan is not null && gpu is not null)
            {
                count += Save(dir, gpu.EntryName + ".tuned.ptx", PtxEmitter.PtxFor(plan, gpu));
            }
        }

        // The backward's kernels (preprocess, dK/dV, dQ) of the backward matrix. The public entry points only, via the
        // plan's kernel list; older commits have no backward kinds and write none of these.
        foreach (var spec in KernelDsl.Compiler.Tests.Specs.BackwardMatrix())
        {
            var plan = Planner.Plan(spec).Plan;
            foreach (var kernel in plan?.GpuKernels ?? EquatableArray<GpuKernelPlan>.Empty)
            {
                if (kernel.Kind != GpuKernelKind.Forward)
                {
                    count += Save(dir, kernel.EntryName + ".ptx", PtxEmitter.PtxFor(plan!, kernel));
                }
            }
        }

        System.Console.WriteLine(count + " kernels written to " + dir);
    }

    private static int Save(string dir, string file, string? ptx)
    {
        if (ptx is null)
        {
            return 0;
        }

        File.WriteAllText(Path.Combine(dir, file), ptx);
        return 1;
    }
}
