using System.Globalization;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Cpu;

/// <summary>
/// Emits the fused CPU kernel (C#) for a plan: <c>__CpuKernel.Run</c>, FlashAttention-2 over
/// (batch, head, query block) work items. Every decision the spec allows is taken here, at build time:
/// tile sizes and the scratch layout are constants, fp32 inputs are read in place, and the mask code exists
/// only for masked specs, in the form of that mask. The hot loops are runtime helpers in KernelDsl.Cpu.
/// </summary>
public sealed class CpuEmitter : IEmitter
{
    public GeneratedFile? Emit(KernelPlan plan)
    {
        var spec = plan.Spec;
        var w = new CodeWriter();
        w.Lines(TypeScope.FileHeader.TrimEnd('\n'));
        w.Line("// KernelDsl attention spec " + spec.Target.FullName + ": the fused CPU kernel.");
        w.Line("// " + Host.PlanTextRenderer.SpecSummary(spec, plan.OutputType));
        w.Line(Invariant($"// Tiles of {plan.Cpu.BlockQ} queries x {plan.Cpu.BlockKV} keys; {plan.Cpu.WorkingSetBytes / 1024.0:F1} KiB of fp32 scratch per worker thread."));
        w.Line();
        using (TypeScope.Open(w, spec.Target))
        {
            w.Line("/// <summary>");
            w.Line("/// FlashAttention-2 on the CPU. Work items are (batch, query head, query block); each keeps its query block's");
            w.Line("/// Qᵀ, running statistics and output accumulator in fp32 scratch and streams the K/V blocks its mask keeps,");
            w.Line("/// so memory stays O(BlockQ·D + BlockKV·D) per thread and the Sq×Skv score matrix never exists.");
            w.Line("/// </summary>");
            w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"KernelDsl.Generators\", \"1.0\")]");
            using (w.Block("private static unsafe class __CpuKernel"))
            {
                var kernel = new CpuKernelWriter(w, plan);
                kernel.Constants();
                w.Line();
                kernel.Dispatch();
                w.Line();
                kernel.Schedule();
                w.Line();
                kernel.QueryBlock();
                kernel.Modifiers();
                kernel.CapturedStruct();
            }
        }

        return new GeneratedFile(spec.Target.FullName + ".Cpu.g.cs", w.ToString());
    }

    private static string Invariant(System.FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
