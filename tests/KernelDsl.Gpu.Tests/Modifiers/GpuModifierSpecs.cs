using System;
using KernelDsl;
using KernelDsl.Samples.Library;

namespace KernelDsl.Gpu.Tests;

// The issue-4 modifier library on the GPU: the CPU suite's specs (tests/KernelDsl.Tests/Numerics/ModifierSpecs.cs)
// in fp16 and bf16, at head dims 64 and 128 (the two register budgets of the modifier kernels), BSHD with the LSE.
// Each case hands the reference the spec's generated float64 modifier.

[Attention(HeadDim = 64)][Precision(DType.FP16)][Fusion(WriteLse = true)]
internal static partial class GpuSoftcapFp16D64
{
    [ScoreMod] private static float Softcap(float score) => 30f * MathF.Tanh(score / 30f);
}

[Attention(HeadDim = 128)][Precision(DType.BF16)][Fusion(WriteLse = true)]
internal static partial class GpuSoftcapBf16D128
{
    [ScoreMod] private static float Softcap(float score) => 30f * MathF.Tanh(score / 30f);
}

[Attention(HeadDim = 64)][Precision(DType.BF16)][Fusion(WriteLse = true)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class GpuAlibiCausalBf16D64
{
    private const int Heads = 4;

    [ScoreMod]
    private static float Alibi(float score, int h, int q, int kv)
    {
        float slope = MathF.Pow(2f, -8f * (h + 1) / Heads);
        return score - slope * (q - kv);
    }
}

[Attention(HeadDim = 128)][Precision(DType.FP16)][Fusion(WriteLse = true)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class GpuAlibiCausalFp16D128
{
    private const int Heads = 4;

    [ScoreMod]
    private static float Alibi(float score, int h, int q, int kv)
    {
        float slope = MathF.Pow(2f, -8f * (h + 1) / Heads);
        return score - slope * (q - kv);
    }
}

[Attention(HeadDim = 64)][Precision(DType.FP16)][Fusion(WriteLse = true)]
internal static partial class GpuPrefixLmFp16D64
{
    private const int Prefix = 64;

    [MaskMod] private static bool PrefixLm(int q, int kv) => kv < Prefix || q >= kv;
}

[Attention(HeadDim = 128)][Precision(DType.BF16)][Fusion(WriteLse = true)]
internal static partial class GpuPrefixLmBf16D128
{
    private const int Prefix = 64;

    [MaskMod] private static bool PrefixLm(int q, int kv) => kv < Prefix || q >= kv;
}

[Attention(HeadDim = 64)][Precision(DType.BF16)][Fusion(WriteLse = true)]
internal static partial class GpuSlidingGlobalBf16D64
{
    [MaskMod] private static bool WindowOrGlobal(int q, int kv) => kv < 4 || Math.Abs(q - kv) <= 32;
}

[Attention(HeadDim = 128)][Precision(DType.FP16)][Fusion(WriteLse = true)]
internal static partial class GpuDilatedFp16D128
{
    [MaskMod] private static bool Strided(int q, int kv) => kv % 4 == q % 4 || q >= kv;
}

// Both modifiers and a built-in band; every fourth query row (q % 4 == 1) keeps no key at all.
[Attention(HeadDim = 64)][Precision(DType.BF16)][Fusion(WriteLse = true)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
internal static partial class GpuEmptyRowsSoftcapBf16D64
{
    [ScoreMod] private static float Softcap(float score) => 20f * MathF.Tanh(score / 20f);

    [MaskMod] private static bool Keep(int b, int h, int q, int kv) => q % 4 != 1 && (q - kv < 40 || (b + h) % 2 == 0);
}

[Attention(HeadDim = 128)][Precision(DType.FP16)][Fusion(WriteLse = true)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
internal static partial class GpuEmptyRowsSoftcapFp16D128
{
    [ScoreMod] private static float Softcap(float score) => 20f * MathF.Tanh(score / 20f);

    [MaskMod] private static bool Keep(int b, int h, int q, int kv) => q % 4 != 1 && (q - kv < 40 || (b + h) % 2 == 0);
}

// Document masking at head dim 128 (the overlapped main loop) with a block mask: GpuBlockMaskTests.
[Attention(HeadDim = 128)][Precision(DType.BF16)][Fusion(WriteLse = true)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class GpuDocumentBf16D128
{
    [MaskMod] private static bool SameDocument(int q, int kv, [Captured("Skv")] ReadOnlySpan<int> documents) => documents[q] == documents[kv];
}

internal static class GpuModifierSpecs
{
    private const MaskKind None = MaskKind.None;
    private const MaskKind Causal = MaskKind.Causal;
    private const MaskAlignment Unaligned = MaskAlignment.Unspecified;

    public static readonly GpuCase[] All =
    [
        Fp16("GpuSoftcapFp16D64", None, Unaligned, 64, GpuSoftcapFp16D64.ScoreModifierReference, null, (q, k, v, o, lse) => GpuSoftcapFp16D64.Forward(q, k, v, o, lse!)),
        Bf16("GpuSoftcapBf16D128", None, Unaligned, 128, GpuSoftcapBf16D128.ScoreModifierReference, null, (q, k, v, o, lse) => GpuSoftcapBf16D128.Forward(q, k, v, o, lse!)),
        Bf16("GpuAlibiCausalBf16D64", Causal, MaskAlignment.BottomRight, 64, GpuAlibiCausalBf16D64.ScoreModifierReference, null, (q, k, v, o, lse) => GpuAlibiCausalBf16D64.Forward(q, k, v, o, lse!)),
        Fp16("GpuAlibiCausalFp16D128", Causal, MaskAlignment.BottomRight, 128, GpuAlibiCausalFp16D128.ScoreModifierReference, null, (q, k, v, o, lse) => GpuAlibiCausalFp16D128.Forward(q, k, v, o, lse!)),
        Fp16("GpuPrefixLmFp16D64", None, Unaligned, 64, null, GpuPrefixLmFp16D64.MaskModifierReference, (q, k, v, o, lse) => GpuPrefixLmFp16D64.Forward(q, k, v, o, lse!)),
        Bf16("GpuPrefixLmBf16D128", None, Unaligned, 128, null, GpuPrefixLmBf16D128.MaskModifierReference, (q, k, v, o, lse) => GpuPrefixLmBf16D128.Forward(q, k, v, o, lse!)),
        Bf16("GpuSlidingGlobalBf16D64", None, Unaligned, 64, null, GpuSlidingGlobalBf16D64.MaskModifierReference, (q, k, v, o, lse) => GpuSlidingGlobalBf16D64.Forward(q, k, v, o, lse!)),
        Fp16("GpuDilatedFp16D128", None, Unaligned, 128, null, GpuDilatedFp16D128.MaskModifierReference, (q, k, v, o, lse) => GpuDilatedFp16D128.Forward(q, k, v, o, lse!)),
        Bf16("GpuEmptyRowsSoftcapBf16D64", Causal, MaskAlignment.TopLeft, 64, GpuEmptyRowsSoftcapBf16D64.ScoreModifierReference, GpuEmptyRowsSoftcapBf16D64.MaskModifierReference, (q, k, v, o, lse) => GpuEmptyRowsSoftcapBf16D64.Forward(q, k, v, o, lse!)),
        Fp16("GpuEmptyRowsSoftcapFp16D128", Causal, MaskAlignment.TopLeft, 128, GpuEmptyRowsSoftcapFp16D128.ScoreModifierReference, GpuEmptyRowsSoftcapFp16D128.MaskModifierReference, (q, k, v, o, lse) => GpuEmptyRowsSoftcapFp16D128.Forward(q, k, v, o, lse!)),

        // samples/SpecLibrary/Library, compiled into this project.
        Bf16("SoftcapAttention", Causal, MaskAlignment.BottomRight, 64, SoftcapAttention.ScoreModifierReference, null, (q, k, v, o, lse) => SoftcapAttention.Forward(q, k, v, o, lse!)),
        Bf16("PrefixLmAttention", None, Unaligned, 64, null, PrefixLmAttention.MaskModifierReference, (q, k, v, o, lse) => PrefixLmAttention.Forward(q, k, v, o, lse!)),
        Bf16("SlidingWindowGlobalAttention", None, Unaligned, 64, null, SlidingWindowGlobalAttention.MaskModifierReference, (q, k, v, o, lse) => SlidingWindowGlobalAttention.Forward(q, k, v, o, lse!)),
        Bf16("StridedSparseAttention", Causal, MaskAlignment.BottomRight, 64, null, StridedSparseAttention.MaskModifierReference, (q, k, v, o, lse) => StridedSparseAttention.Forward(q, k, v, o, lse!)),
    ];

    private static GpuCase Fp16(string name, MaskKind mask, MaskAlignment alignment, int headDim, Func<double, int, int, int, int, double>? score, Func<int, int, int, int, bool>? keep, DeviceForward<Half, Half> forward) =>
        new GpuCase<Half, Half>(name, TensorLayout.BSHD, mask, alignment, -1, mask == Causal ? 0 : -1, headDim, true, forward) { ScoreMod = score, MaskMod = keep };

    private static GpuCase Bf16(string name, MaskKind mask, MaskAlignment alignment, int headDim, Func<double, int, int, int, int, double>? score, Func<int, int, int, int, bool>? keep, DeviceForward<BFloat16, BFloat16> forward) =>
        new GpuCase<BFloat16, BFloat16>(name, TensorLayout.BSHD, mask, alignment, -1, mask == Causal ? 0 : -1, headDim, true, forward) { ScoreMod = score, MaskMod = keep };
}
