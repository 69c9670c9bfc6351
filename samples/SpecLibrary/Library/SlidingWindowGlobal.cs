using System;
using KernelDsl;

namespace KernelDsl.Samples.Library;

/// <summary>
/// Local attention plus global tokens (Longformer, BigBird, ModernBERT's local layers): each query sees keys within
/// ±<see cref="Window"/> positions, and the first <see cref="GlobalTokens"/> tokens (e.g. [CLS]) see and are
/// seen by everything. Bidirectional (encoder style).
/// </summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Fusion(WriteLse = true)]
public static partial class SlidingWindowGlobalAttention
{
    public const int Window = 128;
    public const int GlobalTokens = 4;

    [MaskMod]
    private static bool LocalOrGlobal(int q, int kv) => Math.Abs(q - kv) <= Window || kv < GlobalTokens || q < GlobalTokens;
}
