using System;

namespace KernelDsl.Gpu.Tests.Serving;

/// <summary>Plain decode and verification: bf16, D = 128 (the serving shape), causal per sequence, LSE, up to 16 queries.</summary>
[Attention(HeadDim = 128)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
[PagedKv(MaxQueriesPerSequence = 16)]
public static partial class GpuDecodeCausalBf16;

/// <summary>Speculative verification of a draft tree: causal, plus the tree's ancestry among the draft tokens (captured buffers), a softcap, fp16 → fp32.</summary>
[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true, OutputType = DType.FP32)]
[PagedKv(MaxQueriesPerSequence = 16)]
public static partial class GpuDecodeDraftTree
{
    [ScoreMod]
    static float Softcap(float score) => 20f * MathF.Tanh(score / 20f);

    /// <summary>Keys before the draft are kept; draft token q keeps draft token j when j is q or one of its ancestors (ancestors [B, 16, 16]).</summary>
    [MaskMod]
    static bool Tree(int b, int q, int kv, [Captured("B")] ReadOnlySpan<int> draftStart, [Captured("B", "16", "16")] ReadOnlySpan<int> ancestors)
        => kv < draftStart[b] || ancestors[(((b * 16) + q) * 16) + kv - draftStart[b]] != 0;
}

/// <summary>A sliding window (the kernel narrows each sequence's key range to it), fp16, D = 64, Dv = 32, no LSE.</summary>
[Attention(HeadDim = 64, ValueHeadDim = 32)]
[Precision(DType.FP16)]
[Mask(MaskKind.SlidingWindow, Left = 100, Right = 0, Alignment = MaskAlignment.BottomRight)]
[PagedKv(MaxQueriesPerSequence = 4)]
public static partial class GpuDecodeWindowFp16;

/// <summary>D = 256: the decode kernel's two-stage ring (three stages do not fit in shared memory), bf16, causal, LSE.</summary>
[Attention(HeadDim = 256)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
[PagedKv(MaxQueriesPerSequence = 4)]
public static partial class GpuDecodeD256Bf16;
