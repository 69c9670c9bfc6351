namespace KernelDsl.Cpu;

/// <summary>
/// Where the K and V rows of a sequence lie, for the serving kernels: the row-address indirection a KV tile is loaded
/// through. A tile of rows [start, start + count) of one (sequence, KV head) is read as a few runs, each at one base with one
/// stride (a page of a paged cache; the whole tile for a packed varlen tensor), straight into the tile's scratch — no
/// gathered copy of the sequence is ever made. Implemented by structs, so each kernel is JIT-specialised per source.
/// </summary>
public unsafe interface IKvRows<T>
    where T : unmanaged
{
    /// <summary>Tokens of sequence <paramref name="sequence"/> (its keys).</summary>
    int Length(int sequence);

    /// <summary>
    /// The first run of K rows [start, start + count) of (sequence, head): its base and stride in elements; returns its
    /// length (1 to count).
    /// </summary>
    int KeyRun(int sequence, int head, int start, int count, out T* rows, out nint stride);

    /// <summary>As <see cref="KeyRun"/>, for V.</summary>
    int ValueRun(int sequence, int head, int start, int count, out T* rows, out nint stride);
}

/// <summary>
/// K/V read through page tables: token t of sequence s is in page pageTable[s·maxPages + t / pageSize], slot t % pageSize;
/// one run per page. Pointers are pinned by the generated entry point for the call.
/// </summary>
public readonly unsafe struct PagedKvRows<T> : IKvRows<T>
    where T : unmanaged
{
    private readonly T* _keys;
    private readonly T* _values;
    private readonly int* _pageTable;
    private readonly int* _kvLengths;
    private readonly int _maxPages;
    private readonly int _pageSize;
    private readonly long _keyPageStride, _keySlotStride, _keyHeadStride;
    private readonly long _valuePageStride, _valueSlotStride, _valueHeadStride;

    public PagedKvRows(T* keys, T* values, PagedKvGeometry geometry, int* pageTable, int maxPagesPerSequence, int* kvLengths)
    {
        _keys = keys;
        _values = values;
        _pageTable = pageTable;
        _kvLengths = kvLengths;
        _maxPages = maxPagesPerSequence;
        _pageSize = geometry.PageSize;
        _keyPageStride = geometry.PageStride(geometry.HeadDim);
        _keySlotStride = geometry.SlotStride(geometry.HeadDim);
        _keyHeadStride = geometry.HeadStride(geometry.HeadDim);
        _valuePageStride = geometry.PageStride(geometry.ValueHeadDim);
        _valueSlotStride = geometry.SlotStride(geometry.ValueHeadDim);
        _valueHeadStride = geometry.HeadStride(geometry.ValueHeadDim);
    }

    public int Length(int sequence) => _kvLengths[sequence];

    public int KeyRun(int sequence, int head, int start, int count, out T* rows, out nint stride) =>
        Run(_keys, _keyPageStride, _keySlotStride, _keyHeadStride, sequence, head, start, count, out rows, out stride);

    public int ValueRun(int sequence, int head, int start, int count, out T* rows, out nint stride) =>
        Run(_values, _valuePageStride, _valueSlotStride, _valueHeadStride, sequence, head, start, count, out rows, out stride);

    private int Run(T* pool, long pageStride, long slotStride, long headStride, int sequence, int head, int start, int count, out T* rows, out nint stride)
    {
        int page = _pageTable[((long)sequence * _maxPages) + (start / _pageSize)];
        int slot = start % _pageSize;
        rows = pool + (page * pageStride) + (slot * slotStride) + (head * headStride);
        stride = (nint)slotStride;
        int inPage = _pageSize - slot;
        return inPage < count ? inPage : count;
    }
}

/// <summary>K/V packed as [totalKv, Hkv, dim] with cumulative key offsets (varlen prefill): every tile is one run.</summary>
public readonly unsafe struct PackedKvRows<T> : IKvRows<T>
    where T : unmanaged
{
    private readonly T* _keys;
    private readonly T* _values;
    private readonly int* _keyOffsets;
    private readonly int _headsKv;
    private readonly int _headDim;
    private readonly int _valueHeadDim;

    public PackedKvRows(T* keys, T* values, int* keyOffsets, int headsKv, int headDim, int valueHeadDim)
    {
        _keys = keys;
        _values = values;
        _keyOffsets = keyOffsets;
        _headsKv = headsKv;
        _headDim = headDim;
        _valueHeadDim = valueHeadDim;
    }

    public int Length(int sequence) => _keyOffsets[sequence + 1] - _keyOffsets[sequence];

    public int KeyRun(int sequence, int head, int start, int count, out T* rows, out nint stride)
    {
        rows = _keys + (((((long)_keyOffsets[sequence]) + start) * _headsKv) + head) * _headDim;
        stride = (nint)_headsKv * _headDim;
        return count;
    }

    public int ValueRun(int sequence, int head, int start, int count, out T* rows, out nint stride)
    {
        rows = _values + (((((long)_keyOffsets[sequence]) + start) * _headsKv) + head) * _valueHeadDim;
        stride = (nint)_headsKv * _valueHeadDim;
        return count;
    }
}
