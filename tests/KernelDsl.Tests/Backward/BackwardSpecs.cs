using System;

namespace KernelDsl.Tests.Backward;

// [Backward] specs for the CPU gradient tests: precision × layout × mask × head dim, modifiers, learnable buffers.

[Attention(HeadDim = 32)]
[Backward]
public static partial class BwdFp32Plain;

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Backward(Deterministic = true)]
public static partial class BwdBf16CausalBottomRight;

[Attention(HeadDim = 48, ValueHeadDim = 32)]
[Precision(DType.FP16)]
[Mask(MaskKind.SlidingWindow, Left = 20, Right = 3, Alignment = MaskAlignment.TopLeft)]
[Tiling(BlockQ = 16, BlockKV = 32)]
[Backward]
public static partial class BwdFp16Window;

[Attention(HeadDim = 128)]
[Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
[Fusion(OutputType = DType.FP32)]
[Backward]
public static partial class BwdFp32CausalTopLeftD128;

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Fusion(OutputType = DType.FP32)]
[Backward]
public static partial class BwdBf16InFp32Out;

[Attention(HeadDim = 64)]
[Backward]
public static partial class BwdSoftcap
{
    [ScoreMod]
    private static float Softcap(float score) => 2f * MathF.Tanh(score / 2f);
}

[Attention(HeadDim = 32)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Backward]
public static partial class BwdAlibiLearnable
{
    [ScoreMod]
    private static float Alibi(float score, int h, int q, int kv, [Captured("Hq", Learnable = true)] ReadOnlySpan<float> slopes) =>
        score - (slopes[h] * Math.Abs(q - kv));
}

[Attention(HeadDim = 32)]
[Precision(DType.BF16)]
[Backward]
public static partial class BwdT5Learnable
{
    [ScoreMod]
    private static float RelativeBias(float score, int h, int q, int kv, [Captured("Hq", "8", Learnable = true)] ReadOnlySpan<float> bias)
    {
        int distance = kv - q;
        int bucket = (distance > 0 ? 4 : 0) + Math.Min(Math.Abs(distance), 3);
        return score + bias[(h * 8) + bucket];
    }
}

[Attention(HeadDim = 32)]
[Backward]
public static partial class BwdPrefixLm
{
    [MaskMod]
    private static bool PrefixLm(int q, int kv) => kv < 5 || q >= kv;
}

[Attention(HeadDim = 32)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
[Tiling(BlockQ = 16, BlockKV = 16)]
[Backward]
public static partial class BwdDocument
{
    [MaskMod]
    private static bool SameDocument(int q, int kv, [Captured("Skv")] ReadOnlySpan<int> documents) => documents[q] == documents[kv] && q % 7 != 3;
}
