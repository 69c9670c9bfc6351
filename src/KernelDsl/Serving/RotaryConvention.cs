namespace KernelDsl;

/// <summary>Which features of a head are rotated together as one 2-D pair by <see cref="RotaryEmbedding"/>.</summary>
public enum RotaryConvention
{
    /// <summary>Pairs (2i, 2i + 1), the original RoFormer/GPT-J layout.</summary>
    Interleaved,

    /// <summary>Pairs (i, i + rotaryDim / 2), the GPT-NeoX / Llama (Hugging Face) layout.</summary>
    HalfSplit,
}
