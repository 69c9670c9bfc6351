namespace KernelDsl.Reference;

/// <summary>Flat index of (b, s, h, d) in a contiguous BSHD or BHSD tensor.</summary>
public readonly record struct ContiguousIndex(TensorLayout Layout, int Batch, int Seq, int Heads, int Dim)
{
    public long Length => (long)Batch * Seq * Heads * Dim;

    public long At(int b, int s, int h, int d) => Layout == TensorLayout.BSHD
        ? ((((long)b * Seq + s) * Heads + h) * Dim) + d
        : ((((long)b * Heads + h) * Seq + s) * Dim) + d;
}
