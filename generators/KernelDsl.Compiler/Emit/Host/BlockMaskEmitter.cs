using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Emit.Cpu;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Host;

/// <summary>
/// For specs with a mask modifier: <c>CreateBlockMask</c>, which classifies every (query block, KV block) pair of a call
/// shape as empty, partial or full by evaluating the band and the mask modifier (the kernel's own float C# method,
/// inlined) over the block's elements, and <c>CreateGpuBlockMask</c> with the GPU kernel's tiles. The device
/// <c>Forward</c> takes the result (<c>ToDevice()</c>) and then visits only the listed blocks. No file otherwise.
/// </summary>
public sealed class BlockMaskEmitter : IEmitter
{
    public GeneratedFile? Emit(KernelPlan plan)
    {
        var spec = plan.Spec;
        var mask = spec.MaskModifier;
        if (mask is null)
        {
            return null;
        }

        bool usesBatch = Reads(mask.Body, ModifierInput.Batch);
        bool usesHead = Reads(mask.Body, ModifierInput.Head);
        var w = new CodeWriter();
        w.Lines(TypeScope.FileHeader.TrimEnd('\n'));
        w.Line("// KernelDsl attention spec " + spec.Target.FullName + ": block masks from the mask modifier " + mask.MethodName + ".");
        w.Line();
        using (TypeScope.Open(w, spec.Target))
        {
            string buffers = string.Empty;
            string arguments = string.Empty;
            foreach (var buffer in mask.Buffers)
            {
                buffers += ", global::System.ReadOnlySpan<" + (buffer.ElementType == ExprType.Int ? "int" : "float") + "> " + buffer.Name;
                arguments += ", " + buffer.Name;
            }

            w.Line("/// <summary>");
            w.Line("/// Classifies every (query block, KV block) pair of <paramref name=\"shape\"/> for tiles of <paramref name=\"blockQ\"/> x");
            w.Line("/// <paramref name=\"blockKV\"/>: empty (skipped), partial (element mask) or full, by evaluating the built-in mask and");
            w.Line("/// " + mask.MethodName + " on every (q, kv) pair (Sq·Skv evaluations per distinct " + (usesBatch ? "batch and " : string.Empty) + (usesHead ? "head" : "(batch, head): the mask reads neither, so one mask serves all") + ", in parallel).");
            w.Line("/// Build it once per shape and buffer contents, and reuse it.");
            w.Line("/// </summary>");
            using (w.Block("public static unsafe global::KernelDsl.BlockMask CreateBlockMask(global::KernelDsl.AttentionShape shape, int blockQ, int blockKV" + buffers + ")"))
            {
                w.Line("shape.Validate();");
                foreach (var buffer in mask.Buffers)
                {
                    w.Line("global::KernelDsl.CapturedBuffers.RequireLength(nameof(" + buffer.Name + "), " + buffer.Name + ".Length, __Spec.Dims_" + buffer.Name + ", shape);");
                }

                foreach (var buffer in mask.Buffers)
                {
                    w.Line("fixed (" + (buffer.ElementType == ExprType.Int ? "int" : "float") + "* __pinned_" + buffer.Name + " = " + buffer.Name + ")");
                }

                using (w.Block())
                {
                    string pointers = string.Empty;
                    foreach (var buffer in mask.Buffers)
                    {
                        string type = buffer.ElementType == ExprType.Int ? "int" : "float";
                        w.Line("nint __address_" + buffer.Name + " = (nint)__pinned_" + buffer.Name + ";  // lambdas cannot capture pinned pointers");
                        pointers += ", (" + type + "*)__address_" + buffer.Name;
                    }

                    w.Line("var band = global::KernelDsl.MaskBand.For(__Spec.Mask, __Spec.Alignment, __Spec.WindowLeft, __Spec.WindowRight, shape.SeqQ, shape.SeqKv);");
                    w.Line("return global::KernelDsl.BlockMaskBuilder.Build(shape, blockQ, blockKV, " + (usesBatch ? "shape.Batch" : "1") + ", " + (usesHead ? "shape.HeadsQ" : "1") + ", (b, h, q0, q1, k0, k1) =>");
                    w.Line("{");
                    w.Line("    bool any = false, all = true;");
                    w.Line("    for (int q = q0; q < q1; q++)");
                    w.Line("    {");
                    w.Line("        for (int kv = k0; kv < k1; kv++)");
                    w.Line("        {");
                    w.Line("            bool keep = band.Keeps(q, kv) && __CpuKernel.MaskModifier(b, h, q, kv" + pointers + ");");
                    w.Line("            any |= keep;");
                    w.Line("            all &= keep;");
                    w.Line("            if (any && !all)");
                    w.Line("            {");
                    w.Line("                return global::KernelDsl.BlockKind.Partial;");
                    w.Line("            }");
                    w.Line("        }");
                    w.Line("    }");
                    w.Line();
                    w.Line("    return any ? global::KernelDsl.BlockKind.Full : global::KernelDsl.BlockKind.Empty;");
                    w.Line("});");
                }
            }

            w.Line();
            w.Line("/// <summary>The block mask for this spec's CPU kernel (its " + plan.Cpu.BlockQ + " x " + plan.Cpu.BlockKV + " tiles), for the CPU Forward.</summary>");
            w.Line("public static global::KernelDsl.BlockMask CreateCpuBlockMask(global::KernelDsl.AttentionShape shape" + buffers + ") =>");
            w.Line("    CreateBlockMask(shape, Plan.Parameters.CpuBlockQ, Plan.Parameters.CpuBlockKV" + arguments + ");");
            if (plan.Gpu is not null)
            {
                w.Line();
                if (plan.GpuHopper is null)
                {
                    w.Line("/// <summary>The block mask for this spec's GPU kernel (its " + plan.Gpu.BlockQ + " x " + plan.Gpu.BlockKV + " tiles); pass <c>.ToDevice()</c> of it to the device Forward.</summary>");
                    w.Line("public static global::KernelDsl.BlockMask CreateGpuBlockMask(global::KernelDsl.AttentionShape shape" + buffers + ") =>");
                    w.Line("    CreateBlockMask(shape, __GpuKernel.BlockQ, __GpuKernel.BlockKV" + arguments + ");");
                }
                else
                {
                    w.Line("/// <summary>");
                    w.Line("/// The block mask for the GPU kernel the device Forward launches on device 0: the Hopper kernel's " + plan.GpuHopper.BlockQ + " x " + plan.GpuHopper.BlockKV + " tiles on");
                    w.Line("/// compute capability 9.x, else the sm_80 kernel's " + plan.Gpu.BlockQ + " x " + plan.Gpu.BlockKV + " (also without a GPU); pass <c>.ToDevice()</c> of it to the device Forward.");
                    w.Line("/// </summary>");
                    w.Line("public static global::KernelDsl.BlockMask CreateGpuBlockMask(global::KernelDsl.AttentionShape shape" + buffers + ")");
                    w.Line("{");
                    w.Line("    var (blockQ, blockKV) = global::KernelDsl.Cuda.GpuKernelSelection.DefaultDeviceTiles(__GpuLaunch);");
                    w.Line("    return CreateBlockMask(shape, blockQ, blockKV" + arguments + ");");
                    w.Line("}");
                }
            }
        }

        return new GeneratedFile(spec.Target.FullName + ".BlockMask.g.cs", w.ToString());
    }

    private static bool Reads(ModifierBody body, ModifierInput input)
    {
        foreach (var local in body.Locals)
        {
            if (ExprPtxWriter.Uses(local.Value, input))
            {
                return true;
            }
        }

        return ExprPtxWriter.Uses(body.Result, input);
    }
}
