using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// Emits <c>{FullName}.Gpu.g.cs</c>: inside the user's partial class, <c>private static class __GpuKernel</c> with
/// the sm_80-family PTX of the FlashAttention-2 forward kernel as a raw string, and its launch constants; for specs the
/// Hopper family covers also <c>__GpuKernelSm90a</c> (same ABI, sm_90a wgmma PTX). Specs without a GPU plan (FP32 inputs; head dims the GPU planner rejects) get no file.
/// </summary>
/// <remarks>
/// Kernel parameter ABI (see <see cref="PtxAbi"/>), in .param order:
/// u64 q, k, v, o, lse (0 = none); u32 seq_q, seq_kv, heads_q, heads_kv; u64 element strides
/// q_batch, q_seq, q_head, k_batch, k_seq, k_head, v_batch, v_seq, v_head, o_batch, o_seq, o_head.
/// Launch: grid = (ceil(Sq / BlockQ), Hq, B), block = (ThreadsPerBlock, 1, 1), dynamic shared memory =
/// SharedMemoryBytes (raise the function's max dynamic shared memory attribute first when over 48 KiB).
/// </remarks>
public sealed class PtxEmitter : IEmitter
{
    /// <summary>The nested class holding the Hopper-family kernel (specs with plan.GpuHopper).</summary>
    public const string HopperClassName = "__GpuKernelSm90a";

    public GeneratedFile? Emit(KernelPlan plan)
    {
        if (plan.Gpu is null)
        {
            return null;
        }

        var spec = plan.Spec;
        var w = new CodeWriter();
        w.Lines(TypeScope.FileHeader.TrimEnd('\n'));
        w.Line("// KernelDsl attention spec " + spec.Target.FullName + ": GPU kernel" + (plan.GpuHopper is null
            ? " (sm_80 PTX, FlashAttention-2 forward)."
            : "s (sm_80 PTX, and sm_90a PTX for Hopper; FlashAttention-2 forward)."));
        w.Line("// " + Host.PlanTextRenderer.SpecSummary(spec, plan.OutputType));
        w.Line();
        using (TypeScope.Open(w, spec.Target))
        {
            EmitKernelClass(w, plan, plan.Gpu, "__GpuKernel",
                "The GPU kernel of this spec: PTX (ISA 7.8, target sm_80; the driver JIT-compiles it for the GPU at hand)");
            if (plan.GpuHopper is not null)
            {
                w.Line();
                EmitKernelClass(w, plan, plan.GpuHopper, HopperClassName,
                    "The Hopper kernel of this spec: PTX (ISA 8.0, target sm_90a: wgmma), launched instead of __GpuKernel on compute capability 9.x");
            }
        }

        return new GeneratedFile(spec.Target.FullName + ".Gpu.g.cs", w.ToString());
    }

    /// <summary>The PTX text alone (for tools and tests).</summary>
    public static string? PtxFor(KernelPlan plan) => plan.Gpu is null ? null : Forward.ForwardKernel.Build(plan, plan.Gpu);

    /// <summary>The Hopper-family PTX alone (null when the plan has none).</summary>
    public static string? HopperPtxFor(KernelPlan plan) => plan.GpuHopper is null ? null : Forward.ForwardKernel.Build(plan, plan.GpuHopper);

    private static void EmitKernelClass(CodeWriter w, KernelPlan plan, GpuKernelPlan gpu, string className, string summary)
    {
        string ptx = Forward.ForwardKernel.Build(plan, gpu);
        w.Line("/// <summary>");
        w.Line("/// " + summary);
        w.Line("/// and its launch geometry.");
        w.Line("/// </summary>");
        w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"KernelDsl.Generators\", \"1.0\")]");
        using (w.Block("private static class " + className))
        {
            foreach (var line in PtxAbi.Comment.Split('\n'))
            {
                w.Line("// " + line);
            }

            w.Line("public const string EntryName = \"" + gpu.EntryName + "\";");
            w.Line("public const int ThreadsPerBlock = " + gpu.ThreadsPerBlock + ";");
            w.Line("public const int BlockQ = " + gpu.BlockQ + ";");
            w.Line("public const int BlockKV = " + gpu.BlockKV + ";");
            w.Line("public const int SharedMemoryBytes = " + gpu.Smem.TotalBytes + ";");
            w.Line("public const int EstimatedRegisters = " + gpu.EstimatedRegisters + ";");
            w.Line("public const float ScaleLog2 = " + TypeNames.FloatLiteral(gpu.ScaleLog2) + ";");
            w.Line();
            // A UTF-8 literal lives in the assembly's data section; a string literal would go to the metadata's user
            // string heap, which is capped at 16 MB per assembly — about 80 PTX kernels (CS8103 past that).
            w.Line("/// <summary>The PTX text (kept as UTF-8 data in the assembly, decoded once on first use).</summary>");
            w.Line("public static readonly string Ptx = global::System.Text.Encoding.UTF8.GetString(\"\"\"");
            foreach (var line in ptx.TrimEnd('\n').Split('\n'))
            {
                w.Line(line);
            }

            w.Line("\"\"\"u8);");
        }
    }
}
