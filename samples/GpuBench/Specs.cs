using KernelDsl;

namespace GpuBench;

// The benchmark grid's specs: D ∈ {64, 128} × fp16/bf16 × dense/causal, BHSD (the layout PyTorch's SDPA
// takes, so both sides read identical memory). Causal is bottom-right; with Sq = Skv it equals top-left.

[Attention(HeadDim = 64)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)]
internal static partial class D64Fp16Dense;

[Attention(HeadDim = 64)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class D64Fp16Causal;

[Attention(HeadDim = 64)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)]
internal static partial class D64Bf16Dense;

[Attention(HeadDim = 64)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class D64Bf16Causal;

[Attention(HeadDim = 128)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)]
internal static partial class D128Fp16Dense;

[Attention(HeadDim = 128)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class D128Fp16Causal;

[Attention(HeadDim = 128)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)]
internal static partial class D128Bf16Dense;

[Attention(HeadDim = 128)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class D128Bf16Causal;

// The backward benchmark's specs (GpuBench --backward): the same grid with [Backward], so Forward writes the LSE the
// backward reads. Without Deterministic: both modes are built (atomic-dQ by default, deterministic: true per call), so
// one run times both and prints the cost of determinism.

[Attention(HeadDim = 64)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)][Backward]
internal static partial class BwdD64Fp16Dense;

[Attention(HeadDim = 64)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)][Backward]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class BwdD64Fp16Causal;

[Attention(HeadDim = 64)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)][Backward]
internal static partial class BwdD64Bf16Dense;

[Attention(HeadDim = 64)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)][Backward]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class BwdD64Bf16Causal;

[Attention(HeadDim = 128)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)][Backward]
internal static partial class BwdD128Fp16Dense;

[Attention(HeadDim = 128)][Precision(DType.FP16)][Layout(TensorLayout.BHSD)][Backward]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class BwdD128Fp16Causal;

[Attention(HeadDim = 128)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)][Backward]
internal static partial class BwdD128Bf16Dense;

[Attention(HeadDim = 128)][Precision(DType.BF16)][Layout(TensorLayout.BHSD)][Backward]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class BwdD128Bf16Causal;
// The decode benchmark's spec (GpuBench --decode, issue 11): bf16, D = 128, one new token per sequence over a paged cache.
[Attention(HeadDim = 128)][Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
[PagedKv(MaxQueriesPerSequence = 16)]
internal static partial class DecodeBf16D128;
// The fused decode step's benchmark spec (GpuBench --decode-append, issue 12): the decode spec above plus half-split rotary and the KV append.
[Attention(HeadDim = 128)][Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true, AppendKv = true, Rotary = RotaryConvention.HalfSplit)]
[PagedKv(MaxQueriesPerSequence = 16)]
internal static partial class DecodeAppendBf16D128;
