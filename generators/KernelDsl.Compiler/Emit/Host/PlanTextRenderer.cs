using System.Globalization;
using System.Text;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Host;

/// <summary>
/// Renders the build-time part of a plan as the human-readable text behind <c>Plan.ToString()</c>.
/// Shape-dependent numbers (FLOPs, bytes) are computed at run time by KernelDsl.WorkloadEstimate.
/// </summary>
public static class PlanTextRenderer
{
    public static string Render(KernelPlan plan)
    {
        var spec = plan.Spec;
        var s = new StringBuilder();
        s.Append("Attention plan for ").Append(spec.Target.FullName).Append('\n');
        s.Append("  spec         ").Append(SpecSummary(spec, plan.OutputType)).Append('\n');
        s.Append(System.FormattableString.Invariant($"  softmax      scale {spec.EffectiveScale:R}{(spec.Scale is null ? " (1/sqrt(HeadDim))" : string.Empty)}, exp2 with log2(e) folded in: {spec.EffectiveScale * Constants.Log2E:R}\n"));
        var cpu = plan.Cpu;
        s.Append(System.FormattableString.Invariant($"  cpu kernel   tiles {cpu.BlockQ} query rows x {cpu.BlockKV} keys; FP32 working set {cpu.WorkingSetBytes / 1024.0:F1} KiB per thread (L1 {cpu.L1Bytes / 1024} KiB, L2 {cpu.L2Bytes / 1024} KiB assumed)\n"));
        s.Append("               grid: (batch, head, query block) work items over all cores; KV blocks outside the mask band skipped\n");
        if (spec.MaskModifier is not null)
        {
            s.Append("  block mask   the mask modifier's own sparsity is skipped only with a runtime block mask (CreateCpuBlockMask /\n");
            s.Append("               CreateGpuBlockMask, passed to Forward); Plan.For(shape, blockMask) reports its density and FLOPs\n");
        }

        foreach (var buffer in spec.CapturedBuffers)
        {
            s.Append("  captured     ").Append(buffer.Name).Append(": ").Append(buffer.ElementType == Model.Expressions.ExprType.Int ? "int" : "float")
             .Append('[').Append(string.Join(", ", buffer.Dims)).Append("], length checked per call; indices are not checked by the kernels\n");
        }
        var kernels = System.Linq.Enumerable.ToList(plan.GpuKernelsOf(GpuKernelKind.Forward));
        if (kernels.Count == 0)
        {
            s.Append("  gpu kernel   none (" + NoGpuReason(plan) + ")\n");
        }

        for (int i = 0; i < kernels.Count; i++)
        {
            if (i > 0)
            {
                s.Append("  gpu family   " + GpuFamilies.Devices(kernels[i].Family) + " runs the " + kernels[i].PtxTarget + " kernel below; other GPUs the " + kernels[i - 1].PtxTarget + " kernel above\n");
            }

            s.Append(kernels[i].Describe());
        }

        if (kernels.Count == 1)
        {
            s.Append("  gpu family   the sm_80 kernel runs on every GPU, Hopper included (no sm_90a kernel: " + (GpuPlanner.Sm90aExclusion(plan.Spec) ?? "its tiles do not fit") + ")\n");
        }

        if (spec.Backward is not null)
        {
            AppendBackward(s, plan);
        }

        // [PagedKv] specs: the paged decode kernel and its split-KV merge; [Varlen] specs: the varlen forward (sm_80 family on every GPU; issue 11).
        // [Fusion(AppendKv = true)] specs also the fused decode-append kernel (issue 12).
        foreach (var kind in new[] { GpuKernelKind.Decode, GpuKernelKind.DecodeAppend, GpuKernelKind.RotateAppend, GpuKernelKind.DecodeMerge, GpuKernelKind.ForwardVarlen })
        {
            foreach (var kernel in plan.GpuKernelsOf(kind))
            {
                s.Append(kernel.Describe());
            }
        }

        if (spec.HasDecodeAppend && plan.PortableGpuKernel(GpuKernelKind.Decode) is not null && !DecodePlanner.HasAppendKernel(spec))
        {
            s.Append("  gpu append   none: DecodeAppend runs on the CPU only at head dims above " + DecodePlanner.MaxAppendHeadDim + " (the decode kernel's registers are full there)\n");
        }

        return s.ToString();
    }

    /// <summary>The backward's kernels (or why the GPU has none), and its work per call shape as formulas.</summary>
    private static void AppendBackward(StringBuilder s, KernelPlan plan)
    {
        if (!plan.HasGpuBackward)
        {
            s.Append("  gpu backward none (" + (plan.GpuBackwardExclusion ?? "no GPU kernels") + "); the CPU Backward runs\n");
            return;
        }

        bool atomic = plan.PortableGpuKernel(GpuKernelKind.BackwardKeyValueAtomic) is not null;
        s.Append(atomic
            ? "  gpu backward atomic-dQ mode (default): preprocess, dK/dV + dQ by red.global.add, dQ conversion; deterministic mode (deterministic: true): preprocess, dK/dV, dQ (sm_80 family, every GPU since Ampere)\n"
            : "  gpu backward preprocess, dK/dV, dQ (sm_80 family, every GPU since Ampere; [Backward(Deterministic = true)]: no atomics, bit-identical on every run)\n");
        var kinds = atomic
            ? new[] { GpuKernelKind.BackwardPreprocess, GpuKernelKind.BackwardKeyValue, GpuKernelKind.BackwardQuery, GpuKernelKind.BackwardKeyValueAtomic, GpuKernelKind.BackwardQueryConvert }
            : new[] { GpuKernelKind.BackwardPreprocess, GpuKernelKind.BackwardKeyValue, GpuKernelKind.BackwardQuery };
        foreach (var kind in kinds)
        {
            s.Append(plan.PortableGpuKernel(kind)!.Describe());
        }

        s.Append(atomic
            ? "  bwd flops    counted 2.5 x the forward's (S, dP, dV, dK, dQ: 10*B*Hq*Sq*Skv*D, halved for causal); executed 2.5 x in the atomic-dQ mode, 3.5 x in the deterministic mode (its dQ kernel recomputes S and dP)\n"
            : "  bwd flops    counted 2.5 x the forward's (S, dP, dV, dK, dQ: 10*B*Hq*Sq*Skv*D, halved for causal); executed 3.5 x (the dQ kernel recomputes S and dP)\n");
        s.Append("  bwd bytes    read Q, K, V, O, dO, LSE once per kernel that needs them (K, V again per query block in dQ; Q, dO per key block in dK/dV), write dQ, dK, dV and 2 fp32 per query row of workspace"
                 + (atomic ? "; atomic-dQ mode: instead of the dQ kernel's reads, fp32 adds of D per query row per key block into the accumulator, then one read of it" : string.Empty) + "\n");
        s.Append("  bwd workspace " + GpuBackwardPlanner.WorkspaceFormula(plan.Spec, deterministic: true) + " in the deterministic mode"
                 + (atomic ? "; " + GpuBackwardPlanner.WorkspaceFormula(plan.Spec, deterministic: false) + " in the atomic-dQ mode" : string.Empty) + "\n");
    }

    private static string NoGpuReason(KernelPlan plan) =>
        plan.Spec.InputType == ElementType.FP32 ? "FP32 inputs have no tensor-core path; use FP16 or BF16"
        : "head dims outside the GPU planner's limits, see the build warning";

    public static string SpecSummary(AttentionSpec spec, ElementType outputType)
    {
        var s = new StringBuilder();
        s.Append("HeadDim ").Append(spec.HeadDim);
        if (spec.ValueHeadDim != spec.HeadDim)
        {
            s.Append(", ValueHeadDim ").Append(spec.ValueHeadDim);
        }

        s.Append(", ").Append(spec.InputType).Append(" in, ").Append(outputType).Append(" out, FP32 accumulation, ").Append(spec.Layout);
        s.Append(", mask ").Append(MaskSummary(spec.Mask));
        if (spec.Epilogue.WriteLse)
        {
            s.Append(", writes LSE");
        }

        if (spec.HasDecodeAppend)
        {
            var prologue = spec.Prologue!;
            s.Append(", decode prologue: ");
            if (prologue.Rotary is { } rotary)
            {
                s.Append("rotary ").Append(rotary).Append(" on ").Append(prologue.EffectiveRotaryDim(spec.HeadDim)).Append(" features, base ")
                 .Append(prologue.EffectiveRotaryBase.ToString("R", CultureInfo.InvariantCulture)).Append(", then ");
            }

            s.Append("KV append");
        }

        if (spec.ScoreModifier is not null)
        {
            s.Append(", score modifier ").Append(spec.ScoreModifier.MethodName);
        }

        if (spec.MaskModifier is not null)
        {
            s.Append(", mask modifier ").Append(spec.MaskModifier.MethodName).Append(" (FLOP counts below use the built-in mask only)");
        }

        return s.ToString();
    }

    public static string MaskSummary(MaskSpec mask) => mask.Kind switch
    {
        MaskKind.None => "none",
        MaskKind.Causal => "causal (" + mask.Alignment + ")",
        _ => "sliding window left " + Bound(mask.BandLeft) + ", right " + Bound(mask.BandRight) + " (" + mask.Alignment + ")",
    };

    private static string Bound(int value) => value < 0 ? "unbounded" : value.ToString(CultureInfo.InvariantCulture);
}
