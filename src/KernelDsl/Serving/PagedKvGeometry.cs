using System;

namespace KernelDsl;

/// <summary>
/// The shape of a paged KV cache: <see cref="Pages"/> pages of <see cref="PageSize"/> token slots (1–256), each slot holding
/// K [Hkv, HeadDim] and V [Hkv, ValueHeadDim], in <see cref="Layout"/>. Token t of a sequence lives in page
/// <c>pageTable[t / PageSize]</c>, slot <c>t % PageSize</c> (DESIGN.md, Paged KV cache). The strides are what the kernels
/// read; they are in elements and differ between K and V only through the head dims.
/// </summary>
public readonly record struct PagedKvGeometry(int Pages, int PageSize, int HeadsKv, int HeadDim, int ValueHeadDim, PagedKvLayout Layout = PagedKvLayout.PageHeadSlot)
{
    /// <summary>The largest page size the kernels take (FlashAttention-2's page size; FlashInfer and FlashAttention-3 take any).</summary>
    public const int MaxPageSize = 256;

    /// <summary>Elements of K (or V, with its head dim) per page: pageSize · Hkv · dim.</summary>
    public long PageElements(int dim) => (long)PageSize * HeadsKv * dim;

    /// <summary>Element stride between pages for a pool whose rows have <paramref name="dim"/> features.</summary>
    public long PageStride(int dim) => PageElements(dim);

    /// <summary>Element stride between consecutive slots (tokens) of one head within a page.</summary>
    public long SlotStride(int dim) => Layout == PagedKvLayout.PageHeadSlot ? dim : (long)HeadsKv * dim;

    /// <summary>Element stride between heads of one slot.</summary>
    public long HeadStride(int dim) => Layout == PagedKvLayout.PageHeadSlot ? (long)PageSize * dim : dim;

    /// <summary>Element offset of row (page, slot, head) in a pool whose rows have <paramref name="dim"/> features.</summary>
    public long Offset(int page, int slot, int head, int dim) => (page * PageStride(dim)) + (slot * SlotStride(dim)) + (head * HeadStride(dim));

    /// <summary>Total elements of the K pool (<see cref="HeadDim"/>) or V pool (<see cref="ValueHeadDim"/>).</summary>
    public long PoolElements(int dim) => Pages * PageElements(dim);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the bad size (parameter name <c>geometry</c>).</summary>
    public void Validate()
    {
        // Each message is formatted only when its check fails: every Decode call validates the pool, and a call must not
        // allocate in steady state (an eagerly interpolated message is a string per check per call).
        if (Pages <= 0)
        {
            Fail($"The page count must be positive, but is {Pages}.");
        }

        if (PageSize is < 1 or > MaxPageSize)
        {
            Fail($"The page size must be between 1 and {MaxPageSize} tokens, but is {PageSize}.");
        }

        if (HeadsKv <= 0)
        {
            Fail($"The key/value head count must be positive, but is {HeadsKv}.");
        }

        if (HeadDim <= 0)
        {
            Fail($"The head dim must be positive, but is {HeadDim}.");
        }

        if (ValueHeadDim <= 0)
        {
            Fail($"The value head dim must be positive, but is {ValueHeadDim}.");
        }

        if (!Enum.IsDefined(Layout))
        {
            Fail($"The layout {(int)Layout} is not a PagedKvLayout.");
        }

        long poolElements = PoolElements(Math.Max(HeadDim, ValueHeadDim));
        if (poolElements > Array.MaxLength)
        {
            Fail($"The pool needs {poolElements} elements per tensor, more than an array holds.");
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Fail(string message) => throw new ArgumentException(message, "geometry");

    public override string ToString() =>
        $"{Pages} pages x {PageSize} tokens, Hkv={HeadsKv} D={HeadDim}" + (ValueHeadDim != HeadDim ? $" Dv={ValueHeadDim}" : string.Empty) + $" ({Layout})";
}
