namespace KernelDsl.Compiler.Model;

// These enums mirror the public enums of the runtime assembly (KernelDsl.DType, ...) value by value:
// the generator reads attribute arguments as integers and casts. A test checks that names and values agree.

/// <summary>Element type of a tensor.</summary>
public enum ElementType
{
    FP32 = 0,
    FP16 = 1,
    BF16 = 2,
}

/// <summary>Memory layout of Q, K, V and O: batch, sequence, head, dim — or batch, head, sequence, dim.</summary>
public enum TensorLayout
{
    BSHD = 0,
    BHSD = 1,
}

/// <summary>The built-in mask.</summary>
public enum MaskKind
{
    None = 0,
    Causal = 1,
    SlidingWindow = 2,
}

/// <summary>How query row i lines up with key column j when Sq ≠ Skv.</summary>
public enum MaskAlignment
{
    Unspecified = 0,
    /// <summary>Query i sees keys j ≤ i.</summary>
    TopLeft = 1,
    /// <summary>Query i sees keys j ≤ i + Skv − Sq (FlashAttention ≥ 2.1, decoding).</summary>
    BottomRight = 2,
}

/// <summary>Which features of a head form one rotary pair (mirrors KernelDsl.RotaryConvention).</summary>
public enum RotaryConvention
{
    /// <summary>Pairs (2i, 2i + 1).</summary>
    Interleaved = 0,
    /// <summary>Pairs (i, i + rotaryDim / 2), GPT-NeoX / Llama.</summary>
    HalfSplit = 1,
}
