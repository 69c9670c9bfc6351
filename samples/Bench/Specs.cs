using KernelDsl;

namespace Bench;

// The benchmarked specs: no mask, 16 heads, D = 64 and 128, fp32 and bf16 inputs (output in the input type).
// Tiles are the planner's defaults.

[Attention(HeadDim = 64)]
internal static partial class Fp32D64;

[Attention(HeadDim = 128)]
internal static partial class Fp32D128;

[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
internal static partial class Bf16D64;

[Attention(HeadDim = 128)]
[Precision(DType.BF16)]
internal static partial class Bf16D128;

// For --small: a causal kernel (element masks on the diagonal blocks), to measure what masked kernels pay.
[Attention(HeadDim = 64)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
internal static partial class Fp32D64Causal;
