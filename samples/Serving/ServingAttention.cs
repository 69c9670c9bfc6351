using KernelDsl;

namespace Serving;

/// <summary>
/// The sample's attention: bf16, 64-dim heads, causal per sequence, one new token per sequence per step. The decode step is
/// fused (issue 12): <c>DecodeAppend</c> rotates the new q and k (RoPE, GPT-NeoX half-split, base 10000), appends k and v to
/// the paged cache and attends, in one call, and writes the eviction scores (the attention mass each cached key received).
/// </summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(AppendKv = true, Rotary = RotaryConvention.HalfSplit)]
[PagedKv(MaxQueriesPerSequence = 1, EvictionScores = true)]
public static partial class ServingAttention;
