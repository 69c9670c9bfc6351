using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// One KV head's rows of a paged cache pool, as one sequence sees them: row t (the token's position in the sequence) is in
/// page <c>pageTable[t / pageSize]</c>, slot <c>t % pageSize</c>, at <c>base + page·pageStride + slot·slotStride</c> (bytes;
/// <see cref="GlobalTile.Base"/> already holds the pool plus the head's offset). This is the override of the
/// <see cref="GlobalTile.RowAddress(PtxWriter, Reg, Reg, Reg)"/> hook: every copy primitive that reads through a
/// <see cref="GlobalTile"/> reads a paged cache through this without knowing it. The pool's strides make either page
/// layout (slots of one head contiguous, or heads of one slot contiguous) the same code.
/// </summary>
internal sealed class PagedKvTile : GlobalTile
{
    /// <param name="headBase">b64: the pool's address plus this KV head's byte offset.</param>
    /// <param name="pageTableRow">b64: the address of the sequence's row of the page table (int32 entries).</param>
    /// <param name="pageSize">b32: tokens per page.</param>
    /// <param name="pageStrideBytes">b64: bytes between pages.</param>
    /// <param name="slotStrideBytes">b64: bytes between the slots (tokens) of one head.</param>
    public PagedKvTile(Reg headBase, Reg pageTableRow, Reg pageSize, Reg pageStrideBytes, Reg slotStrideBytes, ElementTraits element)
        : base(headBase, slotStrideBytes, element)
    {
        PageTableRow = pageTableRow;
        PageSize = pageSize;
        PageStride = pageStrideBytes;
    }

    public Reg PageTableRow { get; }

    public Reg PageSize { get; }

    public Reg PageStride { get; }

    /// <summary>address = the byte address of token <paramref name="row"/>: one page-table load (read-only cache), then two multiply-adds.</summary>
    public override void RowAddress(PtxWriter w, Reg address, Reg row, Reg wideRow)
    {
        using (w.Scope())
        {
            var b32 = w.Declare(RegKind.B32, "pg_i", "pg_slot", "pg");
            var (index, slot, page) = (b32[0], b32[1], b32[2]);
            // wideRow may be the address register itself (RowAddress(w, address, row) passes it twice): the slot's
            // widening gets a scratch of its own, and the page's is read by the same instruction that writes address.
            var wide = w.Declare(RegKind.B64, "pg_at", "pg_slot64");
            var (entry, slot64) = (wide[0], wide[1]);
            w.Div(U32, index, row, PageSize);
            w.MulLo(U32, slot, index, PageSize);
            w.Sub(U32, slot, row, slot);
            w.MulWide(U32, entry, index, 4);
            w.Add(U64, entry, entry, PageTableRow);
            w.LdGlobalNc(U32, page, entry);
            w.Cvt(U64, U32, wideRow, page);
            w.MadLo(U64, address, wideRow, PageStride, Base);
            w.Cvt(U64, U32, slot64, slot);
            w.MadLo(U64, address, slot64, RowStride, address);
        }
    }
}

/// <summary>
/// The packed query rows of one decode CTA (issue 11's GQA packing): packed row r of a sequence with q queries is query head
/// <c>firstHead + r / q</c>, query token <c>firstToken + r % q</c> of a token-major [tokens, Hq, D] tensor — the G query
/// heads of a KV group, group-major, so they share every K/V tile of the group. Row r's address is
/// <c>base + ((firstToken + r % q)·Hq + firstHead + r / q)·rowBytes</c>.
/// </summary>
internal sealed class PackedQueryTile : GlobalTile
{
    /// <param name="baseAddress">b64: the tensor's address.</param>
    /// <param name="rowBytes">b64: bytes of one (token, head) row (D elements).</param>
    /// <param name="queries">b32: the sequence's queries q.</param>
    /// <param name="firstToken">b32: the sequence's first query token.</param>
    /// <param name="firstHead">b32: the KV group's first query head.</param>
    /// <param name="headsQ">b32: Hq.</param>
    public PackedQueryTile(Reg baseAddress, Reg rowBytes, Reg queries, Reg firstToken, Reg firstHead, Reg headsQ, ElementTraits element)
        : base(baseAddress, rowBytes, element)
    {
        Queries = queries;
        FirstToken = firstToken;
        FirstHead = firstHead;
        HeadsQ = headsQ;
    }

    public Reg Queries { get; }

    public Reg FirstToken { get; }

    public Reg FirstHead { get; }

    public Reg HeadsQ { get; }

    public override void RowAddress(PtxWriter w, Reg address, Reg row, Reg wideRow)
    {
        using (w.Scope())
        {
            var b32 = w.Declare(RegKind.B32, "pq_h", "pq_i", "pq_row");
            var (head, query, index) = (b32[0], b32[1], b32[2]);
            w.Div(U32, head, row, Queries);
            w.MulLo(U32, query, head, Queries);
            w.Sub(U32, query, row, query);
            w.Add(U32, query, query, FirstToken);
            w.Add(U32, head, head, FirstHead);
            w.MadLo(U32, index, query, HeadsQ, head);
            w.Cvt(U64, U32, wideRow, index);
            w.MadLo(U64, address, wideRow, RowStride, Base);
        }
    }
}
