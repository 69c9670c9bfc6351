namespace KernelDsl.Gpu.Tests.Serving;

/// <summary>The fused decode step (issue 12) on the GPU: bf16, D = 128, half-split partial rotary (64 of 128, Llama 3's base), causal, LSE, up to 16 new tokens.</summary>
[Attention(HeadDim = 128)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true, AppendKv = true, Rotary = RotaryConvention.HalfSplit, RotaryDim = 64, RotaryBase = 500000)]
[PagedKv(MaxQueriesPerSequence = 16)]
public static partial class GpuAppendRopeHalfBf16;

/// <summary>fp16, D = 64, interleaved rotary on every feature, no mask, LSE.</summary>
[Attention(HeadDim = 64)]
[Precision(DType.FP16)]
[Fusion(WriteLse = true, AppendKv = true, Rotary = RotaryConvention.Interleaved)]
[PagedKv(MaxQueriesPerSequence = 16)]
public static partial class GpuAppendRopeInterleavedFp16;

/// <summary>The append without rotary, bf16, D = 128, Dv = 64, a bottom-right window, no LSE.</summary>
[Attention(HeadDim = 128, ValueHeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.SlidingWindow, Left = 100, Alignment = MaskAlignment.BottomRight)]
[Fusion(AppendKv = true)]
[PagedKv(MaxQueriesPerSequence = 4)]
public static partial class GpuAppendOnlyWindowBf16;
