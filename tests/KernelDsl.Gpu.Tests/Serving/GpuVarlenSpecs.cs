using System;

namespace KernelDsl.Gpu.Tests.Serving;

/// <summary>Varlen prefill, the serving shape: bf16, D = 128, causal aligned bottom-right per sequence, LSE.</summary>
[Attention(HeadDim = 128)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
[Varlen]
public static partial class GpuVarlenCausalBf16;

/// <summary>A top-left sliding window, fp16 → fp32 output, D = 64 and Dv = 32 (64-key tiles), no LSE.</summary>
[Attention(HeadDim = 64, ValueHeadDim = 32)]
[Precision(DType.FP16)]
[Mask(MaskKind.SlidingWindow, Left = 70, Right = 9, Alignment = MaskAlignment.TopLeft)]
[Fusion(OutputType = DType.FP32)]
[Varlen]
public static partial class GpuVarlenWindowFp16;

/// <summary>Modifiers over packed sequences: a softcap, and a per-sequence prefix-LM mask read from a captured buffer [B].</summary>
[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Fusion(WriteLse = true)]
[Varlen]
public static partial class GpuVarlenPrefixLm
{
    [ScoreMod]
    static float Softcap(float score) => 15f * MathF.Tanh(score / 15f);

    /// <summary>Sequence b's first prefix[b] keys are seen by every query; later keys causally (top-left).</summary>
    [MaskMod]
    static bool PrefixLm(int b, int q, int kv, [Captured("B")] ReadOnlySpan<int> prefix) => kv < prefix[b] || kv <= q;
}
