namespace KernelDsl;

// Values must equal those of KernelDsl.Compiler.Model's mirror enums (a test checks it): the generator reads
// attribute arguments as integers.

/// <summary>Element type of Q, K, V and O. Accumulation and softmax statistics are always FP32.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float.</summary>
    FP32 = 0,
    /// <summary>16-bit IEEE half (<see cref="System.Half"/>).</summary>
    FP16 = 1,
    /// <summary>bfloat16 (<see cref="BFloat16"/>): float32's exponent with a 7-bit mantissa.</summary>
    BF16 = 2,
}

/// <summary>Memory layout of the four tensors.</summary>
public enum TensorLayout
{
    /// <summary>[batch, sequence, head, dim] — the layout of most model code (and FlashAttention).</summary>
    BSHD = 0,
    /// <summary>[batch, head, sequence, dim] — PyTorch SDPA's layout.</summary>
    BHSD = 1,
}

/// <summary>The built-in mask.</summary>
public enum MaskKind
{
    /// <summary>Every query sees every key.</summary>
    None = 0,
    /// <summary>Query i sees keys up to its aligned diagonal.</summary>
    Causal = 1,
    /// <summary>Query i sees keys within [diagonal − Left, diagonal + Right].</summary>
    SlidingWindow = 2,
}

/// <summary>Where the diagonal of a causal or windowed mask lies when Sq ≠ Skv.</summary>
public enum MaskAlignment
{
    /// <summary>Not given; a causal or window mask requires one (KDSL0008).</summary>
    Unspecified = 0,
    /// <summary>Query i's diagonal is key i.</summary>
    TopLeft = 1,
    /// <summary>Query i's diagonal is key i + Skv − Sq: the last query sees the last key (FlashAttention ≥ 2.1, decoding).</summary>
    BottomRight = 2,
}
