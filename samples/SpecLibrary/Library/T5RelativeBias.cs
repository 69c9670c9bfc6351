using System;
using KernelDsl;

namespace KernelDsl.Samples.Library;

/// <summary>
/// T5's bucketed relative position bias (Raffel et al. 2020), bidirectional: the signed distance kv − q falls in one
/// of 32 buckets per head (16 per direction: exact for |d| &lt; 8, logarithmic up to 128, clamped beyond) and the
/// head's learned bias for that bucket is added to the score. The bias table [Hq, 32] is a captured buffer.
/// </summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Fusion(WriteLse = true)]
public static partial class T5RelativeBiasAttention
{
    public const int Buckets = 32;
    private const int Half = Buckets / 2;
    private const int Exact = Half / 2;
    private const int MaxDistance = 128;

    [ScoreMod]
    private static float RelativeBias(float score, int h, int q, int kv, [Captured("Hq", "32")] ReadOnlySpan<float> bias)
    {
        int distance = kv - q;
        int direction = distance > 0 ? Half : 0;
        int magnitude = Math.Abs(distance);
        int logBucket = Exact + (int)(MathF.Log(magnitude / (float)Exact) / MathF.Log(MaxDistance / (float)Exact) * (Half - Exact));
        int bucket = direction + (magnitude < Exact ? magnitude : Math.Min(logBucket, Half - 1));
        return score + bias[(h * Buckets) + bucket];
    }
}
