using System;
using KernelDsl;

namespace Quickstart;

// Three attention specs. Each attribute set is compiled at build time into a fused CPU kernel, typed
// Forward entry points and a memory plan (see obj/.../generated for the emitted code).

/// <summary>Plain bidirectional attention, bf16 inputs, head dim 128 (an encoder layer).</summary>
[Attention(HeadDim = 128)]
[Precision(DType.BF16)]
public static partial class PlainBf16Attention;

/// <summary>Causal decoder attention in fp16, bottom-right aligned (the last query sees the last key), with LSE.</summary>
[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
public static partial class CausalFp16Attention;

/// <summary>Sliding-window (256 keys back) grouped-query attention, fp32, PyTorch's BHSD layout.</summary>
[Attention(HeadDim = 64)]
[Layout(TensorLayout.BHSD)]
[Mask(MaskKind.SlidingWindow, Left = 256, Right = 0, Alignment = MaskAlignment.BottomRight)]
[Tiling(BlockQ = 32, BlockKV = 64)]
public static partial class SlidingWindowGqaAttention;

/// <summary>
/// Causal attention with FlexAttention-style modifiers in plain C#: tanh soft-capping of the scores (Gemma 2) and
/// a prefix-LM mask (the first 64 keys are visible to every query). Compiled into the CPU kernel.
/// </summary>
[Attention(HeadDim = 64)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
public static partial class SoftcapPrefixLmAttention
{
    private const float Cap = 30f;

    [ScoreMod]
    private static float Softcap(float score) => Cap * MathF.Tanh(score / Cap);

    [MaskMod]
    private static bool PrefixLm(int q, int kv) => kv < 64 || q >= kv;
}
