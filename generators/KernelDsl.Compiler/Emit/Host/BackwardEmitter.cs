using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Emit.Cpu;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Host;

/// <summary>
/// For specs with [Backward] (issue 10): <c>X.Backward.g.cs</c> — the public CPU <c>Backward</c> entry points (tensor
/// spans, and flat spans with a shape; argument checks as Forward's, by KernelDsl.BackwardBinding), the float64
/// <c>ScoreModifierBackwardReference</c> for the reference backward, and the CPU backward kernel
/// (<see cref="CpuBackwardWriter"/>). No file for specs without [Backward].
/// </summary>
public sealed class BackwardEmitter : IEmitter
{
    private const string TensorsNs = "global::System.Numerics.Tensors.";

    public GeneratedFile? Emit(KernelPlan plan)
    {
        var spec = plan.Spec;
        if (spec.Backward is null)
        {
            return null;
        }

        var w = new CodeWriter();
        var kernel = new CpuBackwardWriter(w, plan);
        w.Lines(TypeScope.FileHeader.TrimEnd('\n'));
        w.Line("// KernelDsl attention spec " + spec.Target.FullName + ": the backward pass (CPU).");
        w.Line("// " + PlanTextRenderer.SpecSummary(spec, plan.OutputType));
        w.Line(string.Format(System.Globalization.CultureInfo.InvariantCulture,
            "// Tiles of {0} queries x {1} keys (the forward's); {2:F1} KiB of fp32 scratch per worker thread; deterministic by construction.",
            plan.Cpu.BlockQ, plan.Cpu.BlockKV, kernel.Scratch.TotalFloats * 4 / 1024.0));
        w.Line();
        using (TypeScope.Open(w, spec.Target))
        {
            TensorSpanBackward(w, plan, kernel.Learnable);
            w.Line();
            SpanBackward(w, plan, kernel.Learnable);
            if (plan.HasGpu)
            {
                w.Line();
                DeviceBackward(w, plan, kernel.Learnable);
            }
            if (spec.ScoreModifier is not null)
            {
                w.Line();
                w.Line("/// <summary>");
                w.Line("/// The backward of " + spec.ScoreModifier.MethodName + " in double precision, for <c>KernelDsl.Reference.AttentionReferenceBackward</c>: returns");
                w.Line("/// gradient · ∂" + spec.ScoreModifier.MethodName + "/∂score and adds gradient · ∂" + spec.ScoreModifier.MethodName + "/∂buffer[i] into each learnable buffer's gradient.");
                w.Line("/// Differentiated symbolically from the same IR as the kernels.");
                w.Line("/// </summary>");
                w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"KernelDsl.Generators\", \"1.0\")]");
                ModifierBackwardWriter.Method(w, spec.ScoreModifier, ExprCSharpWriter.Reference, "public static double ScoreModifierBackwardReference", reference: true);
            }

            w.Line();
            w.Line("/// <summary>");
            w.Line("/// FlashAttention-2's backward on the CPU: preprocess (Δ), a K/V-block-parallel pass (dK, dV) and a");
            w.Line("/// query-block-parallel pass (dQ" + (kernel.Learnable.Count > 0 ? ", buffer gradients" : string.Empty) + "). P is recomputed from Q, K and the forward's LSE; no Sq×Skv matrix exists.");
            w.Line("/// Each output element has one writer and every sum a fixed order: bit-identical results on every run.");
            w.Line("/// </summary>");
            w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"KernelDsl.Generators\", \"1.0\")]");
            using (w.Block("private static unsafe class __CpuBackwardKernel"))
            {
                kernel.Constants();
                w.Line();
                kernel.Dispatch();
                w.Line();
                kernel.Schedule();
                w.Line();
                kernel.Preprocess();
                w.Line();
                kernel.KeyValueBlock();
                w.Line();
                kernel.QueryBlock();
                w.Line();
                kernel.Tile();
                kernel.ModifierMethods();
                kernel.GradientStructs();
            }
        }

        return new GeneratedFile(spec.Target.FullName + ".Backward.g.cs", w.ToString());
    }

    private static string ElementOf(CapturedBuffer buffer) => buffer.ElementType == ExprType.Int ? "int" : "float";

    private static string CapturedSpans(KernelPlan plan) =>
        string.Concat(plan.Spec.CapturedBuffers.Select(b => ", global::System.ReadOnlySpan<" + ElementOf(b) + "> " + b.Name));

    private static string GradientSpans(IReadOnlyList<CapturedBuffer> learnable) =>
        string.Concat(learnable.Select(b => ", global::System.Span<float> " + ModifierBackwardWriter.GradientName(b)));

    private static string BlockMaskParameter(KernelPlan plan) =>
        plan.Spec.MaskModifier is null ? string.Empty : ", global::KernelDsl.BlockMask? blockMask = null";

    private static void Docs(CodeWriter w, KernelPlan plan, IReadOnlyList<CapturedBuffer> learnable, bool device = false)
    {
        w.Line("/// <param name=\"output\">The forward's O for these inputs.</param>");
        w.Line("/// <param name=\"lse\">The forward's LSE [B, Hq, Sq] (a [Backward] spec's Forward writes it).</param>");
        w.Line("/// <param name=\"dOutput\">∂L/∂O, shaped like output.</param>");
        w.Line("/// <param name=\"dq\">∂L/∂Q, written (not accumulated); likewise dk and dv, shaped like k and v (GQA heads summed into their K/V head).</param>");
        foreach (var buffer in plan.Spec.CapturedBuffers)
        {
            w.Line("/// <param name=\"" + buffer.Name + "\">The captured buffer the forward read: " + ElementOf(buffer) + "[" + string.Join(", ", buffer.Dims) + "].</param>");
        }

        foreach (var buffer in learnable)
        {
            w.Line("/// <param name=\"" + ModifierBackwardWriter.GradientName(buffer) + "\">∂L/∂" + buffer.Name + ", written (not accumulated); summed in a fixed order, bit-identical on every run.</param>");
        }

        if (plan.Spec.MaskModifier is not null && !device)
        {
            w.Line("/// <param name=\"blockMask\">The block mask the CPU Forward ran with (<c>CreateCpuBlockMask</c>), or null: the backward visits exactly the forward's blocks.</param>");
        }
    }

    private static void TensorSpanBackward(CodeWriter w, KernelPlan plan, IReadOnlyList<CapturedBuffer> learnable)
    {
        string tin = TypeNames.Element(plan.Spec.InputType);
        string tout = TypeNames.Element(plan.OutputType);
        var buffers = plan.Spec.CapturedBuffers;
        w.Line("/// <summary>");
        w.Line("/// The backward pass on the CPU: gradients of a loss L with respect to q, k, v" + (learnable.Count > 0 ? " and the learnable buffers" : string.Empty) + ", given ∂L/∂output.");
        w.Line("/// Tensors as for Forward (" + plan.Spec.Layout + ", last dimension contiguous); the results are bit-identical from run to run.");
        w.Line("/// </summary>");
        w.Line("/// <exception cref=\"global::System.ArgumentException\">A tensor's shape, strides or memory do not fit the spec or the other tensors.</exception>");
        Docs(w, plan, learnable);
        string signature = "public static unsafe void Backward(" + TensorsNs + "ReadOnlyTensorSpan<" + tin + "> q, " + TensorsNs + "ReadOnlyTensorSpan<" + tin + "> k, "
                           + TensorsNs + "ReadOnlyTensorSpan<" + tin + "> v, " + TensorsNs + "ReadOnlyTensorSpan<" + tout + "> output, " + TensorsNs + "ReadOnlyTensorSpan<float> lse, "
                           + TensorsNs + "ReadOnlyTensorSpan<" + tout + "> dOutput, " + TensorsNs + "TensorSpan<" + tin + "> dq, " + TensorsNs + "TensorSpan<" + tin + "> dk, "
                           + TensorsNs + "TensorSpan<" + tin + "> dv" + CapturedSpans(plan) + GradientSpans(learnable) + BlockMaskParameter(plan) + ")";
        using (w.Block(signature))
        {
            foreach (var (name, type) in new[] { ("q", tin), ("k", tin), ("v", tin), ("output", tout), ("lse", "float"), ("dOutput", tout), ("dq", tin), ("dk", tin), ("dv", tin) })
            {
                w.Line("fixed (" + type + "* " + name + "Data = " + name + ")");
            }

            foreach (var buffer in buffers)
            {
                w.Line("fixed (" + ElementOf(buffer) + "* __captured_" + buffer.Name + " = " + buffer.Name + ")");
            }

            foreach (var buffer in learnable)
            {
                w.Line("fixed (float* __gradient_" + buffer.Name + " = " + ModifierBackwardWriter.GradientName(buffer) + ")");
            }

            using (w.Block())
            {
                w.Line("var shape = global::KernelDsl.BackwardBinding.Bind(");
                w.Line("    __Spec.Layout, __Spec.HeadDim, __Spec.ValueHeadDim,");
                var arguments = new[] { ("q", tin), ("k", tin), ("v", tin), ("output", tout), ("lse", "float"), ("dOutput", tout), ("dq", tin), ("dk", tin), ("dv", tin) };
                for (int i = 0; i < arguments.Length; i++)
                {
                    var (name, type) = arguments[i];
                    w.Line("    new global::KernelDsl.TensorArgument(\"" + name + "\", " + name + "Data, sizeof(" + type + "), " + name + ".Lengths, " + name + ".Strides)" + (i == arguments.Length - 1 ? ");" : ","));
                }

                w.Line("var forward = new global::KernelDsl.AttentionProblem<" + tin + ", " + tout + ">(");
                w.Line("    shape,");
                w.Line("    global::KernelDsl.AttentionBinding.View(qData, q.Strides, __Spec.Layout),");
                w.Line("    global::KernelDsl.AttentionBinding.View(kData, k.Strides, __Spec.Layout),");
                w.Line("    global::KernelDsl.AttentionBinding.View(vData, v.Strides, __Spec.Layout),");
                w.Line("    global::KernelDsl.AttentionBinding.View(outputData, output.Strides, __Spec.Layout),");
                w.Line("    lseData);");
                w.Line("var problem = new global::KernelDsl.BackwardProblem<" + tin + ", " + tout + ">(");
                w.Line("    forward,");
                w.Line("    global::KernelDsl.AttentionBinding.View(dOutputData, dOutput.Strides, __Spec.Layout),");
                w.Line("    global::KernelDsl.AttentionBinding.View(dqData, dq.Strides, __Spec.Layout),");
                w.Line("    global::KernelDsl.AttentionBinding.View(dkData, dk.Strides, __Spec.Layout),");
                w.Line("    global::KernelDsl.AttentionBinding.View(dvData, dv.Strides, __Spec.Layout));");
                if (plan.Spec.MaskModifier is not null)
                {
                    w.Line("blockMask?.RequireMatches(shape, Plan.Parameters.CpuBlockQ, Plan.Parameters.CpuBlockKV, nameof(blockMask));");
                }

                foreach (var buffer in buffers)
                {
                    w.Line("global::KernelDsl.CapturedBuffers.RequireLength(nameof(" + buffer.Name + "), " + buffer.Name + ".Length, __Spec.Dims_" + buffer.Name + ", shape);");
                }

                foreach (var buffer in learnable)
                {
                    w.Line("global::KernelDsl.BackwardBinding.RequireGradient(nameof(" + ModifierBackwardWriter.GradientName(buffer) + "), " + ModifierBackwardWriter.GradientName(buffer) + ".Length, " + buffer.Name + ".Length);");
                }

                using (w.Block("if (global::KernelDsl.EmptyAttention.CompleteBackward(in problem))"))
                {
                    w.Line("// B, Sq or Skv = 0: no kernel; CompleteBackward zeroed dQ, dK and dV, and the buffer gradients are zero too.");
                    foreach (var buffer in learnable)
                    {
                        w.Line(ModifierBackwardWriter.GradientName(buffer) + ".Clear();");
                    }

                    w.Line("return;");
                }

                string call = "__CpuBackwardKernel.Run(in problem";
                if (buffers.Count > 0)
                {
                    call += ", new __CpuKernel.Captured(" + string.Join(", ", buffers.Select(b => HostEmitter.CapturedSpan(b, "__captured_" + b.Name))) + ")";
                }

                if (learnable.Count > 0)
                {
                    call += ", new __CpuBackwardKernel.Gradients(" + string.Join(", ", learnable.Select(b => "__gradient_" + b.Name + ", " + ModifierBackwardWriter.GradientName(b) + ".Length")) + ")";
                }

                w.Line(call + (plan.Spec.MaskModifier is null ? string.Empty : ", blockMask") + ");");
            }
        }
    }

    /// <summary>
    /// The device <c>Backward</c>: the CPU one's arguments as device tensors and buffers, plus the stream and an optional
    /// workspace. With the plan's backward kernels it launches them (KernelDsl.Cuda.BackwardLauncher); a spec the GPU
    /// backward does not cover yet (plan.GpuBackwardExclusion) gets the same signature throwing NotSupportedException with
    /// the reason, so a caller never gets silently wrong gradients.
    /// </summary>
    private static void DeviceBackward(CodeWriter w, KernelPlan plan, IReadOnlyList<CapturedBuffer> learnable)
    {
        string tin = TypeNames.Element(plan.Spec.InputType);
        string tout = TypeNames.Element(plan.OutputType);
        var buffers = plan.Spec.CapturedBuffers;
        bool atomic = plan.PortableGpuKernel(GpuKernelKind.BackwardKeyValueAtomic) is not null;
        w.Line("/// <summary>");
        if (atomic)
        {
            w.Line("/// The backward pass on the GPU (sm_80 PTX), asynchronously on <paramref name=\"stream\"/> (the default stream when null); tensors");
            w.Line("/// as for the device Forward, checked as for the CPU Backward. By default the atomic-dQ mode (FlashAttention-2's scheme): a");
            w.Line("/// preprocess, a dK/dV kernel that also adds dQ into an fp32 accumulator with red.global.add, and a dQ conversion; the");
            w.Line("/// order of those adds varies, so dQ may differ in its last bits from run to run. <c>deterministic: true</c> runs the");
            w.Line("/// deterministic mode instead (a dK/dV kernel and a dQ kernel recomputing S and dP; bit-identical results on every run).");
        }
        else if (plan.Spec.Backward!.Deterministic)
        {
            w.Line("/// The backward pass on the GPU (sm_80 PTX: a preprocess, a dK/dV kernel and a dQ kernel), asynchronously on <paramref name=\"stream\"/>");
            w.Line("/// (the default stream when null); tensors as for the device Forward, checked as for the CPU Backward. The spec is");
            w.Line("/// [Backward(Deterministic = true)]: every gradient element has one writer and a fixed summation order, so the results");
            w.Line("/// are bit-identical from run to run.");
        }
        else
        {
            w.Line("/// The backward pass on the GPU, asynchronously on <paramref name=\"stream\"/> (the default stream when null); tensors as for");
            w.Line("/// the device Forward, checked as for the CPU Backward.");
        }

        bool deviceMask = plan.Spec.MaskModifier is not null && plan.HasGpuBackward;
        w.Line(deviceMask
            ? "/// With <paramref name=\"blockMask\"/> (the mask the device Forward ran with) the tile pairs it leaves out are neither loaded nor computed."
            : "/// Every block the built-in mask keeps is visited, with the element mask where needed.");
        w.Line("/// </summary>");
        Docs(w, plan, learnable, device: true);
        w.Line("/// <param name=\"stream\">The stream the kernels run on, in order (the legacy default stream when null).</param>");
        w.Line("/// <param name=\"workspace\">Optional fp32 scratch of at least <c>KernelDsl.Cuda.BackwardLauncher.WorkspaceLength(B, Hq, Sq, HeadDim, deterministic)</c> elements (delta and the base-2 LSE; in the atomic-dQ mode also the fp32 dQ accumulator, B x Hq x Sq x HeadDim); when null one is allocated for the call and freed after it, which waits for the device.</param>");
        w.Line(atomic
            ? "/// <param name=\"deterministic\">null or false: the atomic-dQ mode (5 tile products per tile pair); true: the deterministic mode (7, bit-identical on every run).</param>"
            : plan.HasGpuBackward
            ? "/// <param name=\"deterministic\">null or true (the spec is deterministic); false is an ArgumentException: this spec has no atomic-dQ kernels.</param>"
            : "/// <param name=\"deterministic\">The mode (unused: this spec has no GPU backward).</param>");
        if (deviceMask)
        {
            w.Line("/// <param name=\"blockMask\">Optional: the DeviceBlockMask the device Forward ran with (its tiles must be multiples of the backward's, as the forward kernel's are); null visits every tile the band keeps.</param>");
        }
        if (!plan.HasGpuBackward)
        {
            w.Line("/// <exception cref=\"global::System.NotSupportedException\">Always: " + (plan.GpuBackwardExclusion ?? "no GPU backward") + ".</exception>");
        }

        string captured = string.Concat(buffers.Select(b => ", global::KernelDsl.DeviceBuffer<" + ElementOf(b) + "> " + b.Name));
        string gradients = string.Concat(learnable.Select(b => ", global::KernelDsl.DeviceBuffer<float> " + ModifierBackwardWriter.GradientName(b)));
        string device = "global::KernelDsl.DeviceTensor<";
        using (w.Block("public static void Backward(" + device + tin + "> q, " + device + tin + "> k, " + device + tin + "> v, " + device + tout + "> output, global::KernelDsl.DeviceBuffer<float> lse, "
                       + device + tout + "> dOutput, " + device + tin + "> dq, " + device + tin + "> dk, " + device + tin + "> dv" + captured + gradients
                       + ", global::KernelDsl.Cuda.CudaStream? stream = null, global::KernelDsl.DeviceBuffer<float>? workspace = null, bool? deterministic = null"
                       + (deviceMask ? ", global::KernelDsl.DeviceBlockMask? blockMask = null" : string.Empty) + ")"))
        {
            if (!plan.HasGpuBackward)
            {
                w.Line("throw new global::System.NotSupportedException(\"" + plan.Spec.Target.Name + ": no GPU backward: " + (plan.GpuBackwardExclusion ?? "no GPU kernels") + ".\");");
                return;
            }

            foreach (var buffer in buffers)
            {
                w.Line("global::System.ArgumentNullException.ThrowIfNull(" + buffer.Name + ");");
            }

            string capturedArray = buffers.Count == 0
                ? string.Empty
                : ", [" + string.Join(", ", buffers.Select(b => "new global::KernelDsl.CapturedDeviceBuffer(nameof(" + b.Name + "), __Spec.Dims_" + b.Name + ", " + b.Name + ".DevicePointer, " + b.Name + ".Length)")) + "]";
            w.Line("global::KernelDsl.Cuda.BackwardLauncher.Launch(" + BackwardKernelsField + ", __Spec.Layout, __Spec.HeadDim, __Spec.ValueHeadDim, q, k, v, output, lse, dOutput, dq, dk, dv, stream, workspace"
                   + (capturedArray.Length == 0 ? ", default" : capturedArray) + ", deterministic" + (deviceMask ? ", blockMask" : string.Empty) + ");");
        }

        if (!plan.HasGpuBackward)
        {
            return;
        }

        var kinds = atomic
            ? new[] { GpuKernelKind.BackwardPreprocess, GpuKernelKind.BackwardKeyValue, GpuKernelKind.BackwardQuery, GpuKernelKind.BackwardKeyValueAtomic, GpuKernelKind.BackwardQueryConvert }
            : new[] { GpuKernelKind.BackwardPreprocess, GpuKernelKind.BackwardKeyValue, GpuKernelKind.BackwardQuery };
        var kernels = kinds.Select(kind => plan.PortableGpuKernel(kind)!).ToList();
        foreach (var kernel in kernels)
        {
            HostEmitter.EmitAbi(w, kernel);
        }

        w.Line();
        w.Line("/// <summary>This spec's GPU backward kernels (the plan's list): preprocess, dK/dV, dQ" + (atomic ? "; the atomic-dQ mode's dK/dV+dQ and dQ conversion" : string.Empty) + ".</summary>");
        w.Line("private static readonly global::KernelDsl.Cuda.GpuBackwardKernels " + BackwardKernelsField + " = new(");
        for (int i = 0; i < 3; i++)
        {
            w.Line("    " + HostEmitter.KernelInfo(kernels[i]) + " { Abi = " + HostEmitter.AbiField(kernels[i]) + " }" + (i == 2 ? ")" + (atomic ? string.Empty : ";") : ","));
        }

        if (atomic)
        {
            w.Line("{");
            w.Line("    KeyValueAtomicDq = " + HostEmitter.KernelInfo(kernels[3]) + " { Abi = " + HostEmitter.AbiField(kernels[3]) + " },");
            w.Line("    QueryConvert = " + HostEmitter.KernelInfo(kernels[4]) + " { Abi = " + HostEmitter.AbiField(kernels[4]) + " },");
            w.Line("};");
        }
    }

    /// <summary>The generated field holding the spec's backward kernels (a KernelDsl.Cuda.GpuBackwardKernels).</summary>
    internal const string BackwardKernelsField = "__GpuBackwardKernels";

    private static void SpanBackward(CodeWriter w, KernelPlan plan, IReadOnlyList<CapturedBuffer> learnable)
    {
        string tin = TypeNames.Element(plan.Spec.InputType);
        string tout = TypeNames.Element(plan.OutputType);
        w.Line("/// <summary>");
        w.Line("/// The backward pass on the CPU over contiguous " + plan.Spec.Layout + " spans of the given shape (see the tensor-span overload).");
        w.Line("/// </summary>");
        Docs(w, plan, learnable);
        string signature = "public static void Backward(global::System.ReadOnlySpan<" + tin + "> q, global::System.ReadOnlySpan<" + tin + "> k, global::System.ReadOnlySpan<" + tin + "> v, "
                           + "global::System.ReadOnlySpan<" + tout + "> output, global::System.ReadOnlySpan<float> lse, global::System.ReadOnlySpan<" + tout + "> dOutput, "
                           + "global::System.Span<" + tin + "> dq, global::System.Span<" + tin + "> dk, global::System.Span<" + tin + "> dv"
                           + CapturedSpans(plan) + GradientSpans(learnable) + ", global::KernelDsl.AttentionShape shape" + BlockMaskParameter(plan) + ")";
        using (w.Block(signature))
        {
            using (w.Block("if (shape.HeadDim != __Spec.HeadDim || shape.ValueHeadDim != __Spec.ValueHeadDim)"))
            {
                w.Line("throw new global::System.ArgumentException($\"The shape's head dims ({shape.HeadDim}, {shape.ValueHeadDim}) must equal the spec's ({__Spec.HeadDim}, {__Spec.ValueHeadDim}).\", nameof(shape));");
            }

            w.Line("shape.Validate();");
            var tensors = new[]
            {
                ("q", "SeqQ", "HeadsQ", "HeadDim"), ("k", "SeqKv", "HeadsKv", "HeadDim"), ("v", "SeqKv", "HeadsKv", "ValueHeadDim"),
                ("output", "SeqQ", "HeadsQ", "ValueHeadDim"), ("dOutput", "SeqQ", "HeadsQ", "ValueHeadDim"),
                ("dq", "SeqQ", "HeadsQ", "HeadDim"), ("dk", "SeqKv", "HeadsKv", "HeadDim"), ("dv", "SeqKv", "HeadsKv", "ValueHeadDim"),
            };
            foreach (var (name, seq, heads, dim) in tensors)
            {
                w.Line("global::KernelDsl.AttentionBinding.RequireSpanLength(" + name + ".Length, __Spec.Layout, shape.Batch, shape." + seq + ", shape." + heads + ", shape." + dim + ", nameof(" + name + "));");
            }

            using (w.Block("if (lse.Length != (long)shape.Batch * shape.HeadsQ * shape.SeqQ)"))
            {
                w.Line("throw new global::System.ArgumentException($\"'lse' has {lse.Length} elements, but [batch, query heads, query seq] = [{shape.Batch}, {shape.HeadsQ}, {shape.SeqQ}] needs {(long)shape.Batch * shape.HeadsQ * shape.SeqQ}.\", nameof(lse));");
            }

            using (w.Block("if (shape.IsEmpty)"))
            {
                // A TensorSpan cannot view an empty span without memory (Span.Empty), so the empty call completes here.
                w.Line("// B, Sq or Skv = 0: no kernel; every gradient is zero (no row with a kept key contributes).");
                HostEmitter.EmptyCallChecks(w, plan);
                foreach (var buffer in learnable)
                {
                    w.Line("global::KernelDsl.BackwardBinding.RequireGradient(nameof(" + ModifierBackwardWriter.GradientName(buffer) + "), " + ModifierBackwardWriter.GradientName(buffer) + ".Length, " + buffer.Name + ".Length);");
                }

                foreach (var name in new[] { "dq", "dk", "dv" }.Concat(learnable.Select(ModifierBackwardWriter.GradientName)))
                {
                    w.Line(name + ".Clear();");
                }

                w.Line("return;");
            }

            string Lengths(string seq, string heads, string dim) =>
                "global::KernelDsl.AttentionBinding.ContiguousLengths(__Spec.Layout, shape.Batch, shape." + seq + ", shape." + heads + ", shape." + dim + ", stackalloc nint[4])";
            var arguments = new List<string>();
            foreach (var (name, seq, heads, dim) in tensors)
            {
                string type = name is "output" or "dOutput" ? tout : tin;
                string span = name is "dq" or "dk" or "dv" ? "TensorSpan" : "ReadOnlyTensorSpan";
                arguments.Add("new " + TensorsNs + span + "<" + type + ">(" + name + ", " + Lengths(seq, heads, dim) + ")");
                if (name == "output")
                {
                    arguments.Add("new " + TensorsNs + "ReadOnlyTensorSpan<float>(lse, stackalloc nint[] { shape.Batch, shape.HeadsQ, shape.SeqQ })");
                }
            }

            arguments.AddRange(plan.Spec.CapturedBuffers.Select(b => b.Name));
            arguments.AddRange(learnable.Select(ModifierBackwardWriter.GradientName));
            if (plan.Spec.MaskModifier is not null)
            {
                arguments.Add("blockMask");
            }

            w.Line("Backward(");
            for (int i = 0; i < arguments.Count; i++)
            {
                w.Line("    " + arguments[i] + (i == arguments.Count - 1 ? ");" : ","));
            }
        }
    }
}
