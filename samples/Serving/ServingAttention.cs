using KernelDsl;

namespace Serving;

/// <summary>The sample's attention: bf16, 64-dim heads, causal per sequence, one new token per sequence per step.</summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[PagedKv(MaxQueriesPerSequence = 1)]
public static partial class ServingAttention;
