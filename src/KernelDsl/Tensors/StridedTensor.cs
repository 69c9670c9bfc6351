namespace KernelDsl;

/// <summary>
/// A pinned 4-D tensor as kernels see it: a base pointer and element strides for batch, sequence and head;
/// the last (feature) dimension is always contiguous. Layout-independent: BSHD and BHSD differ only in
/// strides. Valid only while the memory it points into is pinned (inside the generated Forward call).
/// </summary>
public readonly unsafe struct StridedTensor<T>
    where T : unmanaged
{
    public StridedTensor(T* data, long batchStride, long seqStride, long headStride)
    {
        Data = data;
        BatchStride = batchStride;
        SeqStride = seqStride;
        HeadStride = headStride;
    }

    public T* Data { get; }

    public long BatchStride { get; }

    public long SeqStride { get; }

    public long HeadStride { get; }

    /// <summary>Pointer to the first element of row (b, s, h).</summary>
    public T* Row(int batch, int seq, int head) => Data + (batch * BatchStride) + (seq * SeqStride) + (head * HeadStride);
}
