using System;
using KernelDsl;

namespace KernelDsl.Tests.Numerics;

// The issue-4 library of modifier specs, each a few lines of C#, in fp32 and bf16. ALiBi's slopes are computed from
// the head index (captured buffers come later). Each case hands the reference the spec's generated float64 modifier.

[Attention(HeadDim = 64)]
[Precision(DType.FP32)]
[Fusion(WriteLse = true)]
internal static partial class SoftcapFp32
{
    [ScoreMod] private static float Softcap(float score) => 30f * MathF.Tanh(score / 30f);
}

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Fusion(WriteLse = true)]
internal static partial class SoftcapBf16
{
    [ScoreMod] private static float Softcap(float score) => 30f * MathF.Tanh(score / 30f);
}

[Attention(HeadDim = 64)]
[Precision(DType.FP32)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
internal static partial class AlibiCausalFp32
{
    private const int Heads = 4;

    [ScoreMod]
    private static float Alibi(float score, int h, int q, int kv)
    {
        float slope = MathF.Pow(2f, -8f * (h + 1) / Heads);
        return score - slope * (q - kv);
    }
}

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
internal static partial class AlibiCausalBf16
{
    private const int Heads = 4;

    [ScoreMod]
    private static float Alibi(float score, int h, int q, int kv)
    {
        float slope = MathF.Pow(2f, -8f * (h + 1) / Heads);
        return score - slope * (q - kv);
    }
}

[Attention(HeadDim = 64)]
[Precision(DType.FP32)]
[Fusion(WriteLse = true)]
internal static partial class PrefixLmFp32
{
    private const int Prefix = 64;

    [MaskMod] private static bool PrefixLm(int q, int kv) => kv < Prefix || q >= kv;
}

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Fusion(WriteLse = true)]
internal static partial class PrefixLmBf16
{
    private const int Prefix = 64;

    [MaskMod] private static bool PrefixLm(int q, int kv) => kv < Prefix || q >= kv;
}

[Attention(HeadDim = 64)]
[Precision(DType.FP32)]
[Fusion(WriteLse = true)]
internal static partial class SlidingGlobalFp32
{
    [MaskMod] private static bool WindowOrGlobal(int q, int kv) => kv < 4 || Math.Abs(q - kv) <= 32;
}

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Fusion(WriteLse = true)]
internal static partial class SlidingGlobalBf16
{
    [MaskMod] private static bool WindowOrGlobal(int q, int kv) => kv < 4 || Math.Abs(q - kv) <= 32;
}

[Attention(HeadDim = 64)]
[Precision(DType.FP32)]
[Fusion(WriteLse = true)]
internal static partial class DilatedFp32
{
    [MaskMod] private static bool Strided(int q, int kv) => kv % 4 == q % 4 || q >= kv;
}

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Fusion(WriteLse = true)]
internal static partial class DilatedBf16
{
    [MaskMod] private static bool Strided(int q, int kv) => kv % 4 == q % 4 || q >= kv;
}

// Both modifiers and a built-in band together; every fourth query row (q % 4 == 1) keeps no key at all.
[Attention(HeadDim = 64)]
[Precision(DType.FP32)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
[Fusion(WriteLse = true)]
internal static partial class EmptyRowsSoftcapFp32
{
    [ScoreMod] private static float Softcap(float score) => 20f * MathF.Tanh(score / 20f);

    [MaskMod] private static bool Keep(int b, int h, int q, int kv) => q % 4 != 1 && (q - kv < 40 || (b + h) % 2 == 0);
}

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.TopLeft)]
[Fusion(WriteLse = true)]
internal static partial class EmptyRowsSoftcapBf16
{
    [ScoreMod] private static float Softcap(float score) => 20f * MathF.Tanh(score / 20f);

    [MaskMod] private static bool Keep(int b, int h, int q, int kv) => q % 4 != 1 && (q - kv < 40 || (b + h) % 2 == 0);
}

internal static class ModifierSpecs
{
    private const MaskKind None = MaskKind.None;
    private const MaskKind Causal = MaskKind.Causal;

    public static readonly MatrixCase[] All =
    [
        Fp32("SoftcapFp32", None, MaskAlignment.Unspecified, SoftcapFp32.ScoreModifierReference, null, (q, k, v, o, lse, s) => SoftcapFp32.Forward(q, k, v, o, lse, s)),
        Bf16("SoftcapBf16", None, MaskAlignment.Unspecified, SoftcapBf16.ScoreModifierReference, null, (q, k, v, o, lse, s) => SoftcapBf16.Forward(q, k, v, o, lse, s)),
        Fp32("AlibiCausalFp32", Causal, MaskAlignment.BottomRight, AlibiCausalFp32.ScoreModifierReference, null, (q, k, v, o, lse, s) => AlibiCausalFp32.Forward(q, k, v, o, lse, s)),
        Bf16("AlibiCausalBf16", Causal, MaskAlignment.BottomRight, AlibiCausalBf16.ScoreModifierReference, null, (q, k, v, o, lse, s) => AlibiCausalBf16.Forward(q, k, v, o, lse, s)),
        Fp32("PrefixLmFp32", None, MaskAlignment.Unspecified, null, PrefixLmFp32.MaskModifierReference, (q, k, v, o, lse, s) => PrefixLmFp32.Forward(q, k, v, o, lse, s)),
        Bf16("PrefixLmBf16", None, MaskAlignment.Unspecified, null, PrefixLmBf16.MaskModifierReference, (q, k, v, o, lse, s) => PrefixLmBf16.Forward(q, k, v, o, lse, s)),
        Fp32("SlidingGlobalFp32", None, MaskAlignment.Unspecified, null, SlidingGlobalFp32.MaskModifierReference, (q, k, v, o, lse, s) => SlidingGlobalFp32.Forward(q, k, v, o, lse, s)),
        Bf16("SlidingGlobalBf16", None, MaskAlignment.Unspecified, null, SlidingGlobalBf16.MaskModifierReference, (q, k, v, o, lse, s) => SlidingGlobalBf16.Forward(q, k, v, o, lse, s)),
        Fp32("DilatedFp32", None, MaskAlignment.Unspecified, null, DilatedFp32.MaskModifierReference, (q, k, v, o, lse, s) => DilatedFp32.Forward(q, k, v, o, lse, s)),
        Bf16("DilatedBf16", None, MaskAlignment.Unspecified, null, DilatedBf16.MaskModifierReference, (q, k, v, o, lse, s) => DilatedBf16.Forward(q, k, v, o, lse, s)),
        Fp32("EmptyRowsSoftcapFp32", Causal, MaskAlignment.TopLeft, EmptyRowsSoftcapFp32.ScoreModifierReference, EmptyRowsSoftcapFp32.MaskModifierReference, (q, k, v, o, lse, s) => EmptyRowsSoftcapFp32.Forward(q, k, v, o, lse, s)),
        Bf16("EmptyRowsSoftcapBf16", Causal, MaskAlignment.TopLeft, EmptyRowsSoftcapBf16.ScoreModifierReference, EmptyRowsSoftcapBf16.MaskModifierReference, (q, k, v, o, lse, s) => EmptyRowsSoftcapBf16.Forward(q, k, v, o, lse, s)),
    ];

    private static MatrixCase Fp32(string name, MaskKind mask, MaskAlignment alignment, Func<double, int, int, int, int, double>? score, Func<int, int, int, int, bool>? keep, ForwardSpans<float, float> forward) =>
        new MatrixCase<float, float>(name, DType.FP32, TensorLayout.BSHD, mask, alignment, -1, mask == Causal ? 0 : -1, 64, 64, true, forward) { ScoreMod = score, MaskMod = keep };

    private static MatrixCase Bf16(string name, MaskKind mask, MaskAlignment alignment, Func<double, int, int, int, int, double>? score, Func<int, int, int, int, bool>? keep, ForwardSpans<BFloat16, BFloat16> forward) =>
        new MatrixCase<BFloat16, BFloat16>(name, DType.BF16, TensorLayout.BSHD, mask, alignment, -1, mask == Causal ? 0 : -1, 64, 64, true, forward) { ScoreMod = score, MaskMod = keep };
}
