using System;
using KernelDsl;

namespace KernelDsl.Samples.Library;

/// <summary>
/// ALiBi (Press et al. 2022): a per-head linear penalty on distance instead of position embeddings. The slopes are
/// a captured buffer (one per query head; <see cref="Slopes"/> gives the paper's geometric sequence), so a model
/// can also train its own. Causal.
/// </summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Mask(MaskKind.Causal, Alignment = MaskAlignment.BottomRight)]
[Fusion(WriteLse = true)]
public static partial class AlibiAttention
{
    [ScoreMod]
    private static float Alibi(float score, int h, int q, int kv, [Captured("Hq")] ReadOnlySpan<float> slopes) =>
        score - (slopes[h] * (q - kv));

    /// <summary>The paper's slopes for <paramref name="heads"/> heads: 2^(−8(h+1)/heads).</summary>
    public static float[] Slopes(int heads)
    {
        var slopes = new float[heads];
        for (int h = 0; h < heads; h++)
        {
            slopes[h] = MathF.Pow(2f, -8f * (h + 1) / heads);
        }

        return slopes;
    }
}
