namespace KernelDsl.Tests.Numerics;

/// <summary>
/// Relative-error bounds per output precision, set a little above what the kernel achieves (worst case over
/// the matrix, recorded in samples/Bench/NOTES.md). DESIGN.md's ceilings are 1e-5 (fp32) and 1e-2 (16-bit);
/// 16-bit outputs are dominated by the final rounding of O (half an ulp: 2^-9 for bf16, 2^-12 for fp16).
/// </summary>
internal static class Tolerances
{
    public static double Output(DType outputType, bool largeMagnitude) => outputType switch
    {
        DType.FP32 => largeMagnitude ? 1e-5 : 2e-6,
        DType.FP16 => 1e-3,
        _ => 5e-3,
    };

    /// <summary>Max |lse − ref|: LSE is fp32 math on exact inputs, so it scales with the scores' size.</summary>
    public static double Lse(bool largeMagnitude) => largeMagnitude ? 1e-4 : 1e-5;
}
