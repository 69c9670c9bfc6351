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

        // Specs with a mask modifier take the forward's block mask: the dK/dV and dQ kernels skip the tile pairs it leaves out.
        bool masked = spec.MaskModifier is not null;

        var preprocess = Make(spec, GpuKernelKind.BackwardPreprocess, PreprocessThreads / PreprocessLanesPerRow, 0, PreprocessThreads / 32, 1,
            new BackwardSharedLayout(dPitch, dvPitch, 0, 0, 1, false), 28) with { EntryName = name + "_bwd_pre" };

        // dK/dV: 16 keys per warp (64 per block); query tiles of 64 rows (32 past D = 64, to stay under 255 registers).
        int kvStream = wide <= 64 ? 64 : 32;
        var kvLayout = new BackwardSharedLayout(dPitch, dvPitch, 16 * Warps, kvStream, 2, true);
        int kvRegisters = (d / 2) + (dv / 2) + kvStream + (kvStream / 4) + 24 + GpuPlanner.OverheadRegisters;
        var keyValue = Make(spec, GpuKernelKind.BackwardKeyValue, kvStream, 16 * Warps, Warps, 2, kvLayout, kvRegisters)
            with { EntryName = name + "_bwd_dkdv", CapturedBuffers = captured, ModifierNotes = notes, TakesBlockMask = masked };

        // dQ: 16 query rows per warp (64 per block); key tiles of 64 (32 past D = 64).
        int qStream = wide <= 64 ? 64 : 32;
        var qLayout = new BackwardSharedLayout(dPitch, dvPitch, 16 * Warps, qStream, 2, false);
        int qRegisters = (d / 2) + qStream + (qStream / 4) + 24 + GpuPlanner.OverheadRegisters;
        var query = Make(spec, GpuKernelKind.BackwardQuery, 16 * Warps, qStream, Warps, 2, qLayout, qRegisters)
            with { EntryName = name + "_bwd_dq", CapturedBuffers = captured, ModifierNotes = notes, TakesBlockMask = masked };
        if (spec.Backward.Deterministic)
        {
            return (new[] { preprocess, keyValue, query }, null);
        }

        // Atomic-dQ mode (the default; the two kernels above stay for calls that ask for determinism): the dK/dV kernel
        // also writes dSᵀ of each query tile to shared memory, and each warp multiplies a 16-row slice of dS by K and adds
        // it into the fp32 dQ accumulator. The dQ partial (16 × D/(4·16/BlockQ) per warp) lives only within an item.
        var atomicLayout = kvLayout with { ScoreGradientPitchBytes = (kvStream * element.Bytes) + pad };
        int dqSlice = DqColumnsPerWarp(d, kvStream);
        var keyValueAtomic = Make(spec, GpuKernelKind.BackwardKeyValueAtomic, kvStream, 16 * Warps, Warps, 2, atomicLayout, kvRegisters + (dqSlice / 4))
            with { EntryName = name + "_bwd_dkdv_dqatomic", CapturedBuffers = captured, ModifierNotes = notes, TakesBlockMask = masked };
        var convert = Make(spec, GpuKernelKind.BackwardQueryConvert, PreprocessThreads / PreprocessLanesPerRow, 0, PreprocessThreads / 32, 1,
            new BackwardSharedLayout(dPitch, dvPitch, 0, 0, 1, false), 24) with { EntryName = name + "_bwd_dq_convert" };
        return (new[] { preprocess, keyValue, query, keyValueAtomic, convert }, null);
    }

    /// <summary>
    /// Warps of the atomic-dQ dK/dV kernel that share one 16-row slice of dS (4 warps over BlockQ / 16 slices: 1 for
    /// query tiles of 64, 2 for tiles of 32, which split D's 16-column groups between them).
    /// </summary>
    public static int DqColumnSplit(int streamRows) => Warps / (streamRows / 16);

    /// <summary>Columns of dQ one warp of the atomic-dQ dK/dV kernel computes per item: its share of D's 16-column groups, rounded up.</summary>
    public static int DqColumnsPerWarp(int headDim, int streamRows)
    {
        int groups = headDim / 16;
        int split = DqColumnSplit(streamRows);
        return 16 * ((groups + split - 1) / split);
    }

    /// <summary>Floats of workspace a call needs: Δ and the base-2 LSE, [B, Hq, Sq] each; in the atomic-dQ mode also the fp32 dQ accumulator [B, Hq, Sq, D].</summary>
    public static string WorkspaceFormula(AttentionSpec spec, bool deterministic) => deterministic
        ? "2*B*Hq*Sq floats (delta, lse2)"
        : "(2 + " + spec.HeadDim.ToString(CultureInfo.InvariantCulture) + ")*B*Hq*Sq floats (delta, lse2, fp32 dQ accumulator [B, Hq, Sq, D])";

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
        int scoreGradientRows = layout.ScoreGradientPitchBytes > 0 ? layout.ResidentRows : 0;
        var smem = new GpuSharedMemoryLayout(layout.DPitchBytes, layout.DPitchBytes, layout.DvPitchBytes, layout.ResidentBytes + layout.ScoreGradientBytes, layout.StageBytes, 0, layout.Stages,
            GpuSharedMemoryLayout.RowPaddingBytes * (layout.ResidentRows + (2 * layout.Stages * layout.StreamRows) + scoreGradientRows));
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
            case GpuKernelKind.BackwardKeyValueAtomic:
                s.Append(Invariant($"  gpu bwd dkdv+dq sm_80 PTX (ISA 7.8), atomic-dQ mode: the dK/dV kernel above (same tiles and grid) that also adds dQ\n"));
                s.Append(Invariant($"               per query tile, after dK: dS^T to shared memory, barrier, each warp's slice of dS*K (16 query rows, {DqColumnSplit(k.BlockQ)} warp(s) per 16 rows splitting D), red.global.add.f32 into the fp32 dQ accumulator (5 tile products per tile pair)\n"));
                s.Append(Invariant($"  gpu smem     {k.Smem.TotalBytes} bytes/block: as the dK/dV kernel + dS^T {l.ResidentRows}x{l.ScoreGradientPitchBytes}\n"));
                break;
            case GpuKernelKind.BackwardQueryConvert:
                s.Append(Invariant($"  gpu bwd dq cvt sm_80 PTX (ISA 7.8), atomic-dQ mode: dQ = scale * accumulator in the input type, {k.BlockQ} rows x {PreprocessLanesPerRow} lanes per block of {k.ThreadsPerBlock} threads; grid (ceil(Sq/{k.BlockQ}), Hq, B)\n"));
                break;
            default:
                s.Append(Invariant($"  gpu bwd dq   sm_80 PTX (ISA 7.8): {k.BlockQ} query rows per block ({k.Warps} warps x 16), key tiles of {k.BlockKV} in a {k.Stages}-stage cp.async ring; grid (ceil(Sq/{k.BlockQ}), Hq, B)\n"));
                s.Append("               per key tile: S = Q*K^T, P = exp2(S*c - lse2), dP = dO*V^T, dS = P o (dP - delta), dQ += dS*K; one writer per dQ element (deterministic)\n");
                s.Append(Invariant($"  gpu smem     {k.Smem.TotalBytes} bytes/block: Q {l.ResidentRows}x{l.DPitchBytes} + dO {l.ResidentRows}x{l.DvPitchBytes} + {l.Stages} x (K {l.StreamRows}x{l.DPitchBytes} + V {l.StreamRows}x{l.DvPitchBytes})\n"));
                break;
        }

        if (k.Kind is not (GpuKernelKind.BackwardPreprocess or GpuKernelKind.BackwardQueryConvert))
        {
            s.Append(Invariant($"  gpu regs     ~{k.EstimatedRegisters}/thread (estimate); blocks/SM sm_80 {k.Sm80.BlocksPerSm} ({k.Sm80.Limiter}), sm_90 {k.Sm90.BlocksPerSm} ({k.Sm90.Limiter})\n"));
        }

        return s.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
