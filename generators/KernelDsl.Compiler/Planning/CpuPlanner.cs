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
        int blockQ = spec.Tiling.BlockQ != 0 ? spec.Tiling.BlockQ : 64;
        int blockKV = spec.Tiling.BlockKV != 0 ? spec.Tiling.BlockKV : 64;
        int workingSet = WorkingSetBytes(spec, blockQ, blockKV);
        if (workingSet > AssumedL2Bytes)
        {
            diagnostics.Add(SpecDiagnostic.Create(DiagnosticCatalog.CpuTileTooLarge, SpecPaths.Tiling,
                blockQ, blockKV, workingSet / 1024, spec.HeadDim, AssumedL2Bytes / 1024));
            return null;
        }

        return new CpuKernelPlan(blockQ, blockKV, workingSet, AssumedL1Bytes, AssumedL2Bytes);
    }

    /// <summary>FP32 bytes: Q tile, Kᵀ tile, V tile, S/P tile, O accumulator, row statistics.</summary>
    public static int WorkingSetBytes(AttentionSpec spec, int blockQ, int blockKV) =>
        4 * ((blockQ * spec.HeadDim) + (spec.HeadDim * blockKV) + (blockKV * spec.ValueHeadDim)
             + (blockQ * blockKV) + (blockQ * spec.ValueHeadDim) + (3 * blockQ));
}
