using System;

namespace KernelDsl;

/// <summary>
/// A paged KV cache in host memory: a K pool and a V pool of <see cref="PagedKvGeometry.Pages"/> pages each, laid out as
/// <see cref="Geometry"/> says. The cache owns no page tables: sequences are described per call by a
/// <see cref="PagedKvBatch"/> (which pages, how many tokens), so pages can be shared between sequences (a common prefix)
/// and handed out by any allocator. <see cref="DevicePagedKvCache{T}"/> is the same on the GPU.
/// </summary>
public sealed class PagedKvCache<T>
    where T : unmanaged
{
    /// <summary>Allocates a zeroed pool.</summary>
    public PagedKvCache(PagedKvGeometry geometry)
        : this(geometry, AllocatePool(geometry, geometry.HeadDim), new T[geometry.PoolElements(geometry.ValueHeadDim)])
    {
    }

    /// <summary>A cache over existing pools (not copied: writes through <see cref="Keys"/> are visible to the caller).</summary>
    public PagedKvCache(PagedKvGeometry geometry, Memory<T> keys, Memory<T> values)
    {
        geometry.Validate();
        if (keys.Length != geometry.PoolElements(geometry.HeadDim))
        {
            throw new ArgumentException($"'keys' has {keys.Length} elements, but the pool {geometry} needs {geometry.PoolElements(geometry.HeadDim)}.", nameof(keys));
        }

        if (values.Length != geometry.PoolElements(geometry.ValueHeadDim))
        {
            throw new ArgumentException($"'values' has {values.Length} elements, but the pool {geometry} needs {geometry.PoolElements(geometry.ValueHeadDim)}.", nameof(values));
        }

        Geometry = geometry;
        Keys = keys;
        Values = values;
    }

    public PagedKvGeometry Geometry { get; }

    /// <summary>The K pool, in <see cref="PagedKvGeometry.Layout"/>.</summary>
    public Memory<T> Keys { get; }

    /// <summary>The V pool, in <see cref="PagedKvGeometry.Layout"/>.</summary>
    public Memory<T> Values { get; }

    /// <summary>K of token slot <paramref name="slot"/> of page <paramref name="page"/>, head <paramref name="head"/> (HeadDim elements).</summary>
    public Span<T> KeyRow(int page, int slot, int head) =>
        Keys.Span.Slice(checked((int)Geometry.Offset(CheckPage(page), CheckSlot(slot), CheckHead(head), Geometry.HeadDim)), Geometry.HeadDim);

    /// <summary>V of token slot <paramref name="slot"/> of page <paramref name="page"/>, head <paramref name="head"/> (ValueHeadDim elements).</summary>
    public Span<T> ValueRow(int page, int slot, int head) =>
        Values.Span.Slice(checked((int)Geometry.Offset(CheckPage(page), CheckSlot(slot), CheckHead(head), Geometry.ValueHeadDim)), Geometry.ValueHeadDim);

    /// <summary>
    /// Writes one token of one sequence: its K <c>[Hkv, HeadDim]</c> and V <c>[Hkv, ValueHeadDim]</c> go to position
    /// <paramref name="position"/> of the sequence whose page-table row is <paramref name="pages"/> (the cache append of a decode step).
    /// </summary>
    public void WriteToken(ReadOnlySpan<int> pages, int position, ReadOnlySpan<T> key, ReadOnlySpan<T> value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        int pageIndex = position / Geometry.PageSize;
        if (pageIndex >= pages.Length)
        {
            throw new ArgumentException($"Position {position} needs page-table entry {pageIndex}, but the row has {pages.Length} entries ({Geometry.PageSize} tokens per page).", nameof(pages));
        }

        int page = pages[pageIndex];
        if ((uint)page >= (uint)Geometry.Pages)
        {
            throw new ArgumentException($"Page-table entry {pageIndex} is page {page}, outside the pool's {Geometry.Pages} pages.", nameof(pages));
        }

        RequireLength(key.Length, Geometry.HeadsKv * Geometry.HeadDim, nameof(key));
        RequireLength(value.Length, Geometry.HeadsKv * Geometry.ValueHeadDim, nameof(value));
        int slot = position % Geometry.PageSize;
        for (int h = 0; h < Geometry.HeadsKv; h++)
        {
            key.Slice(h * Geometry.HeadDim, Geometry.HeadDim).CopyTo(KeyRow(page, slot, h));
            value.Slice(h * Geometry.ValueHeadDim, Geometry.ValueHeadDim).CopyTo(ValueRow(page, slot, h));
        }
    }

    private static Memory<T> AllocatePool(PagedKvGeometry geometry, int dim)
    {
        geometry.Validate();
        return new T[geometry.PoolElements(dim)];
    }

    private static void RequireLength(int actual, int expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"'{name}' has {actual} elements, but one token needs [Hkv, dim] = {expected}.", name);
        }
    }

    private int CheckPage(int page) => (uint)page < (uint)Geometry.Pages ? page : throw new ArgumentOutOfRangeException(nameof(page), page, $"The pool has {Geometry.Pages} pages.");

    private int CheckSlot(int slot) => (uint)slot < (uint)Geometry.PageSize ? slot : throw new ArgumentOutOfRangeException(nameof(slot), slot, $"A page has {Geometry.PageSize} slots.");

    private int CheckHead(int head) => (uint)head < (uint)Geometry.HeadsKv ? head : throw new ArgumentOutOfRangeException(nameof(head), head, $"The pool has {Geometry.HeadsKv} KV heads.");
}
