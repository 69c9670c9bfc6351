using KernelDsl;

namespace KernelDsl.Samples.Library;

/// <summary>
/// Prefix-LM (T5/UL2 style): the first <see cref="Prefix"/> tokens (the prompt) attend to each other
/// bidirectionally; the rest is causal. Keys in the prefix are visible to every query.
/// </summary>
[Attention(HeadDim = 64)]
[Precision(DType.BF16)]
[Fusion(WriteLse = true)]
public static partial class PrefixLmAttention
{
    public const int Prefix = 256;

    [MaskMod]
    private static bool PrefixOrCausal(int q, int kv) => kv < Prefix || kv <= q;
}
