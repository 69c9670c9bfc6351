using System.Linq;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Host;

/// <summary>
/// The fused decode step of a spec with [Fusion(AppendKv = true)] (issue 12): <c>DecodeAppend</c> takes the new tokens' q, k, v
/// (un-rotated), rotates q and k ([Fusion(Rotary = …)]), appends k and v to the paged cache at each sequence's current length,
/// and attends over the cache with the new tokens included — one call, returning the batch with the lengths advanced.
/// </summary>
public sealed partial class ServingEmitter
{
    private static void DecodeAppend(CodeWriter w, KernelPlan plan)
    {
        var spec = plan.Spec;
        string tin = TypeNames.Element(spec.InputType), tout = TypeNames.Element(plan.OutputType);
        bool lse = spec.Epilogue.WriteLse;
        bool scores = spec.PagedKv!.EvictionScores;
        string rotary = spec.Prologue!.Rotary is null ? "no rotary" : "rotated by Serving.Rotary at their positions";
        w.Line("/// <summary>");
        w.Line("/// One decode (or verification) step on the CPU, fused: the new tokens' q [totalQ, headsQ, " + spec.HeadDim + "], k [totalQ, Hkv, " + spec.HeadDim + "] and v [totalQ, Hkv, "
               + spec.ValueHeadDim + "] (un-rotated; " + rotary + ")");
        w.Line("/// go in; k and v are appended to the cache at positions batch.KvLengths[s] + i (the lengths before the step; a full page continues in");
        w.Line("/// the next entry of the sequence's page-table row), then q attends over the cache with the new tokens included, exactly as Decode");
        w.Line("/// with the returned batch. Returns the batch after the step (lengths advanced by each sequence's tokens: PagedKvBatch.AfterAppend).");
        w.Line("/// The pages the new tokens go to must belong to their sequence alone (no check can see pages shared outside the batch).");
        if (scores)
        {
            w.Line("/// keyMass [Σ L, Hkv] of the batch after the step (EvictionScores): the attention mass each cached key received, as Decode writes it.");
        }

        w.Line("/// </summary>");
        BufferDocs(w, spec);
        string lseParam = (lse ? ", global::System.Span<float> lse" : string.Empty) + (scores ? ", global::System.Span<float> keyMass" : string.Empty);
        using (w.Block("public static " + Rt + "PagedKvBatch DecodeAppend(global::System.ReadOnlySpan<" + tin + "> q, global::System.ReadOnlySpan<" + tin + "> k, global::System.ReadOnlySpan<" + tin
                       + "> v, " + Rt + "PagedKvCache<" + tin + "> cache, global::System.Span<" + tout + "> output" + lseParam + BufferParameters(spec) + ", " + Rt + "PagedKvBatch batch, int headsQ)"))
        {
            w.Line("global::System.ArgumentNullException.ThrowIfNull(cache);");
            w.Line("global::System.ArgumentNullException.ThrowIfNull(batch);");
            w.Line("var geometry = cache.Geometry;");
            w.Line(Rt + "ServingBinding.RequirePool(geometry, __Spec.HeadDim, __Spec.ValueHeadDim, Serving.PageSize, nameof(cache));");
            w.Line("// The batch after the step must fit the pool: every new token needs its page in the sequence's row.");
            w.Line("var after = batch.AfterAppend();");
            w.Line("after.Validate(geometry, Serving.MaxQueriesPerSequence);");
            w.Line(Rt + "ServingBinding.RequireHeads(headsQ, geometry.HeadsKv);");
            w.Line(Rt + "ServingBinding.RequirePacked(q.Length, batch.TotalQueries, headsQ, __Spec.HeadDim, nameof(q));");
            w.Line(Rt + "ServingBinding.RequirePacked(k.Length, batch.TotalQueries, geometry.HeadsKv, __Spec.HeadDim, nameof(k));");
            w.Line(Rt + "ServingBinding.RequirePacked(v.Length, batch.TotalQueries, geometry.HeadsKv, __Spec.ValueHeadDim, nameof(v));");
            foreach (var input in new[] { "k", "v" })
            {
                w.Line(Rt + "ServingBinding.RequireDisjoint<" + tin + ", " + tin + ">(cache.Keys.Span, " + input + ", nameof(cache), nameof(" + input + "));");
                w.Line(Rt + "ServingBinding.RequireDisjoint<" + tin + ", " + tin + ">(cache.Values.Span, " + input + ", nameof(cache), nameof(" + input + "));");
            }

            foreach (var input in new[] { "q", "k", "v" })
            {
                w.Line(Rt + "ServingBinding.RequireDisjoint<" + tout + ", " + tin + ">(output, " + input + ", nameof(output), nameof(" + input + "));");
                if (lse)
                {
                    w.Line(Rt + "ServingBinding.RequireDisjoint<float, " + tin + ">(lse, " + input + ", nameof(lse), nameof(" + input + "));");
                }

                if (scores)
                {
                    w.Line(Rt + "ServingBinding.RequireDisjoint<float, " + tin + ">(keyMass, " + input + ", nameof(keyMass), nameof(" + input + "));");
                }
            }

            if (scores)
            {
                w.Line("// The scores' shape before anything is written (Decode checks the rest after the append).");
                w.Line(Rt + "Cpu.ServingKeyMass.Require(keyMass.Length, after, headsQ, geometry.HeadsKv, " + plan.Cpu.BlockQ + ", nameof(keyMass));");
            }

            w.Line("// Rotated q goes to pooled scratch (no allocation in a steady state); the attention is Decode's, over the batch after the step,");
            w.Line("// which checks output, lse and the captured buffers.");
            w.Line(tin + "[] rotatedQ = global::System.Buffers.ArrayPool<" + tin + ">.Shared.Rent(q.Length);");
            using (w.Block("try"))
            {
                w.Line("var rotated = global::System.MemoryExtensions.AsSpan(rotatedQ, 0, q.Length);");
                w.Line(Rt + "DecodeAppendPrologue.Run<" + tin + ">(q, k, v, cache, batch, headsQ, Serving.Rotary, rotated);");
                string args = "rotated, cache, output" + (lse ? ", lse" : string.Empty) + (scores ? ", keyMass" : string.Empty) + string.Concat(spec.CapturedBuffers.Select(b => ", " + b.Name)) + ", after, headsQ";
                w.Line("Decode(" + args + ");");
            }

            using (w.Block("finally"))
            {
                w.Line("global::System.Buffers.ArrayPool<" + tin + ">.Shared.Return(rotatedQ);");
            }

            w.Line("return after;");
        }
    }

    internal const string DecodeAppendKernelField = "__GpuDecodeAppend";

    /// <summary>
    /// The device DecodeAppend: one launch of the fused kernel (plus the merge when the KV range is split). Its batch is the
    /// cache after the step (lengths include the new tokens), since the device batch's host-side figures plan the grid.
    /// </summary>
    private static void DeviceDecodeAppend(CodeWriter w, KernelPlan plan, GpuKernelPlan append)
    {
        var spec = plan.Spec;
        string tin = TypeNames.Element(spec.InputType), tout = TypeNames.Element(plan.OutputType);
        bool lse = spec.Epilogue.WriteLse;
        w.Line("/// <summary>");
        w.Line("/// One fused decode step on the GPU, in one launch (plus the split-KV merge when the range is split), asynchronously on");
        w.Line("/// <paramref name=\"stream\"/>: q [B·S = totalQ, headsQ, " + spec.HeadDim + "], k [totalQ, Hkv, " + spec.HeadDim + "] and v [totalQ, Hkv, " + spec.ValueHeadDim + "] are the new tokens,");
        w.Line("/// un-rotated. <paramref name=\"after\"/> is the batch AFTER the step (PagedKvBatch.AfterAppend().ToDevice(…)): the last q tokens of");
        w.Line("/// each sequence are the new ones, at positions L − q + i. The kernel " + (spec.Prologue!.Rotary is null ? string.Empty : "rotates q and k (Serving.Rotary, cos/sin computed in the kernel), ")
               + "writes k and v into those page slots and attends over the cache, new tokens included: the CPU DecodeAppend's semantics.");
        w.Line("/// </summary>");
        foreach (var buffer in spec.CapturedBuffers)
        {
            w.Line("/// <param name=\"" + buffer.Name + "\">Captured buffer read by the modifiers: " + Element(buffer) + "[" + string.Join(", ", buffer.Dims) + "] with B = the number of sequences; its length is checked.</param>");
        }

        string lseParam = lse ? ", " + Rt + "DeviceBuffer<float> lse" : string.Empty;
        string buffers = string.Concat(spec.CapturedBuffers.Select(b => ", " + Rt + "DeviceBuffer<" + Element(b) + "> " + b.Name));
        using (w.Block("public static void DecodeAppend(" + Rt + "DeviceTensor<" + tin + "> q, " + Rt + "DeviceTensor<" + tin + "> k, " + Rt + "DeviceTensor<" + tin + "> v, " + Rt + "DevicePagedKvCache<" + tin + "> cache, " + Rt + "DeviceTensor<" + tout + "> output"
                       + lseParam + buffers + ", " + Rt + "DevicePagedKvBatch after, int headsQ, " + Rt + "Cuda.CudaStream? stream = null)"))
        {
            foreach (var buffer in spec.CapturedBuffers)
            {
                w.Line("global::System.ArgumentNullException.ThrowIfNull(" + buffer.Name + ");");
            }

            string captured = spec.CapturedBuffers.Count == 0
                ? string.Empty
                : ", [" + string.Join(", ", spec.CapturedBuffers.Select(b => "new " + Rt + "CapturedDeviceBuffer(nameof(" + b.Name + "), __Spec.Dims_" + b.Name + ", " + b.Name + ".DevicePointer, " + b.Name + ".Length)")) + "]";
            w.Line(Rt + "Cuda.DecodeLauncher.LaunchAppend(" + DecodeAppendKernelField + ", " + DecodeMergeKernelField + ", __Spec.HeadDim, __Spec.ValueHeadDim, Serving.PageSize, Serving.MaxQueriesPerSequence,");
            w.Line("    q, k, v, cache, output, " + (lse ? "lse" : "null") + ", after, headsQ, stream" + captured + ");");
        }

        HostEmitter.EmitAbi(w, append);
        w.Line();
        w.Line("/// <summary>The fused decode-append kernel (the plan's DecodeAppend kernel); its splits merge through " + DecodeMergeKernelField + ".</summary>");
        w.Line("private static readonly global::KernelDsl.Cuda.GpuKernelInfo " + DecodeAppendKernelField + " = " + HostEmitter.KernelInfo(append) + " { Abi = " + HostEmitter.AbiField(append) + " };");
    }

    internal const string RotateAppendKernelField = "__GpuRotateAppend";

    /// <summary>The device RotateAppend: DecodeAppend's prologue as a launch of its own (a plain Decode follows), the fusion's baseline.</summary>
    private static void DeviceRotateAppend(CodeWriter w, KernelPlan plan, GpuKernelPlan kernel)
    {
        var spec = plan.Spec;
        string tin = TypeNames.Element(spec.InputType);
        w.Line("/// <summary>");
        w.Line("/// DecodeAppend's prologue alone, as one launch on the GPU: rotatedQ = " + (spec.Prologue!.Rotary is null ? "q (copied)" : "rotary(q)") + ", and the new k" + (spec.Prologue.Rotary is null ? string.Empty : " (rotated)")
               + " and v written into their page slots (positions L − q + i of <paramref name=\"after\"/>,");
        w.Line("/// the batch after the step). Decode(rotatedQ, cache, …, after, headsQ) then gives DecodeAppend's result in two launches: the unfused");
        w.Line("/// sequence the fused kernel is measured against (GpuBench --decode-append), and an append for callers that do not attend.");
        w.Line("/// </summary>");
        using (w.Block("public static void RotateAppend(" + Rt + "DeviceTensor<" + tin + "> q, " + Rt + "DeviceTensor<" + tin + "> k, " + Rt + "DeviceTensor<" + tin + "> v, " + Rt + "DevicePagedKvCache<" + tin + "> cache, "
                       + Rt + "DeviceTensor<" + tin + "> rotatedQ, " + Rt + "DevicePagedKvBatch after, int headsQ, " + Rt + "Cuda.CudaStream? stream = null)"))
        {
            w.Line(Rt + "Cuda.DecodeLauncher.LaunchRotateAppend(" + RotateAppendKernelField + ", __Spec.HeadDim, __Spec.ValueHeadDim, Serving.PageSize, Serving.MaxQueriesPerSequence, q, k, v, cache, rotatedQ, after, headsQ, stream);");
        }

        HostEmitter.EmitAbi(w, kernel);
        w.Line();
        w.Line("/// <summary>The unfused prologue kernel (the plan's RotateAppend kernel).</summary>");
        w.Line("private static readonly global::KernelDsl.Cuda.GpuKernelInfo " + RotateAppendKernelField + " = " + HostEmitter.KernelInfo(kernel) + " { Abi = " + HostEmitter.AbiField(kernel) + " };");
    }
}
