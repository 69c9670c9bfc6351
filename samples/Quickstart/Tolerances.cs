using KernelDsl;

namespace Quickstart;

/// <summary>
/// The error a run may have against the float64 reference (‖out − ref‖₂ / ‖ref‖₂) and still PASS: the bounds of the
/// repository's numeric tests (tests/KernelDsl.Tests Tolerances, tests/KernelDsl.Gpu.Tests GpuTolerances), which
/// are about 2x the worst error seen there. The output type's rounding dominates: bf16 keeps 8 mantissa bits.
/// </summary>
internal static class Tolerances
{
    public static double Cpu(DType output) => output switch
    {
        DType.FP32 => 1e-6,
        DType.FP16 => 4e-4,
        _ => 3e-3,
    };

    /// <summary>Max |LSE − ref| on the CPU: fp32 math, a few ulps of the LSE's size (unit-magnitude inputs).</summary>
    public const double Lse = 3e-6;

    /// <summary>The tensor-core kernels round P to the input type before P·V, as FlashAttention does.</summary>
    public static double Gpu(DType input) => input == DType.BF16 ? 5e-3 : 1e-3;
}
