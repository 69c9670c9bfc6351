using System;
using KernelDsl;

namespace Training;

/// <summary>
/// The model's attention: two heads of 32, fp32, no mask, an ALiBi-style distance penalty whose per-head slopes are
/// learned (<c>Learnable = true</c>: Backward returns their gradient). [Backward] makes the generator emit Backward.
/// </summary>
[Attention(HeadDim = 32)]
[Backward(Deterministic = true)]
public static partial class RecallAttention
{
    [ScoreMod]
    private static float Distance(float score, int h, int q, int kv, [Captured("Hq", Learnable = true)] ReadOnlySpan<float> slopes) =>
        score - (slopes[h] * Math.Abs(q - kv));
}
