using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Emit.Cpu;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Host;

/// <summary>
/// For specs with a mask modifier: <c>CreateBlockMask</c>, which classifies every (query block, KV block) pair of a call
/// shape as empty, partial or full by evaluating the band and the mask modifier (the kernel's own float C# method,
/// inlined) over the block's elements, and <c>CreateGpuBlockMask</c> with the GPU kernel's tiles; for specs with a GPU
/// kernel also <c>CreateBlockMaskOnDevice</c> / <c>CreateGpuBlockMaskOnDevice</c>, the same classification by a generated
/// GPU builder kernel (<see cref="BlockMaskPtx"/>). The device <c>Forward</c> takes the result (<c>ToDevice()</c>) and
/// then visits only the listed blocks. No file otherwise.
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

        bool usesBatch = mask.Body.Reads(ModifierInput.Batch);
        bool usesHead = mask.Body.Reads(ModifierInput.Head);
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
                w.Line("shape.ValidateNonEmpty();");
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
                        w.Line("var __span_" + buffer.Name + " = " + HostEmitter.CapturedSpan(buffer, "__pinned_" + buffer.Name) + ";  // bounds-checked reads; a lambda may capture the struct, not a pointer");
                        pointers += ", __span_" + buffer.Name;
                    }

                    w.Line("var band = global::KernelDsl.MaskBand.For(__Spec.Mask, __Spec.Alignment, __Spec.WindowLeft, __Spec.WindowRight, shape.SeqQ, shape.SeqKv);");
                    w.Line("return global::KernelDsl.BlockMaskBuilder.Build(shape, blockQ, blockKV, perBatch: " + (usesBatch ? "true" : "false") + ", perHead: " + (usesHead ? "true" : "false") + ", (b, h, q0, q1, k0, k1) =>");
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
            if (plan.HasGpu)
            {
                w.Line();
                var forward = System.Linq.Enumerable.ToList(plan.GpuKernelsOf(GpuKernelKind.Forward));
                if (forward.Count == 1)
                {
                    w.Line("/// <summary>The block mask for this spec's GPU kernel (its " + forward[0].BlockQ + " x " + forward[0].BlockKV + " tiles); pass <c>.ToDevice()</c> of it to the device Forward.</summary>");
                    w.Line("public static global::KernelDsl.BlockMask CreateGpuBlockMask(global::KernelDsl.AttentionShape shape" + buffers + ") =>");
                    w.Line("    CreateBlockMask(shape, " + Ptx.PtxEmitter.KernelClassName(forward[0]) + ".BlockQ, " + Ptx.PtxEmitter.KernelClassName(forward[0]) + ".BlockKV" + arguments + ");");
                }
                else
                {
                    w.Line("/// <summary>");
                    w.Line("/// The block mask for the GPU kernel the device Forward launches on device 0: " + HostEmitter.TilesByDevice(forward) + " (also without a GPU);");
                    w.Line("/// pass <c>.ToDevice()</c> of it to the device Forward.");
                    w.Line("/// </summary>");
                    w.Line("public static global::KernelDsl.BlockMask CreateGpuBlockMask(global::KernelDsl.AttentionShape shape" + buffers + ")");
                    w.Line("{");
                    w.Line("    var (blockQ, blockKV) = global::KernelDsl.Cuda.GpuKernelSelection.Tiles(" + HostEmitter.ForwardKernelsField + ");");
                    w.Line("    return CreateBlockMask(shape, blockQ, blockKV" + arguments + ");");
                    w.Line("}");
                }

                EmitDeviceBuilder(w, plan, mask, usesBatch, usesHead);
            }
        }

        return new GeneratedFile(spec.Target.FullName + ".BlockMask.g.cs", w.ToString());
    }

    /// <summary>
    /// <c>CreateBlockMaskOnDevice</c> / <c>CreateGpuBlockMaskOnDevice</c>: the same classification by the generated
    /// builder kernel (<see cref="BlockMaskPtx"/>) on the GPU, from the device copies of the captured buffers, and the
    /// kernel's PTX and launch constants in <c>__GpuBlockMaskKernel</c>.
    /// </summary>
    private static void EmitDeviceBuilder(CodeWriter w, KernelPlan plan, ModifierSpec mask, bool usesBatch, bool usesHead)
    {
        string buffers = string.Empty;
        string arguments = string.Empty;
        var captured = new System.Collections.Generic.List<string>();
        foreach (var buffer in mask.Buffers)
        {
            buffers += ", global::KernelDsl.DeviceBuffer<" + (buffer.ElementType == ExprType.Int ? "int" : "float") + "> " + buffer.Name;
            arguments += ", " + buffer.Name;
            captured.Add("new global::KernelDsl.CapturedDeviceBuffer(nameof(" + buffer.Name + "), __Spec.Dims_" + buffer.Name + ", " + buffer.Name + ".DevicePointer, " + buffer.Name + ".Length) { Context = " + buffer.Name + ".Context }");
        }

        const string Tail = ", global::KernelDsl.Cuda.CudaStream? stream = null, global::KernelDsl.Cuda.CudaContext? context = null";
        w.Line();
        w.Line("/// <summary>");
        w.Line("/// The same block mask as <see cref=\"CreateBlockMask\"/>, classified on the GPU by this spec's generated builder kernel");
        w.Line("/// (band and " + mask.MethodName + " on every (q, kv) pair, one CTA per block pair) from the device copies of the buffers;");
        w.Line("/// the per-block classification (one byte per block pair) is downloaded and listed on the CPU. Tile sizes: powers of two, 16-256.");
        w.Line("/// Runs on <paramref name=\"stream\"/> (the default stream when null) and waits for it; the context is <paramref name=\"context\"/>,");
        w.Line("/// else the stream's" + (mask.Buffers.Count > 0 ? ", else the buffers'" : string.Empty) + ", else device 0's. Pass <c>.ToDevice()</c> of the result to the device Forward.");
        w.Line("/// </summary>");
        using (w.Block("public static global::KernelDsl.BlockMask CreateBlockMaskOnDevice(global::KernelDsl.AttentionShape shape, int blockQ, int blockKV" + buffers + Tail + ")"))
        {
            foreach (var buffer in mask.Buffers)
            {
                w.Line("global::System.ArgumentNullException.ThrowIfNull(" + buffer.Name + ");");
            }

            w.Line("var band = global::KernelDsl.MaskBand.For(__Spec.Mask, __Spec.Alignment, __Spec.WindowLeft, __Spec.WindowRight, shape.SeqQ, shape.SeqKv);");
            w.Line("return global::KernelDsl.Cuda.BlockMaskLauncher.Build(");
            w.Line("    __GpuBlockMaskKernel.Info, shape, blockQ, blockKV, band,");
            w.Line("    " + (captured.Count == 0 ? "null" : "new[] { " + string.Join(", ", captured) + " }") + ", context, stream);");
        }

        w.Line();
        w.Line("/// <summary>");
        var forward = System.Linq.Enumerable.ToList(plan.GpuKernelsOf(GpuKernelKind.Forward));
        if (forward.Count == 1)
        {
            w.Line("/// <see cref=\"CreateBlockMaskOnDevice\"/> for this spec's GPU kernel (its " + forward[0].BlockQ + " x " + forward[0].BlockKV + " tiles): equal to <see cref=\"CreateGpuBlockMask\"/>.");
        }
        else
        {
            w.Line("/// <see cref=\"CreateBlockMaskOnDevice\"/> for the GPU kernel the device Forward launches on the builder's device:");
            w.Line("/// " + HostEmitter.TilesByDevice(forward) + " (on device 0: equal to <see cref=\"CreateGpuBlockMask\"/>).");
        }

        w.Line("/// </summary>");
        using (w.Block("public static global::KernelDsl.BlockMask CreateGpuBlockMaskOnDevice(global::KernelDsl.AttentionShape shape" + buffers + Tail + ")"))
        {
            w.Line("shape.ValidateNonEmpty();");
            foreach (var buffer in mask.Buffers)
            {
                w.Line("global::System.ArgumentNullException.ThrowIfNull(" + buffer.Name + ");");
            }

            string device = "context ?? stream?.Context" + (mask.Buffers.Count > 0 ? " ?? " + mask.Buffers[0].Name + ".Context" : string.Empty);
            w.Line("var (blockQ, blockKV) = global::KernelDsl.Cuda.GpuKernelSelection.Tiles(" + HostEmitter.ForwardKernelsField + ", " + device + ");");
            w.Line("return CreateBlockMaskOnDevice(shape, blockQ, blockKV" + arguments + ", stream, context);");
        }
        w.Line();
        w.Line("/// <summary>The GPU block-mask builder of this spec (PTX ISA 7.8, target sm_80) and its launch constants.</summary>");
        w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"KernelDsl.Generators\", \"1.0\")]");
        using (w.Block("private static class __GpuBlockMaskKernel"))
        {
            w.Line("// params (in order): u32 seq_q, seq_kv, block_q, block_kv; s32 band_offset, band_left, band_right; u32 heads; u64 out; u64 captured buffers.");
            w.Line("// grid = (KvBlocks, QueryBlocks, Batches * Heads of the mask); block = (ThreadsPerBlock, 1, 1); out: u8 [rows, QueryBlocks, KvBlocks].");
            w.Line("public const string EntryName = \"" + BlockMaskPtx.EntryName(plan.PortableGpuKernel()!) + "\";");
            w.Line("public const int ThreadsPerBlock = " + BlockMaskPtx.ThreadsPerBlock + ";");
            w.Line();
            w.Line("/// <summary>The PTX text (kept as UTF-8 data in the assembly, decoded once on first use).</summary>");
            w.Line("public static readonly string Ptx = global::System.Text.Encoding.UTF8.GetString(\"\"\"");
            foreach (var line in BlockMaskPtx.PtxFor(plan)!.TrimEnd('\n').Split('\n'))
            {
                w.Line(line);
            }

            w.Line("\"\"\"u8);");
            w.Line();
            w.Line("public static readonly global::KernelDsl.Cuda.GpuBlockMaskKernelInfo Info = new global::KernelDsl.Cuda.GpuBlockMaskKernelInfo(");
            w.Line("    Ptx, EntryName, ThreadsPerBlock, PerBatch: " + (usesBatch ? "true" : "false") + ", PerHead: " + (usesHead ? "true" : "false") + ")");
            w.Line("{");
            w.Line("    // The parameters in .param order, from the builder's ABI record (as its PTX entry).");
            w.Line("    Abi = new global::KernelDsl.Cuda.AbiSlot[]");
            w.Line("    {");
            foreach (var p in KernelAbi.BlockMaskBuilder(mask.Buffers.Count).Parameters)
            {
                w.Line("        new(global::KernelDsl.Cuda.AbiValue." + p.Value + ", " + p.Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture)
                       + (p.IsPerBuffer ? ", " + p.Index.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty) + "), // ." + p.PtxType + " " + p.Name);
            }

            w.Line("    },");
            w.Line("};");
        }
    }
}
