using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Host;

/// <summary>
/// Emits the serving entry points of a spec with [Varlen] and/or [PagedKv] (issue 11) — <c>ForwardVarlen</c> over packed
/// sequences with cumulative offsets, <c>Decode</c> over a paged KV cache — and the CPU kernel both run
/// (<see cref="Cpu.CpuServingKernelWriter"/>), into <c>X.Serving.g.cs</c>. The entry points check and pin their arguments
/// and pick the K/V row source (packed or paged); the kernel is the same.
/// </summary>
public sealed partial class ServingEmitter : IEmitter
{
    private const string Rt = "global::KernelDsl.";

    public GeneratedFile? Emit(KernelPlan plan)
    {
        var spec = plan.Spec;
        if (!spec.IsServing)
        {
            return null;
        }

        var w = new CodeWriter();
        w.Lines(TypeScope.FileHeader.TrimEnd('\n'));
        w.Line("// KernelDsl attention spec " + spec.Target.FullName + ": serving entry points (" + Entries(spec) + ") and their CPU kernel.");
        w.Line("// " + PlanTextRenderer.SpecSummary(spec, plan.OutputType));
        w.Line();
        using (TypeScope.Open(w, spec.Target))
        {
            ServingConstants(w, spec);
            if (spec.Varlen is not null)
            {
                w.Line();
                ForwardVarlen(w, plan);
                var varlen = plan.GpuKernelsOf(GpuKernelKind.ForwardVarlen).ToList();
                if (varlen.Count > 0)
                {
                    w.Line();
                    DeviceForwardVarlen(w, plan, varlen);
                }
            }

            if (spec.PagedKv is not null)
            {
                w.Line();
                Decode(w, plan);
                if (spec.HasDecodeAppend)
                {
                    w.Line();
                    DecodeAppend(w, plan);
                }

                if (plan.PortableGpuKernel(GpuKernelKind.Decode) is { } decode && plan.PortableGpuKernel(GpuKernelKind.DecodeMerge) is { } merge)
                {
                    w.Line();
                    DeviceDecode(w, plan, decode, merge);
                    if (plan.PortableGpuKernel(GpuKernelKind.DecodeAppend) is { } append)
                    {
                        w.Line();
                        DeviceDecodeAppend(w, plan, append);
                        if (plan.PortableGpuKernel(GpuKernelKind.RotateAppend) is { } unfused)
                        {
                            w.Line();
                            DeviceRotateAppend(w, plan, unfused);
                        }
                    }
                }
            }

            w.Line();
            w.Line("/// <summary>");
            w.Line("/// FlashAttention-2 on the CPU for serving calls: work items are (sequence, KV head, block of packed query rows); the query");
            w.Line("/// heads of a KV group share one pass over the sequence's K/V, read through a row source (pages of a paged cache).");
            w.Line("/// </summary>");
            w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"KernelDsl.Generators\", \"1.0\")]");
            using (w.Block("private static unsafe class __CpuServingKernel"))
            {
                new Cpu.CpuServingKernelWriter(w, plan).Write();
            }
        }

        return new GeneratedFile(spec.Target.FullName + ".Serving.g.cs", w.ToString());
    }

    private static string Entries(AttentionSpec spec) =>
        string.Join(", ", new[] { spec.Varlen is null ? null : "ForwardVarlen", spec.PagedKv is null ? null : "Decode", spec.HasDecodeAppend ? "DecodeAppend" : null }.Where(e => e is not null));

    private static void ServingConstants(CodeWriter w, AttentionSpec spec)
    {
        w.Line("/// <summary>The serving options of the spec ([Varlen], [PagedKv]).</summary>");
        w.Line("[global::System.CodeDom.Compiler.GeneratedCode(\"KernelDsl.Generators\", \"1.0\")]");
        using (w.Block("public static class Serving"))
        {
            if (spec.PagedKv is { } paged)
            {
                w.Line("/// <summary>The most query tokens one sequence may bring to <c>Decode</c>.</summary>");
                w.Line("public const int MaxQueriesPerSequence = " + paged.MaxQueriesPerSequence.ToString(CultureInfo.InvariantCulture) + ";");
                w.Line("/// <summary>The one page size the spec serves, or 0 for any (1–256, the pool's).</summary>");
                w.Line("public const int PageSize = " + (paged.PageSize ?? 0).ToString(CultureInfo.InvariantCulture) + ";");
                if (spec.HasDecodeAppend)
                {
                    RotaryConstants(w, spec);
                }
            }

            w.Line("/// <summary>The built-in mask for one sequence of a serving call (its own alignment): pass it to the float64 reference.</summary>");
            w.Line("public static " + Rt + "MaskBand BandFor(" + Rt + "AttentionShape sequence) => Plan.Parameters.BandFor(sequence);");
        }
    }

    /// <summary>The fused prologue's options: DecodeAppend's rotary, as the runtime description the float64 reference takes.</summary>
    private static void RotaryConstants(CodeWriter w, AttentionSpec spec)
    {
        var prologue = spec.Prologue!;
        if (prologue.Rotary is { } rotary)
        {
            w.Line("/// <summary>The rotary embedding DecodeAppend applies to the new Q and K ([Fusion(Rotary = …)]): pass it to the float64 reference.</summary>");
            w.Line("public static readonly " + Rt + "RotaryEmbedding Rotary = new(" + spec.HeadDim.ToString(CultureInfo.InvariantCulture) + ", "
                   + prologue.EffectiveRotaryDim(spec.HeadDim).ToString(CultureInfo.InvariantCulture) + ", " + TypeNames.DoubleLiteral(prologue.EffectiveRotaryBase) + ", " + Rt + "RotaryConvention." + rotary + ");");
        }
        else
        {
            w.Line("/// <summary>DecodeAppend rotates nothing (no [Fusion(Rotary = …)]): K and V are appended as given.</summary>");
            w.Line("public static readonly " + Rt + "RotaryEmbedding? Rotary = null;");
        }
    }

    private static string Element(Model.Expressions.CapturedBuffer buffer) => buffer.ElementType == Model.Expressions.ExprType.Int ? "int" : "float";

    private static string BufferParameters(AttentionSpec spec) =>
        string.Concat(spec.CapturedBuffers.Select(b => ", global::System.ReadOnlySpan<" + Element(b) + "> " + b.Name));

    private static void BufferDocs(CodeWriter w, AttentionSpec spec)
    {
        foreach (var buffer in spec.CapturedBuffers)
        {
            w.Line("/// <param name=\"" + buffer.Name + "\">Captured buffer read by the modifiers: " + Element(buffer) + "[" + string.Join(", ", buffer.Dims) + "] with B = the number of sequences; its length is checked.</param>");
        }
    }

    private static void BufferChecksAndPins(CodeWriter w, AttentionSpec spec, string shape)
    {
        foreach (var buffer in spec.CapturedBuffers)
        {
            w.Line(Rt + "CapturedBuffers.RequireLength(nameof(" + buffer.Name + "), " + buffer.Name + ".Length, __Spec.Dims_" + buffer.Name + ", " + shape + ");");
        }
    }

    private static void Pins(CodeWriter w, AttentionSpec spec)
    {
        foreach (var buffer in spec.CapturedBuffers)
        {
            w.Line("fixed (" + Element(buffer) + "* __captured_" + buffer.Name + " = " + buffer.Name + ")");
        }
    }

    private static string RunCall(AttentionSpec spec) =>
        spec.CapturedBuffers.Count == 0
            ? "__CpuServingKernel.Run(in problem);"
            : "__CpuServingKernel.Run(in problem, new __CpuServingKernel.Captured(" + string.Join(", ", spec.CapturedBuffers.Select(b => HostEmitter.CapturedSpan(b, "__captured_" + b.Name))) + "));";

    private static void ForwardVarlen(CodeWriter w, KernelPlan plan)
    {
        var spec = plan.Spec;
        string tin = TypeNames.Element(spec.InputType), tout = TypeNames.Element(plan.OutputType);
        bool lse = spec.Epilogue.WriteLse;
        w.Line("/// <summary>");
        w.Line("/// Varlen prefill on the CPU: sequences of different lengths packed without padding (FlashAttention's varlen convention).");
        w.Line("/// q is [totalQ, headsQ, " + spec.HeadDim + "], k [totalKv, headsKv, " + spec.HeadDim + "], v [totalKv, headsKv, " + spec.ValueHeadDim + "], output [totalQ, headsQ, " + spec.ValueHeadDim + "]"
               + (lse ? ", lse [totalQ, headsQ]" : string.Empty) + ";");
        w.Line("/// sequence s owns the rows batch.QueryOffsets[s]… of q and batch.KeyOffsets[s]… of k and v, and is attended to on its own");
        w.Line("/// (its own mask alignment; the modifiers see b = s). A sequence with no keys gives O = 0" + (lse ? " and LSE = −∞" : string.Empty) + ".");
        w.Line("/// </summary>");
        BufferDocs(w, spec);
        string lseParam = lse ? ", global::System.Span<float> lse" : string.Empty;
        using (w.Block("public static unsafe void ForwardVarlen(global::System.ReadOnlySpan<" + tin + "> q, global::System.ReadOnlySpan<" + tin + "> k, global::System.ReadOnlySpan<" + tin
                       + "> v, global::System.Span<" + tout + "> output" + lseParam + BufferParameters(spec) + ", " + Rt + "VarlenBatch batch, int headsQ, int headsKv)"))
        {
            w.Line("global::System.ArgumentNullException.ThrowIfNull(batch);");
            w.Line(Rt + "ServingBinding.RequireHeads(headsQ, headsKv);");
            w.Line(Rt + "ServingBinding.RequirePacked(q.Length, batch.TotalQueries, headsQ, __Spec.HeadDim, nameof(q));");
            w.Line(Rt + "ServingBinding.RequirePacked(k.Length, batch.TotalKeys, headsKv, __Spec.HeadDim, nameof(k));");
            w.Line(Rt + "ServingBinding.RequirePacked(v.Length, batch.TotalKeys, headsKv, __Spec.ValueHeadDim, nameof(v));");
            w.Line(Rt + "ServingBinding.RequirePacked(output.Length, batch.TotalQueries, headsQ, __Spec.ValueHeadDim, nameof(output));");
            if (lse)
            {
                w.Line(Rt + "ServingBinding.RequirePacked(lse.Length, batch.TotalQueries, headsQ, 1, nameof(lse));");
            }

            foreach (var input in new[] { "q", "k", "v" })
            {
                w.Line(Rt + "ServingBinding.RequireDisjoint<" + tout + ", " + tin + ">(output, " + input + ", nameof(output), nameof(" + input + "));");
                if (lse)
                {
                    w.Line(Rt + "ServingBinding.RequireDisjoint<float, " + tin + ">(lse, " + input + ", nameof(lse), nameof(" + input + "));");
                }
            }

            BufferChecksAndPins(w, spec, Rt + "ServingBinding.CapturedShape(batch.Sequences, headsQ, headsKv, __Spec.HeadDim, __Spec.ValueHeadDim)");
            w.Line("fixed (" + tin + "* qData = q)");
            w.Line("fixed (" + tin + "* kData = k)");
            w.Line("fixed (" + tin + "* vData = v)");
            w.Line("fixed (" + tout + "* outputData = output)");
            if (lse)
            {
                w.Line("fixed (float* lseData = lse)");
            }

            w.Line("fixed (int* queryOffsets = batch.QueryOffsets.Span)");
            w.Line("fixed (int* keyOffsets = batch.KeyOffsets.Span)");
            Pins(w, spec);
            using (w.Block())
            {
                w.Line("var rows = new global::KernelDsl.Cpu.PackedKvRows<" + tin + ">(kData, vData, keyOffsets, headsKv, __Spec.HeadDim, __Spec.ValueHeadDim);");
                w.Line("var problem = new global::KernelDsl.Cpu.ServingProblem<" + tin + ", " + tout + ", global::KernelDsl.Cpu.PackedKvRows<" + tin + ">>(batch.Sequences, headsQ, headsKv, qData, queryOffsets, rows, outputData, " + (lse ? "lseData" : "null") + ");");
                w.Line(RunCall(spec));
            }
        }
    }

    /// <summary>
    /// The device Decode: the same arguments on device types, launched through the generated decode and merge kernels'
    /// descriptors and ABI tables (DecodeLauncher checks the call and picks the grid and the KV split on the host).
    /// </summary>
    private static void DeviceDecode(CodeWriter w, KernelPlan plan, GpuKernelPlan decode, GpuKernelPlan merge)
    {
        var spec = plan.Spec;
        string tin = TypeNames.Element(spec.InputType), tout = TypeNames.Element(plan.OutputType);
        bool lse = spec.Epilogue.WriteLse;
        w.Line("/// <summary>");
        w.Line("/// Decode (or speculative verification) on the GPU over a paged KV cache, asynchronously on <paramref name=\"stream\"/> (the default");
        w.Line("/// stream when null): the same semantics and checks as the CPU Decode. q is a contiguous BSHD tensor with batch·seq = the batch's");
        w.Line("/// query tokens and " + spec.HeadDim + " features per head ([B, 1, headsQ, D] for one token per sequence), output likewise with " + spec.ValueHeadDim
               + (lse ? ", lse [totalQ, headsQ] fp32" : string.Empty) + ".");
        w.Line("/// One CTA per (KV split, KV head and block of 16 packed query rows, sequence); the split count is chosen on the host from the batch's");
        w.Line("/// host-side figures and the SM count (KernelDsl.Cuda.DecodeSplits), with a merge kernel when it is above 1.");
        w.Line("/// </summary>");
        foreach (var buffer in spec.CapturedBuffers)
        {
            w.Line("/// <param name=\"" + buffer.Name + "\">Captured buffer read by the modifiers: " + Element(buffer) + "[" + string.Join(", ", buffer.Dims) + "] with B = the number of sequences; its length is checked.</param>");
        }

        string lseParam = lse ? ", " + Rt + "DeviceBuffer<float> lse" : string.Empty;
        string buffers = string.Concat(spec.CapturedBuffers.Select(b => ", " + Rt + "DeviceBuffer<" + Element(b) + "> " + b.Name));
        using (w.Block("public static void Decode(" + Rt + "DeviceTensor<" + tin + "> q, " + Rt + "DevicePagedKvCache<" + tin + "> cache, " + Rt + "DeviceTensor<" + tout + "> output"
                       + lseParam + buffers + ", " + Rt + "DevicePagedKvBatch batch, int headsQ, " + Rt + "Cuda.CudaStream? stream = null)"))
        {
            foreach (var buffer in spec.CapturedBuffers)
            {
                w.Line("global::System.ArgumentNullException.ThrowIfNull(" + buffer.Name + ");");
            }

            string captured = spec.CapturedBuffers.Count == 0
                ? string.Empty
                : ", [" + string.Join(", ", spec.CapturedBuffers.Select(b => "new " + Rt + "CapturedDeviceBuffer(nameof(" + b.Name + "), __Spec.Dims_" + b.Name + ", " + b.Name + ".DevicePointer, " + b.Name + ".Length)")) + "]";
            w.Line(Rt + "Cuda.DecodeLauncher.Launch(" + DecodeKernelField + ", " + DecodeMergeKernelField + ", __Spec.HeadDim, __Spec.ValueHeadDim, Serving.PageSize, Serving.MaxQueriesPerSequence,");
            w.Line("    q, cache, output, " + (lse ? "lse" : "null") + ", batch, headsQ, stream" + captured + ");");
        }

        HostEmitter.EmitAbi(w, decode);
        HostEmitter.EmitAbi(w, merge);
        w.Line();
        w.Line("/// <summary>The paged decode kernel and its split-KV merge (the plan's Decode and DecodeMerge kernels).</summary>");
        w.Line("private static readonly global::KernelDsl.Cuda.GpuKernelInfo " + DecodeKernelField + " = " + HostEmitter.KernelInfo(decode) + " { Abi = " + HostEmitter.AbiField(decode) + " };");
        w.Line("private static readonly global::KernelDsl.Cuda.GpuKernelInfo " + DecodeMergeKernelField + " = " + HostEmitter.KernelInfo(merge) + " { Abi = " + HostEmitter.AbiField(merge) + " };");
    }

    internal const string DecodeKernelField = "__GpuDecode";

    internal const string VarlenKernelField = "__GpuForwardVarlenKernels";

    /// <summary>
    /// The device ForwardVarlen: the CPU overload's arguments on device types, launched through the generated varlen kernel's
    /// descriptor and ABI table (VarlenLauncher makes the CPU overload's checks, naming the same arguments, and the device's).
    /// </summary>
    private static void DeviceForwardVarlen(CodeWriter w, KernelPlan plan, List<GpuKernelPlan> varlen)
    {
        var spec = plan.Spec;
        string tin = TypeNames.Element(spec.InputType), tout = TypeNames.Element(plan.OutputType);
        bool lse = spec.Epilogue.WriteLse;
        w.Line("/// <summary>");
        w.Line("/// Varlen prefill on the GPU, asynchronously on <paramref name=\"stream\"/> (the default stream when null): the same semantics and");
        w.Line("/// checks as the CPU ForwardVarlen. q, k, v and output are contiguous BSHD tensors with batch·seq = their packed tokens");
        w.Line("/// ([1, totalQ, headsQ, " + spec.HeadDim + "], [1, totalKv, headsKv, " + spec.HeadDim + "], [1, totalKv, headsKv, " + spec.ValueHeadDim + "], [1, totalQ, headsQ, " + spec.ValueHeadDim + "])"
               + (lse ? ", lse [totalQ, headsQ] fp32" : string.Empty) + ".");
        w.Line("/// One CTA per (query block of the longest sequence, query head, sequence); a CTA past its sequence's queries exits at once." + (varlen.Count > 1 ? " On Hopper the sm_90a kernel runs." : string.Empty));
        w.Line("/// </summary>");
        BufferDocs(w, spec);
        string lseParam = lse ? ", " + Rt + "DeviceBuffer<float> lse" : string.Empty;
        string buffers = string.Concat(spec.CapturedBuffers.Select(b => ", " + Rt + "DeviceBuffer<" + Element(b) + "> " + b.Name));
        using (w.Block("public static void ForwardVarlen(" + Rt + "DeviceTensor<" + tin + "> q, " + Rt + "DeviceTensor<" + tin + "> k, " + Rt + "DeviceTensor<" + tin + "> v, "
                       + Rt + "DeviceTensor<" + tout + "> output" + lseParam + buffers + ", " + Rt + "DeviceVarlenBatch batch, int headsQ, int headsKv, " + Rt + "Cuda.CudaStream? stream = null)"))
        {
            foreach (var buffer in spec.CapturedBuffers)
            {
                w.Line("global::System.ArgumentNullException.ThrowIfNull(" + buffer.Name + ");");
            }

            string captured = spec.CapturedBuffers.Count == 0
                ? string.Empty
                : ", [" + string.Join(", ", spec.CapturedBuffers.Select(b => "new " + Rt + "CapturedDeviceBuffer(nameof(" + b.Name + "), __Spec.Dims_" + b.Name + ", " + b.Name + ".DevicePointer, " + b.Name + ".Length)")) + "]";
            w.Line(Rt + "Cuda.VarlenLauncher.Launch(" + VarlenKernelField + ", __Spec.HeadDim, __Spec.ValueHeadDim, q, k, v, output, " + (lse ? "lse" : "null") + ", batch, headsQ, headsKv, stream" + captured + ");");
        }

        // The parameter tables first: static fields of one file initialise in textual order, and the set reads them.
        foreach (var kernel in varlen)
        {
            HostEmitter.EmitAbi(w, kernel);
        }

        w.Line();
        w.Line("/// <summary>The varlen forward kernels (the plan's ForwardVarlen kernels, in its order); the launcher picks one per device.</summary>");
        w.Line("private static readonly global::KernelDsl.Cuda.GpuKernelSet " + VarlenKernelField + " = new(");
        for (int i = 0; i < varlen.Count; i++)
        {
            w.Line("    " + HostEmitter.KernelInfo(varlen[i]) + " { Abi = " + HostEmitter.AbiField(varlen[i]) + " }" + (i == varlen.Count - 1 ? ");" : ","));
        }
    }

    internal const string DecodeMergeKernelField = "__GpuDecodeMerge";

    private static void Decode(CodeWriter w, KernelPlan plan)
    {
        var spec = plan.Spec;
        var paged = spec.PagedKv!;
        string tin = TypeNames.Element(spec.InputType), tout = TypeNames.Element(plan.OutputType);
        bool lse = spec.Epilogue.WriteLse;
        bool scores = paged.EvictionScores;
        w.Line("/// <summary>");
        w.Line("/// Decode (or speculative verification) on the CPU over a paged KV cache: q is [totalQ, headsQ, " + spec.HeadDim + "] with up to "
               + paged.MaxQueriesPerSequence + " queries per sequence (batch.QueryOffsets),");
        w.Line("/// output [totalQ, headsQ, " + spec.ValueHeadDim + "]" + (lse ? ", lse [totalQ, headsQ]" : string.Empty) + ". Sequence s reads its batch.KvLengths[s] tokens through its page-table row; query i of its q");
        w.Line("/// queries sees keys up to L − q + i under a causal mask (bottom-right, per sequence). K/V tiles are read page by page (no gathered copy).");
        if (scores)
        {
            w.Line("/// keyMass [Σ L, Hkv] (EvictionScores): the attention mass each cached key received, summed over the sequence's queries and its KV group's");
            w.Line("/// query heads; key t of sequence s, KV head g at (Σ_{r<s} L_r + t)·Hkv + g (KernelDsl.Cpu.ServingKeyMass). Written deterministically.");
        }

        w.Line("/// </summary>");
        BufferDocs(w, spec);
        string lseParam = (lse ? ", global::System.Span<float> lse" : string.Empty) + (scores ? ", global::System.Span<float> keyMass" : string.Empty);
        using (w.Block("public static unsafe void Decode(global::System.ReadOnlySpan<" + tin + "> q, " + Rt + "PagedKvCache<" + tin + "> cache, global::System.Span<" + tout + "> output"
                       + lseParam + BufferParameters(spec) + ", " + Rt + "PagedKvBatch batch, int headsQ)"))
        {
            w.Line("global::System.ArgumentNullException.ThrowIfNull(cache);");
            w.Line("global::System.ArgumentNullException.ThrowIfNull(batch);");
            w.Line("var geometry = cache.Geometry;");
            w.Line(Rt + "ServingBinding.RequirePool(geometry, __Spec.HeadDim, __Spec.ValueHeadDim, Serving.PageSize, nameof(cache));");
            w.Line("batch.Validate(geometry, Serving.MaxQueriesPerSequence);");
            w.Line(Rt + "ServingBinding.RequireHeads(headsQ, geometry.HeadsKv);");
            w.Line(Rt + "ServingBinding.RequirePacked(q.Length, batch.TotalQueries, headsQ, __Spec.HeadDim, nameof(q));");
            w.Line(Rt + "ServingBinding.RequirePacked(output.Length, batch.TotalQueries, headsQ, __Spec.ValueHeadDim, nameof(output));");
            if (lse)
            {
                w.Line(Rt + "ServingBinding.RequirePacked(lse.Length, batch.TotalQueries, headsQ, 1, nameof(lse));");
            }

            if (scores)
            {
                w.Line(Rt + "Cpu.ServingKeyMass.Require(keyMass.Length, batch, headsQ, geometry.HeadsKv, " + plan.Cpu.BlockQ + ", nameof(keyMass));");
            }

            foreach (var (input, expression) in new[] { ("q", "q"), ("cache", "cache.Keys.Span"), ("cache", "cache.Values.Span") })
            {
                w.Line(Rt + "ServingBinding.RequireDisjoint<" + tout + ", " + tin + ">(output, " + expression + ", nameof(output), nameof(" + input + "));");
                if (lse)
                {
                    w.Line(Rt + "ServingBinding.RequireDisjoint<float, " + tin + ">(lse, " + expression + ", nameof(lse), nameof(" + input + "));");
                }

                if (scores)
                {
                    w.Line(Rt + "ServingBinding.RequireDisjoint<float, " + tin + ">(keyMass, " + expression + ", nameof(keyMass), nameof(" + input + "));");
                }
            }

            if (scores)
            {
                w.Line(Rt + "ServingBinding.RequireDisjoint<float, " + tout + ">(keyMass, output, nameof(keyMass), nameof(output));");
                if (lse)
                {
                    w.Line(Rt + "ServingBinding.RequireDisjoint<float, float>(keyMass, lse, nameof(keyMass), nameof(lse));");
                }
            }

            BufferChecksAndPins(w, spec, Rt + "ServingBinding.CapturedShape(batch.Sequences, headsQ, geometry.HeadsKv, __Spec.HeadDim, __Spec.ValueHeadDim)");
            if (scores)
            {
                w.Line("keyMass.Clear(); // keys no query row keeps, and sequences with no queries (no work item), get 0");
            }

            w.Line("fixed (" + tin + "* qData = q)");
            w.Line("fixed (" + tin + "* keys = cache.Keys.Span)");
            w.Line("fixed (" + tin + "* values = cache.Values.Span)");
            w.Line("fixed (" + tout + "* outputData = output)");
            if (lse)
            {
                w.Line("fixed (float* lseData = lse)");
            }

            if (scores)
            {
                w.Line("fixed (float* keyMassData = keyMass)");
            }

            w.Line("fixed (int* queryOffsets = batch.QueryOffsets.Span)");
            w.Line("fixed (int* kvLengths = batch.KvLengths.Span)");
            w.Line("fixed (int* pageTable = batch.PageTable.Span)");
            Pins(w, spec);
            using (w.Block())
            {
                w.Line("var rows = new global::KernelDsl.Cpu.PagedKvRows<" + tin + ">(keys, values, geometry, pageTable, batch.MaxPagesPerSequence, kvLengths);");
                w.Line("var problem = new global::KernelDsl.Cpu.ServingProblem<" + tin + ", " + tout + ", global::KernelDsl.Cpu.PagedKvRows<" + tin + ">>(batch.Sequences, headsQ, geometry.HeadsKv, qData, queryOffsets, rows, outputData, " + (lse ? "lseData" : "null") + ")" + (scores ? " { KeyMass = keyMassData }" : string.Empty) + ";");
                w.Line(RunCall(spec));
            }
        }
    }
}
