using System.Collections.Generic;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// Chooses CPU tile sizes so the per-thread working set stays in L2 (and the hot K/V panels near L1).
/// The cache sizes are those of the machines we measure on (see samples/Bench/NOTES.md).
/// </summary>
public static class CpuPlanner
{
    public const int AssumedL1Bytes = 48 * 1024;
    public const int AssumedL2Bytes = 1024 * 1024;

    public static CpuKernelPlan? Plan(AttentionSpec spec, List<SpecDiagnostic> diagnostics)
    {
        var defaults = DefaultTiles(spec);
        int blockQ = spec.Tiling.BlockQ != 0 ? spec.Tiling.BlockQ : defaults.BlockQ;
        int blockKV = spec.Tiling.BlockKV != 0 ? spec.Tiling.BlockKV : defaults.BlockKV;
        var scratch = Scratch(spec, blockQ, blockKV);
        int workingSet = scratch.TotalFloats * sizeof(float);
        if (workingSet > AssumedL2Bytes)
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.CpuTileTooLarge, SpecPaths.Tiling,
                blockQ, blockKV, workingSet / 1024, spec.HeadDim, AssumedL2Bytes / 1024));
            return null;
        }

        return new CpuKernelPlan(blockQ, blockKV, workingSet, AssumedL1Bytes, AssumedL2Bytes, scratch);
    }

    /// <summary>The fp32 scratch one worker needs for these tiles (see <see cref="CpuScratchLayout"/>).</summary>
    public static CpuScratchLayout Scratch(AttentionSpec spec, int blockQ, int blockKV) =>
        CpuScratchLayout.For(spec.HeadDim, spec.ValueHeadDim, spec.InputType == ElementType.FP32, blockQ, blockKV);

    /// <summary>FP32 bytes of one worker's scratch: Qᵀ, K and V tiles (when copied), Sᵀ, O, row statistics.</summary>
    public static int WorkingSetBytes(AttentionSpec spec, int blockQ, int blockKV) =>
        Scratch(spec, blockQ, blockKV).TotalFloats * sizeof(float);

    /// <summary>
    /// Default tiles: 128 queries × 128 keys, halving the key block, then the query block, until the scratch
    /// fits in half of L2 (the other half is for the K/V rows streaming in). Measured on the bench machine
    /// (samples/Bench/NOTES.md): at D = 128 every choice from 64×64 to 256×64 lands within ±5%, larger tiles
    /// slightly ahead — they amortise K/V widening over more queries and the O rescale over more keys.
    /// 128 queries are 8 AVX-512 vectors, two full column tiles of the micro-kernel.
    /// </summary>
    private static (int BlockQ, int BlockKV) DefaultTiles(AttentionSpec spec)
    {
        int blockQ = 128, blockKV = 128;
        while (WorkingSetBytes(spec, blockQ, blockKV) > AssumedL2Bytes / 2 && blockQ > 16)
        {
            if (blockKV >= blockQ)
            {
                blockKV /= 2;
            }
            else
            {
                blockQ /= 2;
            }
        }

        return (blockQ, blockKV);
    }
}
