using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// The GPU backward's kernels (issue 10) for a [Backward] spec on the sm_80 family (mma.sync), FlashAttention-2's
/// scheme without atomics: a preprocess (Δ = rowsum(dO ∘ O), the LSE in base 2), a K/V-block-parallel kernel
/// (dK, dV; the query heads of a GQA group summed inside the block) and a query-block-parallel kernel (dQ), both
/// recomputing P from Q, K and the LSE. Every gradient element has one writer and every sum a fixed order, so the
/// results are bit-identical from run to run whether or not the spec asks for Deterministic; the cost is the second
/// S = Q·Kᵀ and dP = dO·Vᵀ the dQ kernel recomputes (7 instead of 5 matrix products per tile pair).
/// </summary>
public static class GpuBackwardPlanner
{
    /// <summary>The largest head dim the backward's kernels hold: dK and dV accumulators of 16 keys × D per warp in registers.</summary>
    public const int MaxHeadDim = 128;

    /// <summary>Threads of the preprocess; 8 lanes share a row (16-byte loads, a 3-step butterfly sum).</summary>
    public const int PreprocessThreads = 128;

    public const int PreprocessLanesPerRow = 8;

    private const int Warps = 4;

    /// <summary>
    /// The backward kernels of <paramref name="spec"/> after its forward kernel <paramref name="forward"/>, or an empty
    /// list and the reason the GPU has none (then the generated device Backward throws with that reason).
    /// </summary>
    public static (IReadOnlyList<GpuKernelPlan> Kernels, string? Exclusion) Plan(AttentionSpec spec, GpuKernelPlan? forward)
    {
        if (spec.Backward is null)
        {
            return (Array.Empty<GpuKernelPlan>(), null);
        }

        if (Exclusion(spec, forward) is { } reason)
        {
            return (Array.Empty<GpuKernelPlan>(), reason);
        }

        var element = ElementTraits.Of(spec.InputType);
        int d = spec.HeadDim;
        int dv = spec.ValueHeadDim;
        int wide = Math.Max(d, dv);
        int pad = GpuSharedMemoryLayout.RowPaddingBytes;
        int dPitch = (d * element.Bytes) + pad;
        int dvPitch = (dv * element.Bytes) + pad;
        string name = BaseName(spec);
        var notes = ModifierMathNotes.For(spec);
        int captured = spec.CapturedBuffers.Count;

        var preprocess = Make(spec, GpuKernelKind.BackwardPreprocess, PreprocessThreads / PreprocessLanesPerRow, 0, PreprocessThreads / 32, 1,
            new BackwardSharedLayout(dPitch, dvPitch, 0, 0, 1, false), 28) with { EntryName = name + "_bwd_pre" };

        // dK/dV: 16 keys per warp (64 per block); query tiles of 64 rows (32 past D = 64, to stay under 255 registers).
        int kvStream = wide <= 64 ? 64 : 32;
        var kvLayout = new BackwardSharedLayout(dPitch, dvPitch, 16 * Warps, kvStream, 2, true);
        int kvRegisters = (d / 2) + (dv / 2) + kvStream + (kvStream / 4) + 24 + GpuPlanner.OverheadRegisters;
        var keyValue = Make(spec, GpuKernelKind.BackwardKeyValue, kvStream, 16 * Warps, Warps, 2, kvLayout, kvRegisters)
            with { EntryName = name + "_bwd_dkdv", CapturedBuffers = captured, ModifierNotes = notes };

        // dQ: 16 query rows per warp (64 per block); key tiles of 64 (32 past D = 64).
        int qStream = wide <= 64 ? 64 : 32;
        var qLayout = new BackwardSharedLayout(dPitch, dvPitch, 16 * Warps, qStream, 2, false);
        int qRegisters = (d / 2) + qStream + (qStream / 4) + 24 + GpuPlanner.OverheadRegisters;
        var query = Make(spec, GpuKernelKind.BackwardQuery, 16 * Warps, qStream, Warps, 2, qLayout, qRegisters)
            with { EntryName = name + "_bwd_dq", CapturedBuffers = captured, ModifierNotes = notes };
        return (new[] { preprocess, keyValue, query }, null);
    }

    /// <summary>Why a [Backward] spec gets no GPU backward (null when it gets one).</summary>
    public static string? Exclusion(AttentionSpec spec, GpuKernelPlan? forward)
    {
        if (forward is null)
        {
            return "the spec has no GPU forward kernel";
        }

        if (Math.Max(spec.HeadDim, spec.ValueHeadDim) > MaxHeadDim)
        {
            return "the GPU backward covers head dims up to " + MaxHeadDim.ToString(CultureInfo.InvariantCulture) + " (dK and dV are held in registers); use the CPU Backward";
        }

        if ((spec.Epilogue.OutputType ?? spec.InputType) != spec.InputType)
        {
            return "the GPU backward reads dO as a tensor-core operand in the input type; specs with an FP32 output use the CPU Backward";
        }

        if (spec.CapturedBuffers.Any(b => b.Learnable))
        {
            return "gradients of learnable captured buffers are computed by the CPU Backward only, so far";
        }

        return null;
    }

    private static GpuKernelPlan Make(AttentionSpec spec, GpuKernelKind kind, int blockQ, int blockKV, int warps, int stages, BackwardSharedLayout layout, int registers)
    {
        var smem = new GpuSharedMemoryLayout(layout.DPitchBytes, layout.DPitchBytes, layout.DvPitchBytes, layout.ResidentBytes, layout.StageBytes, 0, layout.Stages,
            GpuSharedMemoryLayout.RowPaddingBytes * (layout.ResidentRows + (2 * layout.Stages * layout.StreamRows)));
        int threads = 32 * warps;
        return new GpuKernelPlan(blockQ, blockKV, warps, stages, smem, spec.EffectiveScale * Constants.Log2E, registers,
            GpuPlanner.Occupancy(GpuPlanner.Sm80, smem.TotalBytes, registers, threads),
            GpuPlanner.Occupancy(GpuPlanner.Sm90, smem.TotalBytes, registers, threads))
        {
            Kind = kind,
            Family = GpuFamily.Sm80,
            BackwardSmem = layout,
        };
    }

    private static string BaseName(AttentionSpec spec)
    {
        string forward = GpuPlanner.EntryNameFor(spec);
        return forward.Substring(0, forward.Length - "_fwd".Length);
    }

    /// <summary>The plan-text lines of a backward kernel.</summary>
    public static string Describe(GpuKernelPlan k)
    {
        var s = new StringBuilder();
        var l = k.BackwardSmem!;
        switch (k.Kind)
        {
            case GpuKernelKind.BackwardPreprocess:
                s.Append(Invariant($"  gpu bwd pre  sm_80 PTX (ISA 7.8): delta = rowsum(dO * O) and LSE*log2(e) per query row, {k.BlockQ} rows x {PreprocessLanesPerRow} lanes per block of {k.ThreadsPerBlock} threads; grid (ceil(Sq/{k.BlockQ}), Hq, B)\n"));
                break;
            case GpuKernelKind.BackwardKeyValue:
                s.Append(Invariant($"  gpu bwd dkdv sm_80 PTX (ISA 7.8): {k.BlockKV} keys per block ({k.Warps} warps x 16), query tiles of {k.BlockQ} rows in a {k.Stages}-stage cp.async ring; grid (ceil(Skv/{k.BlockKV}), Hkv, B)\n"));
                s.Append("               per query tile: S^T = K*Q^T, P^T = exp2(S^T*c - lse2), dV += P^T*dO, dP^T = V*dO^T, dS^T = P^T o (dP^T - delta), dK += dS^T*Q; GQA heads looped in the block (no atomics)\n");
                s.Append(Invariant($"  gpu smem     {k.Smem.TotalBytes} bytes/block: K {l.ResidentRows}x{l.DPitchBytes} + V {l.ResidentRows}x{l.DvPitchBytes} + {l.Stages} x (Q {l.StreamRows}x{l.DPitchBytes} + dO {l.StreamRows}x{l.DvPitchBytes} + lse2/delta {2 * 4 * l.StreamRows})\n"));
                break;
            default:
                s.Append(Invariant($"  gpu bwd dq   sm_80 PTX (ISA 7.8): {k.BlockQ} query rows per block ({k.Warps} warps x 16), key tiles of {k.BlockKV} in a {k.Stages}-stage cp.async ring; grid (ceil(Sq/{k.BlockQ}), Hq, B)\n"));
                s.Append("               per key tile: S = Q*K^T, P = exp2(S*c - lse2), dP = dO*V^T, dS = P o (dP - delta), dQ += dS*K; one writer per dQ element (deterministic)\n");
                s.Append(Invariant($"  gpu smem     {k.Smem.TotalBytes} bytes/block: Q {l.ResidentRows}x{l.DPitchBytes} + dO {l.ResidentRows}x{l.DvPitchBytes} + {l.Stages} x (K {l.StreamRows}x{l.DPitchBytes} + V {l.StreamRows}x{l.DvPitchBytes})\n"));
                break;
        }

        if (k.Kind != GpuKernelKind.BackwardPreprocess)
        {
            s.Append(Invariant($"  gpu regs     ~{k.EstimatedRegisters}/thread (estimate); blocks/SM sm_80 {k.Sm80.BlocksPerSm} ({k.Sm80.Limiter}), sm_90 {k.Sm90.BlocksPerSm} ({k.Sm90.Limiter})\n"));
        }

        return s.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
