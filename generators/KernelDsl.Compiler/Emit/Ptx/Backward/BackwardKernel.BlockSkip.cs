using KernelDsl.Compiler.Emit.Ptx.Construction;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Backward;

/// <summary>
/// Block-mask skipping (specs with a mask modifier): the call may pass the BlockMask the forward ran with, as classes per
/// (query block, KV block) of the mask's tiles (0 empty, 1 partial, 2 full). The mask's tiles are multiples of the
/// kernels' (the launcher checks), so each streamed item (dK/dV: a query tile; dQ: a key tile) lies in one mask cell, and
/// the loops advance past the items whose cell is empty — they are neither loaded nor computed, exactly the pairs the
/// forward skipped. Without a mask (null pointer) every item the band keeps is visited, as before. The element mask is
/// still applied on every visited tile (full ones included): the same gradients, without that saving.
/// </summary>
internal abstract partial class BackwardKernel
{
    private Reg? _classes;
    private Reg? _hasClasses;
    private Reg? _classHeadStride;
    private Reg? _maskTileQ;
    private Reg? _maskTileKv;
    private Reg? _maskKvBlocks;
    private int _advanceCount;

    /// <summary>True when the kernel takes the block-mask classes (a spec with a mask modifier).</summary>
    protected bool SkipsBlocks => Gpu.TakesBlockMask;

    /// <summary>The item's tile: its query head, first query row and first key (dK/dV: the item's; dQ: the block's and the tile's).</summary>
    protected abstract void ItemTile(Reg item, Reg head, Reg queryStart, Reg keyStart);

    /// <summary>Once per thread: the classes of this batch (pointer, or a null pointer when the call passed no mask) and the mask's geometry.</summary>
    protected void EmitBlockClassSetup()
    {
        var w = W;
        w.Stage("Block mask (optional): classes of this batch's cells; a null pointer visits every band tile");
        _classes = w.Declare1(RegKind.B64, "bm_classes");
        _hasClasses = w.Declare1(RegKind.Pred, "bm_has");
        var r = w.Declare(RegKind.B32, "bm_head_stride", "bm_tile_q", "bm_tile_kv", "bm_kv_blocks");
        (_classHeadStride, _maskTileQ, _maskTileKv, _maskKvBlocks) = (r[0], r[1], r[2], r[3]);
        Entry.Load(w, _classes, "block_classes");
        w.Setp(Cmp.Ne, U64, _hasClasses, _classes, 0);
        Entry.LoadGlobalPointer(w, _classes, "block_classes");
        Entry.Load(w, _classHeadStride, "block_cls_head_stride");
        Entry.Load(w, _maskTileQ, "block_mask_q");
        Entry.Load(w, _maskTileKv, "block_mask_kv");
        Entry.Load(w, _maskKvBlocks, "block_mask_kv_blocks");

        using (w.Scope())
        {
            var batchStride = w.Declare1(RegKind.B32, "bs");
            var x = w.Declare1(RegKind.B64, "x");
            Entry.Load(w, batchStride, "block_cls_batch_stride");
            w.MulWide(U32, x, Batch, batchStride);
            w.Add(U64, _classes, _classes, x);
        }
    }

    /// <summary>
    /// <paramref name="counter"/> = the first item at or after it, below <paramref name="end"/>, whose mask cell is not
    /// empty (or <paramref name="end"/>); unchanged without a mask.
    /// </summary>
    protected void EmitAdvanceToKept(PtxType counterType, Reg counter, Reg end)
    {
        var w = W;
        string tag = I(_advanceCount++);
        var done = w.NewLabel("KEPT_" + tag);
        var scan = w.NewLabel("SCAN_" + tag);
        w.Comment("advance to the next item whose block-mask cell is not empty (the forward skipped the empty ones)");
        w.BranchUnless(_hasClasses!, done);
        using (w.Scope())
        {
            // Names of their own: the tile's registers are read from the kernel's (head, q0, …), which must not be shadowed.
            var r = w.Declare(RegKind.B32, "bm_head", "bm_q", "bm_k", "bm_cell", "bm_x", "bm_cls");
            var (head, queryStart, keyStart, cell, x, cls) = (r[0], r[1], r[2], r[3], r[4], r[5]);
            var at = w.Declare1(RegKind.B64, "bm_at");
            var stop = w.Declare1(RegKind.Pred, "bm_stop");
            w.Place(scan);
            w.Setp(Cmp.Ge, counterType, stop, counter, end);
            w.BranchIf(stop, done);
            ItemTile(counter, head, queryStart, keyStart);
            w.Comment("cell = head * head stride + (q / mask tile q) * kv blocks + k / mask tile kv");
            w.Div(U32, cell, queryStart, _maskTileQ!);
            w.MulLo(U32, cell, cell, _maskKvBlocks!);
            w.Div(U32, x, keyStart, _maskTileKv!);
            w.Add(U32, cell, cell, x);
            w.MadLo(U32, cell, head, _classHeadStride!, cell);
            w.Cvt(U64, U32, at, cell);
            w.Add(U64, at, at, _classes!);
            w.LdGlobalNc(U8, cls, at);
            w.Setp(Cmp.Ne, U32, stop, cls, 0);
            w.BranchIf(stop, done);
            w.Add(counterType, counter, counter, 1);
            w.Branch(scan);
        }

        w.Place(done);
    }
}
