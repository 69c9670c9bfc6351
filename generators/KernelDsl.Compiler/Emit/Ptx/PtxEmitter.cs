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
    public GeneratedFile? Emit(KernelPlan plan)
    {
        if (!plan.HasGpu)
        {
            return null;
        }

        var spec = plan.Spec;
        var w = new CodeWriter();
        w.Lines(TypeScope.FileHeader.TrimEnd('\n'));
        int forwardKernels = System.Linq.Enumerable.Count(plan.GpuKernelsOf(GpuKernelKind.Forward));
        w.Line("// KernelDsl attention spec " + spec.Target.FullName + ": GPU kernel" + (forwardKernels == 1
            ? " (sm_80 PTX, FlashAttention-2 forward)"
            : "s (sm_80 PTX, and sm_90a PTX for Hopper; FlashAttention-2 forward)") + (plan.HasGpuBackward
            ? (plan.PortableGpuKernel(GpuKernelKind.BackwardKeyValueAtomic) is null
                ? "; the backward's preprocess, dK/dV and dQ kernels (sm_80 PTX)."
                : "; the backward's preprocess, dK/dV and dQ kernels and the atomic-dQ mode's dK/dV+dQ and dQ conversion kernels (sm_80 PTX).")
            : "."));
        w.Line("// " + Host.PlanTextRenderer.SpecSummary(spec, plan.OutputType));
        w.Line();
        using (TypeScope.Open(w, spec.Target))
        {
            bool first = true;
            foreach (var kernel in plan.GpuKernels)
            {
                if (!first)
                {
                    w.Line();
                }

                EmitKernelClass(w, plan, kernel, KernelClassName(kernel), kernel.Kind != GpuKernelKind.Forward
                    ? (kernel.Kind == GpuKernelKind.Decode
                        ? "The paged decode kernel of this spec (sm_80 PTX, mma.sync; every GPU since Ampere, Hopper included): GQA-packed rows, warps splitting the KV range, split-KV partials to a workspace"
                        : kernel.Kind == GpuKernelKind.DecodeAppend
                        ? "The fused decode step of this spec (DecodeAppend): the decode kernel with the new tokens' rotary and KV append in the same launch"
                        : kernel.Kind == GpuKernelKind.RotateAppend
                        ? "The unfused decode prologue of this spec (RotateAppend): rotary of q and k, k and v into their pages, as a launch of its own"
                        : kernel.Kind == GpuKernelKind.DecodeMerge
                        ? "The split-KV merge kernel of this spec's decode: partial (O, LSE) combined by their LSE"
                        : kernel.Kind == GpuKernelKind.ForwardVarlen
                        ? (kernel.Family == GpuFamily.Sm90a
                            ? "The sm_90a varlen forward kernel of this spec (wgmma), launched instead of __GpuForwardVarlenKernel on " + GpuFamilies.Devices(kernel.Family) + ": the forward over packed sequences, rows found through cu_seqlens"
                            : "The varlen forward kernel of this spec (sm_80 PTX, mma.sync; every GPU since Ampere): the forward over packed sequences, rows found through cu_seqlens")
                        : "The backward's " + BackwardRole(kernel.Kind) + " kernel of this spec: PTX (ISA " + kernel.PtxVersion + ", target " + kernel.PtxTarget + ")")
                    : first
                    ? "The GPU kernel of this spec: PTX (ISA " + kernel.PtxVersion + ", target " + kernel.PtxTarget + "; the driver JIT-compiles it for the GPU at hand)"
                    : "The " + kernel.PtxTarget + " kernel of this spec: PTX (ISA " + kernel.PtxVersion + ", target " + kernel.PtxTarget + ": wgmma), launched instead of " + KernelClassName(plan.GpuKernels[0]) + " on " + GpuFamilies.Devices(kernel.Family));
                first = false;
            }
        }

        return new GeneratedFile(spec.Target.FullName + ".Gpu.g.cs", w.ToString());
    }

    /// <summary>The generated nested class holding one kernel of the plan's list: <c>__GpuKernel</c> plus its family's suffix.</summary>
    public static string KernelClassName(GpuKernelPlan kernel) => kernel.Kind switch
    {
        GpuKernelKind.BackwardPreprocess => "__GpuBackwardPreprocess",
        GpuKernelKind.BackwardKeyValue => "__GpuBackwardKeyValue",
        GpuKernelKind.BackwardQuery => "__GpuBackwardQuery",
        GpuKernelKind.BackwardKeyValueAtomic => "__GpuBackwardKeyValueAtomicDq",
        GpuKernelKind.BackwardQueryConvert => "__GpuBackwardQueryConvert",
        GpuKernelKind.Decode => "__GpuDecodeKernel",
        GpuKernelKind.DecodeMerge => "__GpuDecodeMergeKernel",
        GpuKernelKind.ForwardVarlen => "__GpuForwardVarlenKernel" + GpuFamilies.NameSuffix(kernel.Family),
        GpuKernelKind.DecodeAppend => "__GpuDecodeAppendKernel",
        GpuKernelKind.RotateAppend => "__GpuRotateAppendKernel",
        _ => "__GpuKernel" + GpuFamilies.NameSuffix(kernel.Family),
    };

    private static string BackwardRole(GpuKernelKind kind) => kind switch
    {
        GpuKernelKind.BackwardPreprocess => "preprocess (delta = rowsum(dO * O), LSE in base 2)",
        GpuKernelKind.BackwardKeyValue => "dK/dV",
        GpuKernelKind.BackwardKeyValueAtomic => "atomic-dQ mode dK/dV (+ dQ by red.global.add)",
        GpuKernelKind.BackwardQueryConvert => "atomic-dQ mode dQ conversion (fp32 accumulator to dQ)",
        _ => "dQ",
    };

    /// <summary>The PTX text of the plan's first (portable) kernel alone (for tools and tests).</summary>
    public static string? PtxFor(KernelPlan plan) => plan.PortableGpuKernel() is { } kernel ? PtxFor(plan, kernel) : null;

    /// <summary>The PTX text of one kernel of the plan's list.</summary>
    public static string PtxFor(KernelPlan plan, GpuKernelPlan kernel) => kernel.Kind switch
    {
        GpuKernelKind.Forward or GpuKernelKind.ForwardVarlen => Forward.ForwardKernel.Build(plan, kernel),
        GpuKernelKind.Decode or GpuKernelKind.DecodeAppend => Decode.DecodeKernel.Build(plan, kernel),
        GpuKernelKind.DecodeMerge => Decode.DecodeMergeKernel.Build(plan, kernel),
        GpuKernelKind.RotateAppend => Decode.RotateAppendKernel.Build(plan, kernel),
        _ => Backward.BackwardKernel.Build(plan, kernel),
    };

    private static void EmitKernelClass(CodeWriter w, KernelPlan plan, GpuKernelPlan gpu, string className, string summary)
    {
        string ptx = PtxFor(plan, gpu);
        w.Line("/// <summary>");
        w.Line("/// " + summary);
        w.Line("/// and its launch geometry.");
        w.Line("/// </summary>");
        w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"KernelDsl.Generators\", \"1.0\")]");
        using (w.Block("private static class " + className))
        {
            string comment = gpu.Kind == GpuKernelKind.Forward
                ? PtxAbi.Comment
                : gpu.Kind is GpuKernelKind.Decode or GpuKernelKind.DecodeMerge or GpuKernelKind.DecodeAppend or GpuKernelKind.RotateAppend
                ? PtxAbi.DecodeComment(gpu.Kind)
                : gpu.Kind == GpuKernelKind.ForwardVarlen
                ? PtxAbi.VarlenComment
                : "params (in order): " + string.Join(", ", System.Linq.Enumerable.Select(gpu.Abi.Parameters, p => p.PtxType + " " + p.Name)) + ".";
            foreach (var line in comment.Split('\n'))
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
