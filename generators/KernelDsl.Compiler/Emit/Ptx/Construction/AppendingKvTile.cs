using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// One KV head's rows of a sequence during a fused append step (issue 12): rows before <see cref="NewFirst"/> (the length
/// before the step) are read from the paged cache, the step's new tokens from the call's token-major input
/// ([totalQ, Hkv, dim]) at <c>newBase + (row − NewFirst)·newRowStride</c>. The kernel writes the new tokens into their pages in
/// the same launch, so no CTA may read those page slots: every reader takes them from the input instead (see
/// DecodeKernel.Append). Both addresses are computed and one is selected (no divergence inside a copy loop).
/// </summary>
internal sealed class AppendingKvTile : GlobalTile
{
    private readonly PagedKvTile _paged;

    /// <param name="paged">The cache rows (the page-table lookup).</param>
    /// <param name="newFirst">b32: the position of the first new token (L − q).</param>
    /// <param name="newBase">b64: the input's address of the sequence's first new token at this KV head.</param>
    /// <param name="newRowStride">b64: bytes between new tokens in the input (Hkv·dim elements).</param>
    public AppendingKvTile(PagedKvTile paged, Reg newFirst, Reg newBase, Reg newRowStride, ElementTraits element)
        : base(paged.Base, paged.RowStride, element)
    {
        _paged = paged;
        NewFirst = newFirst;
        NewBase = newBase;
        NewRowStride = newRowStride;
    }

    public Reg NewFirst { get; }

    public Reg NewBase { get; }

    public Reg NewRowStride { get; }

    public override void RowAddress(PtxWriter w, Reg address, Reg row, Reg wideRow)
    {
        using (w.Scope())
        {
            var token = w.Declare1(RegKind.B32, "ap_t");
            var wide = w.Declare(RegKind.B64, "ap_t64", "ap_at");
            var (token64, fromInput) = (wide[0], wide[1]);
            var isNew = w.Declare1(RegKind.Pred, "ap_new");
            w.Comment("a new token of this step: from the input, not from its page (written in this launch)");
            w.Setp(Cmp.Ge, S32, isNew, row, NewFirst);
            w.Sub(S32, token, row, NewFirst);
            w.Max(S32, token, token, 0);
            w.Cvt(U64, U32, token64, token);
            w.MadLo(U64, fromInput, token64, NewRowStride, NewBase);
            _paged.RowAddress(w, address, row, wideRow);
            w.Selp(B64, address, fromInput, address, isNew);
        }
    }
}
