using System;
using KernelDsl;

namespace FlexBench;

// The variants of issue 4's benchmark, one spec per (variant, dtype), BHSD like PyTorch's tensors, D = 128,
// H = 16 query heads. Every variant is causal (decoder style), so kept pairs are comparable across variants;
// FlexAttention gets the same masks as block masks and the same score modifiers (flex_variants.py).

[Attention(HeadDim = 128)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class CausalFp16;

[Attention(HeadDim = 128)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class CausalBf16;

[Attention(HeadDim = 128)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.SlidingWindow, Alignment = MaskAlignment.BottomRight, Left = 1023, Right = 0)]
internal static partial class Sliding1024Fp16;

[Attention(HeadDim = 128)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.SlidingWindow, Alignment = MaskAlignment.BottomRight, Left = 1023, Right = 0)]
internal static partial class Sliding1024Bf16;

[Attention(HeadDim = 128)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class AlibiFp16
{
    private const int Heads = 16;

    /// <summary>ALiBi with the standard geometric slopes 2^(−8(h+1)/H); the slope is hoisted out of the loop.</summary>
    [ScoreMod]
    private static float Alibi(float score, int h, int q, int kv) => score - (MathF.Pow(2f, -8f * (h + 1) / Heads) * (q - kv));
}

[Attention(HeadDim = 128)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class AlibiBf16
{
    private const int Heads = 16;

    /// <summary>ALiBi with the standard geometric slopes 2^(−8(h+1)/H); the slope is hoisted out of the loop.</summary>
    [ScoreMod]
    private static float Alibi(float score, int h, int q, int kv) => score - (MathF.Pow(2f, -8f * (h + 1) / Heads) * (q - kv));
}

[Attention(HeadDim = 128)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class SoftcapFp16
{
    /// <summary>Gemma-2 style logit soft-capping at 30.</summary>
    [ScoreMod]
    private static float Softcap(float score) => 30f * MathF.Tanh(score / 30f);
}

[Attention(HeadDim = 128)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class SoftcapBf16
{
    /// <summary>Gemma-2 style logit soft-capping at 30.</summary>
    [ScoreMod]
    private static float Softcap(float score) => 30f * MathF.Tanh(score / 30f);
}

/// <summary>Document masking over packed sequences (causal within each document); documents are a captured buffer.</summary>
[Attention(HeadDim = 128)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class DocumentFp16
{
    [MaskMod]
    private static bool SameDocument(int q, int kv, [Captured("Skv")] ReadOnlySpan<int> documents) => documents[q] == documents[kv];
}

/// <summary>Document masking over packed sequences (causal within each document); documents are a captured buffer.</summary>
[Attention(HeadDim = 128)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class DocumentBf16
{
    [MaskMod]
    private static bool SameDocument(int q, int kv, [Captured("Skv")] ReadOnlySpan<int> documents) => documents[q] == documents[kv];
}
