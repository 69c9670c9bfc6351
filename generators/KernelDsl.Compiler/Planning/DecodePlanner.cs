using System;
using System.Collections.Generic;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// The paged-decode kernels of a [PagedKv] spec (issue 11): the decode kernel and the split-KV merge kernel, both sm_80
/// family (mma.sync; they run on Hopper too: decode reads each K/V byte once and does ~2·G·q FLOPs per byte, far under
/// any tensor-core roof, so the memory pipeline decides its speed, not the matmul family).
/// </summary>
/// <remarks>
/// Decode tiles: a CTA holds <see cref="RowsPerCta"/> packed query rows (one m16 slab: the G query heads × q queries of a
/// KV group, group-major) and streams the sequence's K/V in tiles of <see cref="KeysPerTile"/> keys through a
/// <see cref="Stages"/>-deep cp.async ring; each of the <see cref="Warps"/> warps takes its own 16 keys of every tile
/// (FlashDecoding inside the CTA), keeping an online softmax of its own, and the warps merge their (m, l, O) in shared
/// memory at the end. While a CTA waits for a tile the whole ring (Stages tiles of 64 keys of K and V) is in flight: the
/// stage a tile leaves is refilled before the wait for the next (DecodeKernel.Loop).
/// </remarks>
public static class DecodePlanner
{
    public const int RowsPerCta = 16;

    public const int Warps = 4;

    /// <summary>Keys per CTA tile: 16 per warp.</summary>
    public const int KeysPerTile = 16 * Warps;

    /// <summary>Threads of the merge kernel's block: each thread combines two output columns of one row.</summary>
    public static int MergeThreads(int valueHeadDim) => Math.Max(32, ((valueHeadDim / 2) + 31) / 32 * 32);

    /// <summary>The largest head dims of a fused DecodeAppend GPU kernel: at 256 the decode kernel already uses all 255 registers (its
    /// O accumulator is 128 of them), and the prologue's temporaries spill (ptxas 2026-12-03: 184-byte stack on sm_80).</summary>
    public const int MaxAppendHeadDim = 128;

    /// <summary>True when the spec gets a GPU DecodeAppend kernel (else DecodeAppend runs on the CPU only).</summary>
    public static bool HasAppendKernel(AttentionSpec spec) => spec.HasDecodeAppend && spec.HeadDim <= MaxAppendHeadDim && spec.ValueHeadDim <= MaxAppendHeadDim;

    /// <summary>The decode and merge kernels, or none (no [PagedKv], or no GPU forward: the same element and head-dim rules).</summary>
    public static IEnumerable<GpuKernelPlan> Plan(AttentionSpec spec, GpuKernelPlan? portableForward)
    {
        if (spec.PagedKv is null || portableForward is null)
        {
            yield break;
        }

        var element = ElementTraits.Of(spec.InputType);
        int stages = 3;
        var smem = GpuPlanner.Layout(spec.HeadDim, spec.ValueHeadDim, RowsPerCta, KeysPerTile, stages, element);
        if (smem.TotalBytes > GpuPlanner.Sm80.SmemPerBlock)
        {
            stages = 2;
            smem = GpuPlanner.Layout(spec.HeadDim, spec.ValueHeadDim, RowsPerCta, KeysPerTile, stages, element);
        }

        // The warps' merge reuses the ring: Warps x 16 rows x Dv fp32 partial O, plus m and l per warp and row.
        int mergeBytes = (Warps * RowsPerCta * spec.ValueHeadDim * 4) + (2 * Warps * RowsPerCta * 4);
        int ring = smem.TotalBytes - smem.QBytes;
        if (mergeBytes > ring)
        {
            yield break; // cannot happen for head dims 16–256 (the ring holds at least 2 x 64 V rows of Dv 16-bit elements); kept as a guard
        }

        // O (16 x Dv fp32 over 32 lanes: Dv/2 per thread) + S (8) + fragments, row state, page-table addressing and the
        // modifiers' temporaries. Fit to ptxas -v (2026-12-03, 0 spills): CUDA 11.8 sm_80 116 / 166-182 / 254 and CUDA 12.4
        // sm_90 110 / 158-168 / 254 registers at Dv 64 / 128 / 256.
        int registers = System.Math.Min(GpuPlanner.MaxRegistersPerThread, 64 + (3 * spec.ValueHeadDim / 4));
        string name = GpuPlanner.EntryNameFor(spec);
        string stem = name.EndsWith("_fwd", StringComparison.Ordinal) ? name.Substring(0, name.Length - 4) : name;
        int threads = 32 * Warps;
        yield return new GpuKernelPlan(RowsPerCta, KeysPerTile, Warps, stages, smem,
            spec.EffectiveScale * Constants.Log2E, registers,
            GpuPlanner.Occupancy(GpuPlanner.Sm80, smem.TotalBytes, registers, threads),
            GpuPlanner.Occupancy(GpuPlanner.Sm90, smem.TotalBytes, registers, threads))
        {
            Kind = GpuKernelKind.Decode,
            EntryName = stem + "_decode",
            ModifierNotes = ModifierMathNotes.For(spec),
            WritesLse = spec.Epilogue.WriteLse,
            CapturedBuffers = spec.CapturedBuffers.Count,
        };

        if (HasAppendKernel(spec))
        {
            // The same tiles, ring and grid, plus the prologue's temporaries (rotation, the page writes) inside the KV loop,
            // where O is live. Fit to ptxas -v (2026-12-03, 0 spills): CUDA 11.8 sm_80 126 / 162-180 and CUDA 12.4 sm_90
            // 114 / 128-168 registers at Dv 64 / 128.
            int appendRegisters = System.Math.Min(GpuPlanner.MaxRegistersPerThread, registers + 32);
            yield return new GpuKernelPlan(RowsPerCta, KeysPerTile, Warps, stages, smem,
                spec.EffectiveScale * Constants.Log2E, appendRegisters,
                GpuPlanner.Occupancy(GpuPlanner.Sm80, smem.TotalBytes, appendRegisters, threads),
                GpuPlanner.Occupancy(GpuPlanner.Sm90, smem.TotalBytes, appendRegisters, threads))
            {
                Kind = GpuKernelKind.DecodeAppend,
                EntryName = stem + "_decode_append",
                ModifierNotes = ModifierMathNotes.For(spec),
                WritesLse = spec.Epilogue.WriteLse,
                CapturedBuffers = spec.CapturedBuffers.Count,
            };
        }

        if (HasAppendKernel(spec))
        {
            var noSmem = new GpuSharedMemoryLayout(0, 0, 0, 0, 0, 0, 0, 0);
            yield return new GpuKernelPlan(1, 0, Warps, 0, noSmem, 0, 40,
                GpuPlanner.Occupancy(GpuPlanner.Sm80, 0, 40, threads),
                GpuPlanner.Occupancy(GpuPlanner.Sm90, 0, 40, threads))
            {
                Kind = GpuKernelKind.RotateAppend,
                EntryName = stem + "_rotate_append",
            };
        }

        int mergeThreads = MergeThreads(spec.ValueHeadDim);
        var none = new GpuSharedMemoryLayout(0, 0, 0, 0, 0, 0, 0, 0);
        yield return new GpuKernelPlan(1, 0, mergeThreads / 32, 0, none, 0, 32,
            GpuPlanner.Occupancy(GpuPlanner.Sm80, 0, 32, mergeThreads),
            GpuPlanner.Occupancy(GpuPlanner.Sm90, 0, 32, mergeThreads))
        {
            Kind = GpuKernelKind.DecodeMerge,
            EntryName = stem + "_decode_merge",
            WritesLse = spec.Epilogue.WriteLse,
        };
    }
}
