using System;

namespace KernelDsl.Tests.Serving;

/// <summary>Plain decode and varlen prefill, fp32 (tight tolerance), GQA, causal per sequence, LSE.</summary>
[Attention(HeadDim = 32)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
[PagedKv(MaxQueriesPerSequence = 16)]
[Varlen]
public static partial class ServingCausalFp32;

/// <summary>The same in bf16 with D = 64 and a tile of 32 packed rows, so groups of 8 heads × 16 queries span several row blocks.</summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Tiling(BlockQ = 32, BlockKV = 32)]
[Fusion(WriteLse = true)]
[PagedKv(MaxQueriesPerSequence = 16)]
[Varlen]
public static partial class ServingCausalBf16;

/// <summary>Speculative verification of a draft tree: causal, plus the tree's ancestry among the draft tokens, and a softcap.</summary>
[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true, OutputType = DType.FP32)]
[PagedKv(MaxQueriesPerSequence = 16)]
public static partial class DraftTreeVerification
{
    [ScoreMod]
    static float Softcap(float score) => 20f * MathF.Tanh(score / 20f);

    /// <summary>
    /// Keys before the draft (the accepted prefix, draftStart[b] tokens) are kept; draft token q keeps draft token j only when
    /// j is q or one of its ancestors: ancestors[b, q, j] != 0 ([B, 16, 16]).
    /// </summary>
    [MaskMod]
    static bool Tree(int b, int q, int kv, [Captured("B")] ReadOnlySpan<int> draftStart, [Captured("B", "16", "16")] ReadOnlySpan<int> ancestors)
        => kv < draftStart[b] || ancestors[(((b * 16) + q) * 16) + kv - draftStart[b]] != 0;
}

/// <summary>Varlen prefill with a top-left sliding window and a value head dim unlike the key's, fp16 → fp32 output.</summary>
[Attention(HeadDim = 48, ValueHeadDim = 32)]
[Precision(DType.FP16)]
[Mask(MaskKind.SlidingWindow, Left = 5, Right = 2, Alignment = MaskAlignment.TopLeft)]
[Fusion(WriteLse = true, OutputType = DType.FP32)]
[Varlen]
public static partial class VarlenWindowFp16;

/// <summary>Decode with one fixed page size, no mask, no LSE, and a value head dim twice the key's.</summary>
[Attention(HeadDim = 16, ValueHeadDim = 32)]
[PagedKv(PageSize = 16)]
public static partial class FixedPageDecode;

/// <summary>Decode under a bottom-right sliding window (Mistral-style): each query keeps the 40 keys before its diagonal and the diagonal; 16-key tiles, so whole blocks fall outside the window.</summary>
[Attention(HeadDim = 32)]
[Mask(MaskKind.SlidingWindow, Left = 40, Alignment = MaskAlignment.BottomRight)]
[Tiling(BlockQ = 16, BlockKV = 16)]
[Fusion(WriteLse = true)]
[PagedKv(MaxQueriesPerSequence = 4)]
public static partial class WindowDecodeFp32;

/// <summary>The fused decode step (issue 12): half-split rotary on every feature, KV append, fp32, causal, LSE, up to 16 new tokens.</summary>
[Attention(HeadDim = 32)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true, AppendKv = true, Rotary = RotaryConvention.HalfSplit)]
[PagedKv(MaxQueriesPerSequence = 16)]
public static partial class AppendRopeHalfSplitFp32;

/// <summary>The fused decode step in bf16: interleaved partial rotary (48 of 64 features) with Llama 3's base, 32-row tiles.</summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Tiling(BlockQ = 32, BlockKV = 32)]
[Fusion(WriteLse = true, AppendKv = true, Rotary = RotaryConvention.Interleaved, RotaryDim = 48, RotaryBase = 500000)]
[PagedKv(MaxQueriesPerSequence = 16)]
public static partial class AppendRopeInterleavedBf16;

/// <summary>The append without rotary, a fixed page size, Dv ≠ D, no mask, no LSE.</summary>
[Attention(HeadDim = 16, ValueHeadDim = 32)]
[Fusion(AppendKv = true)]
[PagedKv(PageSize = 16, MaxQueriesPerSequence = 4)]
public static partial class AppendOnlyFixedPage;

/// <summary>Eviction scores (issue 12 item 4): fp32, causal, 16-row and 16-key tiles (several K blocks per sequence, the band cut inside one), up to 4 queries.</summary>
[Attention(HeadDim = 32)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Tiling(BlockQ = 16, BlockKV = 16)]
[Fusion(WriteLse = true)]
[PagedKv(MaxQueriesPerSequence = 4, EvictionScores = true)]
public static partial class EvictScoresFp32;

/// <summary>Eviction scores from the fused step: bf16, half-split rotary, KV append, one token per sequence.</summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(AppendKv = true, Rotary = RotaryConvention.HalfSplit)]
[PagedKv(EvictionScores = true)]
public static partial class EvictAppendBf16;
