using System;

namespace KernelDsl.Gpu.Tests.Backward;

// [Backward] specs for the GPU gradient tests (sm_80 backward kernels): fp16/bf16 × layouts × masks × head dims 32–128,
// D ≠ Dv, softcap, captured ALiBi slopes, a mask modifier with rows that keep no key — each run in both modes (the default
// atomic-dQ one and deterministic: true). One spec built with Deterministic = true. And the specs the GPU backward does
// not cover yet, whose device Backward must throw.

[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Backward]
internal static partial class GpuBwdFp16Dense;

/// <summary>The attribute form of the deterministic mode: no atomic-dQ kernels, every call deterministic.</summary>
[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Backward(Deterministic = true)]
internal static partial class GpuBwdFp16DenseDeterministic;

[Attention(HeadDim = 128)]
[Precision(DType.BF16)]
[Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Backward]
internal static partial class GpuBwdBf16CausalBottomRightD128;

/// <summary>Head dim 80: five 16-column groups of dQ, split between two warps in the atomic-dQ mode with one repeated.</summary>
[Attention(HeadDim = 80)]
[Precision(DType.FP16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
[Backward]
internal static partial class GpuBwdFp16CausalD80;

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
[Backward]
internal static partial class GpuBwdBf16CausalTopLeft;

[Attention(HeadDim = 128)]
[Precision(DType.FP16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Backward]
internal static partial class GpuBwdFp16CausalBottomRightD128;

[Attention(HeadDim = 32)]
[Precision(DType.FP16)]
[Mask(MaskKind.SlidingWindow, Left = 37, Right = 5, Alignment = MaskAlignment.TopLeft)]
[Backward]
internal static partial class GpuBwdFp16WindowD32;

[Attention(HeadDim = 96, ValueHeadDim = 64)]
[Precision(DType.BF16)]
[Layout(TensorLayout.BHSD)]
[Backward]
internal static partial class GpuBwdBf16D96Dv64;

[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Backward]
internal static partial class GpuBwdFp16Softcap
{
    [ScoreMod]
    private static float Softcap(float score) => 2f * MathF.Tanh(score / 2f);
}

[Attention(HeadDim = 128)]
[Precision(DType.BF16)]
[Backward]
internal static partial class GpuBwdBf16AlibiSlopes
{
    [ScoreMod]
    private static float Alibi(float score, int h, int q, int kv, [Captured("Hq")] ReadOnlySpan<float> slopes) =>
        score - (slopes[h] * Math.Abs(q - kv));
}

[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Backward]
internal static partial class GpuBwdFp16SparseRows
{
    /// <summary>Every fifth query row keeps no key: its gradients must be exactly 0.</summary>
    [MaskMod]
    private static bool Keep(int q, int kv) => q % 5 != 2 && (kv < 8 || q >= kv);
}

[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Backward]
internal static partial class GpuBwdLearnableSlopes
{
    [ScoreMod]
    private static float Alibi(float score, int h, int q, int kv, [Captured("Hq", Learnable = true)] ReadOnlySpan<float> slopes) =>
        score - (slopes[h] * Math.Abs(q - kv));
}

[Attention(HeadDim = 256)]
[Precision(DType.BF16)]
[Backward]
internal static partial class GpuBwdD256;
