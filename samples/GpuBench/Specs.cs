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
