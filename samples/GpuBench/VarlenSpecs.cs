using KernelDsl;

namespace GpuBench;

// GpuBench --varlen's specs (issue 11): the standard grid's head dims and masks with [Varlen], bf16, BSHD (token-major, the
// packed layout varlen reads). Each spec's dense Forward is the baseline, timed in the same run on the same tokens.

[Attention(HeadDim = 64)][Precision(DType.BF16)][Varlen]
internal static partial class VarlenD64Bf16Dense;

[Attention(HeadDim = 64)][Precision(DType.BF16)][Varlen]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class VarlenD64Bf16Causal;

[Attention(HeadDim = 128)][Precision(DType.BF16)][Varlen]
internal static partial class VarlenD128Bf16Dense;

[Attention(HeadDim = 128)][Precision(DType.BF16)][Varlen]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class VarlenD128Bf16Causal;
