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
        int blockQ = spec.Tiling.BlockQ != 0 ? spec.Tiling.BlockQ : DefaultBlockQ(spec);
        int blockKV = spec.Tiling.BlockKV != 0 ? spec.Tiling.BlockKV : DefaultBlockKV(spec);
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

    // Query tile: 64 rows = 4 AVX-512 vectors, the micro-kernel's full column width, so Sᵀ = K·Qᵀ runs on
    // whole 6×4 register tiles. Larger tiles amortise the K/V widening further but waste more work on the
    // diagonal of causal masks and leave fewer work items to balance over the cores.
    private static int DefaultBlockQ(AttentionSpec spec) => 64;

    private static int DefaultBlockKV(AttentionSpec spec) => 64;
}
