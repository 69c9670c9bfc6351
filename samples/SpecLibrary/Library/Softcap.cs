using System;
using KernelDsl;

namespace KernelDsl.Samples.Library;

/// <summary>
/// Logit soft-capping (Gemma 2, Grok): scores are squashed into (−30, 30) by 30·tanh(s/30) before the softmax,
/// so no single key can dominate a row. Causal, as in the decoders that use it.
/// </summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
public static partial class SoftcapAttention
{
    private const float Cap = 30f;

    [ScoreMod]
    private static float Softcap(float score) => Cap * MathF.Tanh(score / Cap);
}
