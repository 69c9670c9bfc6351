using System;
using System.Collections.Generic;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// Chooses the GPU kernel's tiles, warps, pipeline depth and shared-memory layout from the head dimensions.
/// The [Tiling] attribute's BlockQ/BlockKV are CPU tile sizes and are ignored here: GPU tiles follow from the
/// head dimensions and the register/shared-memory budgets of sm_80 and sm_90, which a user rarely wants to
/// hand-tune per spec (documented in the plan text). FP32 input specs get no GPU kernel (no fp32 tensor-core
/// path in this kernel family), without a diagnostic; specs whose head dims are not multiples of 16 or whose
/// tiles do not fit get a warning and no GPU kernel, while the CPU kernel is still generated.
/// </summary>
public static class GpuPlanner
{
    /// <summary>Per-SM and per-block limits of the two targets the plan reports (bytes, registers).</summary>
    public static readonly GpuTarget Sm80 = new("sm_80", SmemPerSm: 164 * 1024, SmemPerBlock: 163 * 1024);

    public static readonly GpuTarget Sm90 = new("sm_90", SmemPerSm: 228 * 1024, SmemPerBlock: 227 * 1024);

    public const int RegistersPerSm = 65536;
    public const int MaxRegistersPerThread = 255;
    public const int MaxThreadsPerSm = 2048;
    public const int MaxBlocksPerSm = 32;

    /// <summary>Shared memory the hardware reserves per resident block (sm_80 and later).</summary>
    public const int ReservedSmemPerBlock = 1024;

    /// <summary>Registers beyond accumulators and fragments: addresses, loop state, mask bounds, temporaries.</summary>
    public const int OverheadRegisters = 40;

    public static GpuKernelPlan? Plan(AttentionSpec spec, List<SpecDiagnostic> diagnostics) => Plan(spec, diagnostics, null);

    /// <summary>
    /// Plans with the given tile choices instead of the defaults (null fields keep the default); used by the
    /// benchmark's variant sweeps (samples/PtxDump) to measure alternatives before changing the defaults.
    /// </summary>
    public static GpuKernelPlan? Plan(AttentionSpec spec, List<SpecDiagnostic> diagnostics, GpuTuning? tuning)
    {
        if (tuning?.Family == GpuFamily.Sm90a)
        {
            return PlanSm90a(spec, tuning);
        }

        if (spec.InputType == ElementType.FP32)
        {
            return null;
        }

        if (spec.HeadDim % 16 != 0 || spec.ValueHeadDim % 16 != 0)
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.GpuHeadDimUnsupported, SpecPaths.HeadDim, spec.HeadDim, spec.ValueHeadDim));
            return null;
        }

        var (blockQ, blockKV, warps, slabs) = ChooseTiles(Math.Max(spec.HeadDim, spec.ValueHeadDim));
        int stages = tuning?.Stages ?? 2;
        warps = tuning?.Warps ?? warps;
        slabs = tuning?.Slabs ?? slabs;
        blockQ = 16 * warps * slabs;
        blockKV = tuning?.BlockKV ?? blockKV;
        var element = ElementTraits.Of(spec.InputType);
        var smem = Layout(spec.HeadDim, spec.ValueHeadDim, blockQ, blockKV, stages, element);
        int registers = EstimateRegisters(spec.HeadDim, spec.ValueHeadDim, blockKV, slabs, element);

        if (smem.TotalBytes > Sm80.SmemPerBlock)
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.GpuSharedMemoryExceeded, SpecPaths.HeadDim,
                smem.TotalBytes, spec.HeadDim, spec.ValueHeadDim, Sm80.SmemPerBlock));
            return null;
        }

        if (registers > MaxRegistersPerThread)
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.GpuRegistersExceeded, SpecPaths.HeadDim,
                registers, spec.HeadDim, spec.ValueHeadDim, MaxRegistersPerThread));
            return null;
        }

        int threads = 32 * warps;
        return new GpuKernelPlan(blockQ, blockKV, warps, stages, smem,
            spec.EffectiveScale * Constants.Log2E, registers,
            Occupancy(Sm80, smem.TotalBytes, registers, threads),
            Occupancy(Sm90, smem.TotalBytes, registers, threads))
        {
            EntryName = EntryNameFor(spec) + (tuning?.NameSuffix ?? string.Empty),
            Slabs = slabs,
            SkipUnchangedRescale = tuning?.SkipUnchangedRescale ?? false,
            ModifierNotes = ModifierMathNotes.For(spec),
            TakesBlockMask = TakesBlockMask(spec),
            WritesLse = spec.Epilogue.WriteLse,
            CapturedBuffers = spec.CapturedBuffers.Count,
        };
    }

    /// <summary>
    /// The sm_90a-family (wgmma) kernel for specs it covers, else null — without a diagnostic: the sm_80-family kernel
    /// then runs on Hopper too. Covered: 16-bit inputs, head dims 64 or 128 (whole 64-column blocks of the 128-byte
    /// swizzle; O and S accumulators of 64 query rows per warpgroup must stay under 255 registers).
    /// Tiles: 2 warpgroups × 64 query rows, 128-key tiles (wgmma n128: the widest product the accumulator budget
    /// allows, so each byte of Q or K read by the tensor cores feeds the most FLOPs), and as many cp.async stages as
    /// fit sm_90's 227 KiB (at least 3: the P·V of tile n−1 still reads its V stage while tile n's K is used).
    /// </summary>
    public static GpuKernelPlan? PlanSm90a(AttentionSpec spec, GpuTuning? tuning = null)
    {
        // A tuning that asks for the family (the benchmark's variants) overrides the narrow-window preference, never
        // what the kernel cannot do.
        if (Sm90aCannotRun(spec) is not null || (tuning?.Family != GpuFamily.Sm90a && Sm90aExclusion(spec) is not null))
        {
            return null;
        }

        var element = ElementTraits.Of(spec.InputType);
        const int warps = 8;
        const int blockQ = 128;
        int blockKV = tuning?.BlockKV ?? 128;
        int stages = tuning?.Stages ?? 0;
        if (stages == 0)
        {
            stages = 3;
            while (stages < 4 && Sm90aLayout(spec.HeadDim, spec.ValueHeadDim, blockQ, blockKV, stages + 1, element).TotalBytes <= Sm90.SmemPerBlock)
            {
                stages++;
            }
        }

        var smem = Sm90aLayout(spec.HeadDim, spec.ValueHeadDim, blockQ, blockKV, stages, element);
        if (smem.TotalBytes > Sm90.SmemPerBlock)
        {
            return null;
        }

        // Per thread (one 16-row slab of a warpgroup's 64 rows): S blockKV/2 + O Dv/2 fp32, P blockKV/4 16-bit pairs.
        int registers = (blockKV / 2) + (spec.ValueHeadDim / 2) + (blockKV / 2 / element.PerRegister) + OverheadRegisters;
        if (registers > MaxRegistersPerThread)
        {
            return null;
        }

        // The estimate counts accumulators and fragments only. With modifiers ptxas may take more, up to the cap, at no
        // occupancy cost (one 256-thread block per SM either way): sm_90a ptxas 13.0 on 2026-12-01 used 233-255 for
        // ALiBi with captured slopes, and 159-202 for softcap, prefix-LM and ALiBi with a constant slope; never spilled.
        int threads = 32 * warps;
        return new GpuKernelPlan(blockQ, blockKV, warps, stages, smem,
            spec.EffectiveScale * Constants.Log2E, registers,
            Occupancy(Sm80, smem.TotalBytes, registers, threads),
            Occupancy(Sm90, smem.TotalBytes, registers, threads))
        {
            EntryName = EntryNameFor(spec) + "_sm90a" + (tuning?.NameSuffix ?? string.Empty),
            Family = GpuFamily.Sm90a,
            Slabs = 1,
            ModifierNotes = ModifierMathNotes.For(spec),
            TakesBlockMask = TakesBlockMask(spec),
            WritesLse = spec.Epilogue.WriteLse,
            CapturedBuffers = spec.CapturedBuffers.Count,
        };
    }

    /// <summary>
    /// Why a spec gets no sm_90a kernel (its sm_80 kernel then runs on Hopper too), or null when it gets one.
    /// Narrow sliding windows stay on the sm_80 family: the sm_90a kernel's 128-key tiles spend most of a boundary tile
    /// on dropped pairs, and on the H200 (2026-12-01) a 101-key window ran at 0.86–0.88× and an 88-key window at
    /// 0.83–0.85× of the sm_80 kernel, while the 1025-key window of issue 4's benchmark ran 1.09–1.13× FlexAttention on
    /// it. The 256-key threshold (two tiles) lies between those measurements; it has not been located more precisely.
    /// </summary>
    public static string? Sm90aExclusion(AttentionSpec spec)
    {
        if (Sm90aCannotRun(spec) is { } reason)
        {
            return reason;
        }

        var mask = spec.Mask;
        return mask.BandLeft >= 0 && mask.BandRight >= 0 && mask.BandLeft + mask.BandRight + 1 < MinSm90aWindow
            ? "a window narrower than " + MinSm90aWindow.ToString(System.Globalization.CultureInfo.InvariantCulture) + " keys: measured faster with the sm_80 kernel's smaller tiles"
            : null;
    }

    /// <summary>Why the sm_90a kernel cannot compute a spec at all (null when it can).</summary>
    private static string? Sm90aCannotRun(AttentionSpec spec) =>
        spec.InputType == ElementType.FP32 ? "FP32 inputs"
        : !Sm90aCovers(spec.HeadDim) || !Sm90aCovers(spec.ValueHeadDim) ? "the sm_90a family covers head dims 64 and 128"
        : null;

    /// <summary>Narrowest sliding window (keys per row) that gets the sm_90a kernel; see <see cref="Sm90aExclusion"/>.</summary>
    public const int MinSm90aWindow = 256;

    private static bool Sm90aCovers(int headDim) => headDim == 64 || headDim == 128;

    /// <summary>The sm_90a family's shared memory: unpadded tiles (the 128-byte swizzle spreads the banks), each a multiple of 1024 bytes so every tile starts on a swizzle atom.</summary>
    public static GpuSharedMemoryLayout Sm90aLayout(int headDim, int valueHeadDim, int blockQ, int blockKV, int stages, ElementTraits element)
    {
        int qRow = headDim * element.Bytes;
        int vRow = valueHeadDim * element.Bytes;
        return new(qRow, qRow, vRow, blockQ * qRow, blockKV * qRow, blockKV * vRow, stages, 0);
    }

    /// <summary>
    /// Tile choices per head dim, each measured on the H100 against the alternatives (samples/Bench/NOTES.md):
    /// D ≤ 128: 4 warps × 2 m16 slabs = 128 query rows per block, so each K/V fragment read from shared memory
    /// feeds two mma (half the shared-memory traffic of one slab per warp), Q re-read from shared memory, and two
    /// blocks per SM; D ≤ 64 streams 64-key tiles, 64 < D ≤ 128 32-key tiles (to stay under 255 registers).
    /// D = 256: 4 warps × 1 slab and 32-key tiles keep the block under sm_80's 163 KiB and the O accumulator
    /// (128 fp32 registers) under the register limit. Q fragments are re-read from shared memory for every K tile, the
    /// registers going to the second slab instead (keeping Q in registers, overlapping S(n+1) with softmax(n) and a
    /// register cap were measured and never chosen; they were removed with issue 9).
    /// </summary>
    private static (int BlockQ, int BlockKV, int Warps, int Slabs) ChooseTiles(int maxHeadDim) =>
        maxHeadDim <= 64 ? (128, 64, 4, 2)
        : maxHeadDim <= 128 ? (128, 32, 4, 2)
        : (64, 32, 4, 1);

    public static GpuSharedMemoryLayout Layout(int headDim, int valueHeadDim, int blockQ, int blockKV, int stages, ElementTraits element)
    {
        int pad = GpuSharedMemoryLayout.RowPaddingBytes;
        int qPitch = (headDim * element.Bytes) + pad;
        int kPitch = (headDim * element.Bytes) + pad;
        int vPitch = (valueHeadDim * element.Bytes) + pad;
        int padding = pad * (blockQ + (stages * blockKV * 2));   // Q's rows, and K's and V's rows in every stage
        return new GpuSharedMemoryLayout(qPitch, kPitch, vPitch, blockQ * qPitch, blockKV * kPitch, blockKV * vPitch, stages, padding);
    }

    /// <summary>Per slab: fp32 O and S accumulators, one 16-bit Q A-fragment (re-read per head-dim step) and the P fragments (two values per register); plus overhead.</summary>
    public static int EstimateRegisters(int headDim, int valueHeadDim, int blockKV, int slabs, ElementTraits element)
    {
        int o = valueHeadDim / 2;          // 16 x Dv fp32 per slab / 32 lanes
        int s = blockKV / 2;               // 16 x BlockKV fp32 per slab / 32 lanes
        int q = 4;                         // one ldmatrix.x4 A fragment
        int p = blockKV / 2 / element.PerRegister;
        return (slabs * (o + s + q + p + 4)) + OverheadRegisters - 4;
    }

    public static GpuOccupancy Occupancy(GpuTarget target, int smemBytes, int registers, int threads)
    {
        int bySmem = target.SmemPerSm / (smemBytes + ReservedSmemPerBlock);
        int regsPerWarp = ((registers * 32) + 255) / 256 * 256;   // allocated in 256-register units per warp
        int byRegs = RegistersPerSm / (regsPerWarp * (threads / 32));
        int byThreads = MaxThreadsPerSm / threads;
        int blocks = Math.Min(Math.Min(bySmem, byRegs), Math.Min(byThreads, MaxBlocksPerSm));
        string limiter = blocks == byRegs ? "registers" : blocks == bySmem ? "shared memory" : "threads";
        return new GpuOccupancy(target.Name, blocks, limiter, target.SmemPerSm, target.SmemPerBlock);
    }

    /// <summary>
    /// Whether a spec's kernels take a runtime block mask: exactly when it has a mask modifier (built-in masks skip
    /// blocks by themselves). The one place this is decided; every emitter reads the kernel's <c>TakesBlockMask</c>.
    /// </summary>
    public static bool TakesBlockMask(AttentionSpec spec) => spec.MaskModifier is not null;

    /// <summary>A PTX identifier unique per spec: the spec's full name with dots as underscores.</summary>
    public static string EntryNameFor(AttentionSpec spec)
    {
        var name = new System.Text.StringBuilder("kdsl_");
        foreach (char c in spec.Target.FullName)
        {
            name.Append(char.IsLetterOrDigit(c) && c < 128 ? c : '_');
        }

        return name.Append("_fwd").ToString();
    }
}

/// <summary>Overrides of the planner's GPU tile choices (null = default).</summary>
public sealed record GpuTuning(GpuFamily? Family = null, int? Warps = null, int? BlockKV = null, int? Stages = null, int? Slabs = null, bool? SkipUnchangedRescale = null, string NameSuffix = "");

/// <summary>Shared-memory limits of one GPU target.</summary>
public sealed record GpuTarget(string Name, int SmemPerSm, int SmemPerBlock);
