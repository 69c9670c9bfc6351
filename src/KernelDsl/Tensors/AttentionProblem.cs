namespace KernelDsl;

/// <summary>
/// Everything a generated kernel needs for one call: shape, pinned Q/K/V/O views, and the optional LSE
/// output (contiguous [B, Hq, Sq] FP32, or null). Built and validated by AttentionBinding;
/// a kernel trusts it.
/// </summary>
public readonly unsafe struct AttentionProblem<TIn, TOut>
    where TIn : unmanaged
    where TOut : unmanaged
{
    public AttentionProblem(AttentionShape shape, StridedTensor<TIn> q, StridedTensor<TIn> k, StridedTensor<TIn> v, StridedTensor<TOut> output, float* lse)
    {
        Shape = shape;
        Q = q;
        K = k;
        V = v;
        Output = output;
        Lse = lse;
    }

    public AttentionShape Shape { get; }

    public StridedTensor<TIn> Q { get; }

    public StridedTensor<TIn> K { get; }

    public StridedTensor<TIn> V { get; }

    public StridedTensor<TOut> Output { get; }

    /// <summary>Log-sum-exp output [B, Hq, Sq], or null when the spec does not write it.</summary>
    public float* Lse { get; }
}
