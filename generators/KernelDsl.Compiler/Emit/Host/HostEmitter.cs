using System.Globalization;
using System.Linq;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Host;

/// <summary>
/// Emits the public surface the generator adds to a spec class: the <c>Forward</c> entry points (tensor
/// spans, and flat spans with an explicit shape) and the <c>Plan</c> property. Forward only binds and
/// checks arguments (KernelDsl.AttentionBinding) and hands an AttentionProblem to the kernel that
/// <see cref="Cpu.CpuEmitter"/> writes into the same class.
/// </summary>
public sealed class HostEmitter : IEmitter
{
    private const string TensorsNs = "global::System.Numerics.Tensors.";

    public GeneratedFile? Emit(KernelPlan plan)
    {
        var spec = plan.Spec;
        var w = new CodeWriter();
        w.Lines(TypeScope.FileHeader.TrimEnd('\n'));
        w.Line("// KernelDsl attention spec " + spec.Target.FullName + ": host entry points and plan.");
        w.Line("// " + PlanTextRenderer.SpecSummary(spec, plan.OutputType));
        w.Line();
        using (TypeScope.Open(w, spec.Target))
        {
            EmitSpecConstants(w, plan);
            w.Line();
            EmitPlan(w, plan);
            w.Line();
            EmitTensorSpanForward(w, plan);
            w.Line();
            EmitSpanForward(w, plan);
            if (plan.HasGpu)
            {
                w.Line();
                EmitDeviceForward(w, plan);
            }
        }

        return new GeneratedFile(spec.Target.FullName + ".g.cs", w.ToString());
    }

    private static void EmitSpecConstants(CodeWriter w, KernelPlan plan)
    {
        var spec = plan.Spec;
        w.Line("/// <summary>The spec's build-time constants, shared by the host code and the kernels.</summary>");
        w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"KernelDsl.Generators\", \"1.0\")]");
        using (w.Block("private static class __Spec"))
        {
            w.Line("public const int HeadDim = " + spec.HeadDim + ";");
            w.Line("public const int ValueHeadDim = " + spec.ValueHeadDim + ";");
            w.Line("public const double Scale = " + TypeNames.DoubleLiteral(spec.EffectiveScale) + ";");
            w.Line("public const global::KernelDsl.TensorLayout Layout = " + TypeNames.Layout(spec.Layout) + ";");
            w.Line("public const global::KernelDsl.DType InputType = " + TypeNames.DType(spec.InputType) + ";");
            w.Line("public const global::KernelDsl.DType OutputType = " + TypeNames.DType(plan.OutputType) + ";");
            w.Line("public const global::KernelDsl.MaskKind Mask = " + TypeNames.Mask(spec.Mask.Kind) + ";");
            w.Line("public const global::KernelDsl.MaskAlignment Alignment = " + TypeNames.Alignment(spec.Mask.Alignment) + ";");
            w.Line("public const int WindowLeft = " + spec.Mask.BandLeft + ";");
            w.Line("public const int WindowRight = " + spec.Mask.BandRight + ";");
            w.Line("public const bool WritesLse = " + (spec.Epilogue.WriteLse ? "true" : "false") + ";");
            foreach (var buffer in spec.CapturedBuffers)
            {
                w.Line("/// <summary>Declared shape of the captured buffer '" + buffer.Name + "' (checked against every call's shape).</summary>");
                w.Line("public static readonly string[] " + DimsField(buffer) + " = { " + string.Join(", ", System.Linq.Enumerable.Select(buffer.Dims, d => "\"" + d + "\"")) + " };");
            }
        }
    }

    private static string DimsField(Model.Expressions.CapturedBuffer buffer) => "Dims_" + buffer.Name;

    private static string ElementOf(Model.Expressions.CapturedBuffer buffer) => buffer.ElementType == Model.Expressions.ExprType.Int ? "int" : "float";

    /// <summary>The kernel's bounds-checked view of a pinned captured buffer: <c>new CapturedSpan&lt;float&gt;(pointer, bias.Length, "bias")</c>.</summary>
    internal static string CapturedSpan(Model.Expressions.CapturedBuffer buffer, string pointer) =>
        "new global::KernelDsl.CapturedSpan<" + ElementOf(buffer) + ">(" + pointer + ", " + buffer.Name + ".Length, nameof(" + buffer.Name + "))";

    /// <summary>", ReadOnlySpan&lt;float&gt; slopes, …" for the CPU overloads (empty without captured buffers).</summary>
    private static string CapturedSpanParameters(KernelPlan plan)
    {
        string list = string.Empty;
        foreach (var buffer in plan.Spec.CapturedBuffers)
        {
            list += ", global::System.ReadOnlySpan<" + ElementOf(buffer) + "> " + buffer.Name;
        }

        return list;
    }

    /// <summary>", BlockMask? blockMask = null" on the CPU overloads of specs with a mask modifier.</summary>
    private static string CpuBlockMaskParameter(KernelPlan plan) =>
        plan.Spec.MaskModifier is null ? string.Empty : ", global::KernelDsl.BlockMask? blockMask = null";

    private static string CapturedArguments(KernelPlan plan)
    {
        string list = string.Empty;
        foreach (var buffer in plan.Spec.CapturedBuffers)
        {
            list += ", " + buffer.Name;
        }

        return list;
    }

    private static void CapturedDocs(CodeWriter w, KernelPlan plan)
    {
        if (plan.Spec.MaskModifier is not null)
        {
            w.Line("/// <param name=\"blockMask\">Optional runtime block mask for this kernel's tiles (the CPU Forward: <c>CreateCpuBlockMask</c>; the device Forward: <c>CreateGpuBlockMask(…).ToDevice()</c>): only its blocks are visited, full ones without element masks. Without it, every block the built-in mask keeps is visited with the element mask.</param>");
        }

        foreach (var buffer in plan.Spec.CapturedBuffers)
        {
            w.Line("/// <param name=\"" + buffer.Name + "\">Captured buffer read by the modifiers: " + ElementOf(buffer) + "[" + string.Join(", ", buffer.Dims) + "], row-major; its length is checked, and so is every index the CPU kernel reads (one outside it throws ArgumentException naming it; the GPU kernels: README, semantics).</param>");
        }
    }

    private static void EmitPlan(CodeWriter w, KernelPlan plan)
    {
        w.Line("/// <summary>");
        w.Line("/// The memory plan chosen at build time. <c>Plan.ToString()</c> renders it; <c>Plan.For(shape)</c> gives");
        w.Line("/// FLOPs, bytes and block density for a call shape.");
        w.Line("/// </summary>");
        w.Line("public static global::KernelDsl.AttentionPlan Plan { get; } = new global::KernelDsl.AttentionPlan(");
        w.Line("    \"" + plan.Spec.Target.FullName + "\",");
        w.Line("    \"\"\"");
        foreach (var line in PlanTextRenderer.Render(plan).TrimEnd('\n').Split('\n'))
        {
            w.Line("    " + line);
        }

        w.Line("    \"\"\" + \"\\n\",");
        w.Line("    new global::KernelDsl.PlanParameters(");
        w.Line("        __Spec.InputType, __Spec.OutputType, __Spec.Mask, __Spec.Alignment, __Spec.WindowLeft, __Spec.WindowRight, __Spec.WritesLse,");
        var tiles = new System.Collections.Generic.List<string>();
        foreach (var kernel in plan.GpuKernelsOf(GpuKernelKind.Forward))
        {
            tiles.Add(string.Format(CultureInfo.InvariantCulture, "new(\"{0}\", {1}, {2})", kernel.PtxTarget, kernel.BlockQ, kernel.BlockKV));
        }

        string gpuTiles = tiles.Count == 0 ? string.Empty : ",\n        GpuKernels: new global::KernelDsl.GpuKernelTiles[] { " + string.Join(", ", tiles) + " }";
        w.Lines(string.Format(CultureInfo.InvariantCulture, "        CpuBlockQ: {0}, CpuBlockKV: {1}, CpuWorkingSetBytes: {2}{3}));", plan.Cpu.BlockQ, plan.Cpu.BlockKV, plan.Cpu.WorkingSetBytes, gpuTiles));
    }

    private static void EmitTensorSpanForward(CodeWriter w, KernelPlan plan)
    {
        string tin = TypeNames.Element(plan.Spec.InputType);
        string tout = TypeNames.Element(plan.OutputType);
        bool lse = plan.Spec.Epilogue.WriteLse;
        string layoutText = plan.Spec.Layout == TensorLayout.BSHD ? "[batch, seq, heads, dim]" : "[batch, heads, seq, dim]";

        w.Line("/// <summary>");
        w.Line("/// Runs the fused attention kernel on the CPU. Tensors are " + plan.Spec.Layout + " " + layoutText + "; the last dimension");
        w.Line("/// must be contiguous, other strides are free. k and v may have fewer heads than q (grouped-query attention).");
        w.Line("/// </summary>");
        w.Line("/// <exception cref=\"global::System.ArgumentException\">A tensor's shape, strides or memory do not fit the spec or the other tensors.</exception>");
        CapturedDocs(w, plan);
        string lseParam = lse ? ", " + TensorsNs + "TensorSpan<float> lse" : string.Empty;
        using (w.Block("public static unsafe void Forward(" + TensorsNs + "ReadOnlyTensorSpan<" + tin + "> q, " + TensorsNs + "ReadOnlyTensorSpan<" + tin + "> k, "
                       + TensorsNs + "ReadOnlyTensorSpan<" + tin + "> v, " + TensorsNs + "TensorSpan<" + tout + "> output" + lseParam + CapturedSpanParameters(plan) + CpuBlockMaskParameter(plan) + ")"))
        {
            w.Line("fixed (" + tin + "* qData = q)");
            w.Line("fixed (" + tin + "* kData = k)");
            w.Line("fixed (" + tin + "* vData = v)");
            w.Line("fixed (" + tout + "* outputData = output)");
            if (lse)
            {
                w.Line("fixed (float* lseData = lse)");
            }

            foreach (var buffer in plan.Spec.CapturedBuffers)
            {
                w.Line("fixed (" + ElementOf(buffer) + "* __captured_" + buffer.Name + " = " + buffer.Name + ")");
            }

            using (w.Block())
            {
                w.Line("var shape = global::KernelDsl.AttentionBinding.Bind(");
                w.Line("    __Spec.Layout, __Spec.HeadDim, __Spec.ValueHeadDim,");
                w.Line("    new global::KernelDsl.TensorArgument(\"q\", qData, sizeof(" + tin + "), q.Lengths, q.Strides),");
                w.Line("    new global::KernelDsl.TensorArgument(\"k\", kData, sizeof(" + tin + "), k.Lengths, k.Strides),");
                w.Line("    new global::KernelDsl.TensorArgument(\"v\", vData, sizeof(" + tin + "), v.Lengths, v.Strides),");
                w.Line("    new global::KernelDsl.TensorArgument(\"output\", outputData, sizeof(" + tout + "), output.Lengths, output.Strides),");
                w.Line(lse
                    ? "    new global::KernelDsl.TensorArgument(\"lse\", lseData, sizeof(float), lse.Lengths, lse.Strides));"
                    : "    default);");
                w.Line("var problem = new global::KernelDsl.AttentionProblem<" + tin + ", " + tout + ">(");
                w.Line("    shape,");
                w.Line("    global::KernelDsl.AttentionBinding.View(qData, q.Strides, __Spec.Layout),");
                w.Line("    global::KernelDsl.AttentionBinding.View(kData, k.Strides, __Spec.Layout),");
                w.Line("    global::KernelDsl.AttentionBinding.View(vData, v.Strides, __Spec.Layout),");
                w.Line("    global::KernelDsl.AttentionBinding.View(outputData, output.Strides, __Spec.Layout),");
                w.Line(lse ? "    lseData);" : "    null);");
                var buffers = plan.Spec.CapturedBuffers;
                string blockMaskArgument = plan.Spec.MaskModifier is null ? string.Empty : ", blockMask";
                if (plan.Spec.MaskModifier is not null)
                {
                    w.Line("blockMask?.RequireMatches(shape, Plan.Parameters.CpuBlockQ, Plan.Parameters.CpuBlockKV, nameof(blockMask));");
                    string maskBuffers = string.Concat(plan.Spec.MaskModifier.Buffers.Select(buffer => ", " + buffer.Name));
                    w.Line("if (blockMask is not null && global::KernelDsl.BlockMask.ValidateOnUse)");
                    w.Line("{");
                    w.Line("    // Opt-in (tests, debugging): rebuild the mask from this call's shape and buffers and compare.");
                    w.Line("    blockMask.RequireSameAs(CreateBlockMask(shape, blockMask.BlockQ, blockMask.BlockKV" + maskBuffers + "), nameof(blockMask));");
                    w.Line("}");
                }

                const string emptyCall = "if (global::KernelDsl.EmptyAttention.CompleteForward(in problem)) return; // B, Sq or Skv = 0: no kernel (O = 0, LSE = -inf when Skv = 0)";
                if (buffers.Count == 0)
                {
                    w.Line(emptyCall);
                    w.Line("__CpuKernel.Run(in problem" + blockMaskArgument + ");");
                }
                else
                {
                    var pointers = new System.Collections.Generic.List<string>();
                    foreach (var buffer in buffers)
                    {
                        w.Line("global::KernelDsl.CapturedBuffers.RequireLength(nameof(" + buffer.Name + "), " + buffer.Name + ".Length, __Spec." + DimsField(buffer) + ", shape);");
                        pointers.Add(CapturedSpan(buffer, "__captured_" + buffer.Name));
                    }

                    w.Line(emptyCall);
                    w.Line("__CpuKernel.Run(in problem, new __CpuKernel.Captured(" + string.Join(", ", pointers) + ")" + blockMaskArgument + ");");
                }
            }
        }
    }

    private static void EmitDeviceForward(CodeWriter w, KernelPlan plan)
    {
        string tin = TypeNames.Element(plan.Spec.InputType);
        string tout = TypeNames.Element(plan.OutputType);
        bool lse = plan.Spec.Epilogue.WriteLse;
        w.Line("/// <summary>");
        w.Line("/// Launches the tensor-core GPU kernel on device tensors (" + plan.Spec.Layout + "), asynchronously on <paramref name=\"stream\"/>");
        w.Line("/// (the default stream when null). Shapes, layouts, alignment and aliasing are checked as for the CPU entry points.");
        w.Line("/// The PTX is JIT-compiled by the driver and cached on first use per context.");
        w.Line("/// </summary>");
        CapturedDocs(w, plan);
        string lseParam = lse ? ", global::KernelDsl.DeviceBuffer<float> lse" : string.Empty;
        string capturedParams = string.Empty;
        var captured = new System.Collections.Generic.List<string>();
        foreach (var buffer in plan.Spec.CapturedBuffers)
        {
            capturedParams += ", global::KernelDsl.DeviceBuffer<" + ElementOf(buffer) + "> " + buffer.Name;
            captured.Add("new global::KernelDsl.CapturedDeviceBuffer(nameof(" + buffer.Name + "), __Spec." + DimsField(buffer) + ", " + buffer.Name + ".DevicePointer, " + buffer.Name + ".Length)");
        }

        var kernels = System.Linq.Enumerable.ToList(plan.GpuKernelsOf(GpuKernelKind.Forward));
        bool blockMask = kernels.Exists(k => k.TakesBlockMask);
        using (w.Block("public static void Forward(global::KernelDsl.DeviceTensor<" + tin + "> q, global::KernelDsl.DeviceTensor<" + tin + "> k, global::KernelDsl.DeviceTensor<" + tin
                       + "> v, global::KernelDsl.DeviceTensor<" + tout + "> output" + lseParam + capturedParams + ", global::KernelDsl.Cuda.CudaStream? stream = null"
                       + (blockMask ? ", global::KernelDsl.DeviceBlockMask? blockMask = null" : string.Empty) + ")"))
        {
            foreach (var buffer in plan.Spec.CapturedBuffers)
            {
                w.Line("global::System.ArgumentNullException.ThrowIfNull(" + buffer.Name + ");");
            }

            w.Line("global::KernelDsl.Cuda.AttentionLauncher.Launch(");
            string head = "    " + ForwardKernelsField + ", __Spec.Layout, __Spec.HeadDim, __Spec.ValueHeadDim, q, k, v, output, " + (lse ? "lse" : "null") + ", stream";
            // A collection expression into the launcher's ReadOnlySpan parameter lives on the stack: no allocation per call.
            string capturedArray = captured.Count == 0 ? "default" : "[" + string.Join(", ", captured) + "]";
            w.Line(head + (captured.Count == 0 && !blockMask ? ");" : ","));
            if (captured.Count > 0 || blockMask)
            {
                w.Line("    " + capturedArray + (blockMask ? ", blockMask);" : ");"));
            }
        }

        // The parameter tables first: static fields of one file initialise in textual order, and the set reads them.
        var written = new System.Collections.Generic.HashSet<string>();
        foreach (var kernel in kernels)
        {
            if (written.Add(AbiField(kernel)))
            {
                EmitAbi(w, kernel);
            }
        }

        w.Line();
        w.Line("/// <summary>This spec's forward kernels (the plan's list, in its order); the launcher picks one per device.</summary>");
        w.Line("private static readonly global::KernelDsl.Cuda.GpuKernelSet " + ForwardKernelsField + " = new(");
        for (int i = 0; i < kernels.Count; i++)
        {
            w.Line("    " + KernelInfo(kernels[i]) + " { Abi = " + AbiField(kernels[i]) + " }" + (i == kernels.Count - 1 ? ");" : ","));
        }
    }

    /// <summary>The generated field holding one kernel's parameter table.</summary>
    internal static string AbiField(GpuKernelPlan kernel) => Ptx.PtxEmitter.KernelClassName(kernel) + "Abi";

    /// <summary>
    /// The kernel's parameters as the launcher packs them, one slot per PTX <c>.param</c>, written from the kernel's ABI
    /// record (the PTX entry's parameter list is written from the same record).
    /// </summary>
    internal static void EmitAbi(CodeWriter w, GpuKernelPlan kernel)
    {
        w.Line();
        w.Line("/// <summary>The parameters of " + Ptx.PtxEmitter.KernelClassName(kernel) + ", in .param order (from the plan's ABI record, as its PTX entry).</summary>");
        w.Line("private static readonly global::KernelDsl.Cuda.AbiSlot[] " + AbiField(kernel) + " =");
        w.Line("{");
        foreach (var p in kernel.Abi.Parameters)
        {
            w.Line("    new(global::KernelDsl.Cuda.AbiValue." + p.Value + ", " + p.Bytes.ToString(CultureInfo.InvariantCulture)
                   + (p.IsPerBuffer ? ", " + p.Index.ToString(CultureInfo.InvariantCulture) : string.Empty) + "), // ." + p.PtxType + " " + p.Name);
        }

        w.Line("};");
    }

    /// <summary>The generated field holding the spec's forward kernels (a KernelDsl.Cuda.GpuKernelSet).</summary>
    internal const string ForwardKernelsField = "__GpuForwardKernels";

    /// <summary>"the sm_90a kernel's 128 x 128 tiles on Hopper (…), else the sm_80 kernel's 128 x 64", most specialised first.</summary>
    internal static string TilesByDevice(System.Collections.Generic.IReadOnlyList<GpuKernelPlan> kernels)
    {
        var parts = new System.Collections.Generic.List<string>();
        for (int i = kernels.Count - 1; i >= 0; i--)
        {
            var k = kernels[i];
            parts.Add("the " + k.PtxTarget + " kernel's " + k.BlockQ + " x " + k.BlockKV + (i > 0 ? " tiles on " + GpuFamilies.Devices(k.Family) : string.Empty));
        }

        return string.Join(", else ", parts);
    }

    /// <summary>A GpuKernelInfo construction from one generated kernel class's constants and the kernel's family.</summary>
    internal static string KernelInfo(GpuKernelPlan kernel)
    {
        string c = Ptx.PtxEmitter.KernelClassName(kernel);
        int? max = GpuFamilies.MaxComputeCapability(kernel.Family);
        return "new global::KernelDsl.Cuda.GpuKernelInfo(" + c + ".Ptx, " + c + ".EntryName, " + c + ".ThreadsPerBlock, " + c + ".BlockQ, " + c + ".SharedMemoryBytes, "
               + c + ".BlockKV, TakesBlockMask: " + (kernel.TakesBlockMask ? "true" : "false") + ", Family: \"" + kernel.PtxTarget + "\", MinComputeCapability: "
               + GpuFamilies.MinComputeCapability(kernel.Family).ToString(CultureInfo.InvariantCulture)
               + (max is int m ? ", MaxComputeCapability: " + m.ToString(CultureInfo.InvariantCulture) : string.Empty) + ")";
    }

    /// <summary>
    /// The checks the tensor overload makes after binding, for an empty call that a span overload completes itself:
    /// captured buffers' lengths, and a block mask (none fits an empty call, so passing one is an error).
    /// </summary>
    internal static void EmptyCallChecks(CodeWriter w, KernelPlan plan)
    {
        foreach (var buffer in plan.Spec.CapturedBuffers)
        {
            w.Line("global::KernelDsl.CapturedBuffers.RequireLength(nameof(" + buffer.Name + "), " + buffer.Name + ".Length, __Spec." + DimsField(buffer) + ", shape);");
        }

        if (plan.Spec.MaskModifier is not null)
        {
            w.Line("blockMask?.RequireMatches(shape, Plan.Parameters.CpuBlockQ, Plan.Parameters.CpuBlockKV, nameof(blockMask));");
        }
    }

    private static void EmitSpanForward(CodeWriter w, KernelPlan plan)
    {
        string tin = TypeNames.Element(plan.Spec.InputType);
        string tout = TypeNames.Element(plan.OutputType);
        bool lse = plan.Spec.Epilogue.WriteLse;
        w.Line("/// <summary>");
        w.Line("/// Runs the fused attention kernel on the CPU over contiguous " + plan.Spec.Layout + " spans of the given shape.");
        w.Line("/// <paramref name=\"shape\"/>'s head dims must equal the spec's.");
        w.Line("/// </summary>");
        CapturedDocs(w, plan);
        string lseParam = lse ? ", global::System.Span<float> lse" : string.Empty;
        using (w.Block("public static void Forward(global::System.ReadOnlySpan<" + tin + "> q, global::System.ReadOnlySpan<" + tin + "> k, global::System.ReadOnlySpan<" + tin
                       + "> v, global::System.Span<" + tout + "> output" + lseParam + CapturedSpanParameters(plan) + ", global::KernelDsl.AttentionShape shape" + CpuBlockMaskParameter(plan) + ")"))
        {
            using (w.Block("if (shape.HeadDim != __Spec.HeadDim || shape.ValueHeadDim != __Spec.ValueHeadDim)"))
            {
                w.Line("throw new global::System.ArgumentException($\"The shape's head dims ({shape.HeadDim}, {shape.ValueHeadDim}) must equal the spec's ({__Spec.HeadDim}, {__Spec.ValueHeadDim}).\", nameof(shape));");
            }

            w.Line("shape.Validate();");
            w.Line("global::KernelDsl.AttentionBinding.RequireSpanLength(q.Length, __Spec.Layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim, nameof(q));");
            w.Line("global::KernelDsl.AttentionBinding.RequireSpanLength(k.Length, __Spec.Layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim, nameof(k));");
            w.Line("global::KernelDsl.AttentionBinding.RequireSpanLength(v.Length, __Spec.Layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.ValueHeadDim, nameof(v));");
            w.Line("global::KernelDsl.AttentionBinding.RequireSpanLength(output.Length, __Spec.Layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim, nameof(output));");
            if (lse)
            {
                using (w.Block("if (lse.Length != (long)shape.Batch * shape.HeadsQ * shape.SeqQ)"))
                {
                    w.Line("throw new global::System.ArgumentException($\"'lse' has {lse.Length} elements, but [batch, query heads, query seq] = [{shape.Batch}, {shape.HeadsQ}, {shape.SeqQ}] needs {(long)shape.Batch * shape.HeadsQ * shape.SeqQ}.\", nameof(lse));");
                }
            }

            using (w.Block("if (shape.IsEmpty)"))
            {
                // A TensorSpan cannot view an empty span without memory (Span.Empty), so the empty call completes here.
                w.Line("// B, Sq or Skv = 0: no kernel. Skv = 0: O = 0 and LSE = -inf (no kept key); B or Sq = 0: nothing to write.");
                EmptyCallChecks(w, plan);
                w.Line("output.Clear();");
                if (lse)
                {
                    w.Line("lse.Fill(float.NegativeInfinity);");
                }

                w.Line("return;");
            }

            w.Line("Forward(");
            w.Line("    new " + TensorsNs + "ReadOnlyTensorSpan<" + tin + ">(q, global::KernelDsl.AttentionBinding.ContiguousLengths(__Spec.Layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.HeadDim, stackalloc nint[4])),");
            w.Line("    new " + TensorsNs + "ReadOnlyTensorSpan<" + tin + ">(k, global::KernelDsl.AttentionBinding.ContiguousLengths(__Spec.Layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.HeadDim, stackalloc nint[4])),");
            w.Line("    new " + TensorsNs + "ReadOnlyTensorSpan<" + tin + ">(v, global::KernelDsl.AttentionBinding.ContiguousLengths(__Spec.Layout, shape.Batch, shape.SeqKv, shape.HeadsKv, shape.ValueHeadDim, stackalloc nint[4])),");
            w.Line(lse
                ? "    new " + TensorsNs + "TensorSpan<" + tout + ">(output, global::KernelDsl.AttentionBinding.ContiguousLengths(__Spec.Layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim, stackalloc nint[4])),"
                : "    new " + TensorsNs + "TensorSpan<" + tout + ">(output, global::KernelDsl.AttentionBinding.ContiguousLengths(__Spec.Layout, shape.Batch, shape.SeqQ, shape.HeadsQ, shape.ValueHeadDim, stackalloc nint[4]))" + CapturedArguments(plan) + (plan.Spec.MaskModifier is null ? string.Empty : ", blockMask") + ");");
            string tail = CapturedArguments(plan) + (plan.Spec.MaskModifier is null ? string.Empty : ", blockMask") + ");";
            if (lse)
            {
                w.Line("    new " + TensorsNs + "TensorSpan<float>(lse, stackalloc nint[] { shape.Batch, shape.HeadsQ, shape.SeqQ })" + tail);
            }
        }
    }
}
