using KernelDsl.Compiler.Emit.Ptx.Construction;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

/// <summary>
/// Runtime block masks (issue 4), for kernels with a mask modifier. With a mask (param block_counts ≠ 0) the loop
/// position n runs over this query block's list [0, partial + full), the tile at position n is block_indices[row][n],
/// and only positions n &lt; partial get the element mask. Without one, n runs over the band's tiles [n_start, n_end),
/// the tile is n itself and every tile gets the element mask (as before block masks). Kernels without a mask
/// modifier emit none of this: their tile at position n is always n.
/// </summary>
internal abstract partial class ForwardKernel
{
    private bool HasBlockMask => Gpu.TakesBlockMask;

    /// <summary>
    /// After the band's [n_start, n_end): with a block mask, replace them by this row's list bounds and point bm_list
    /// at its indices; bm_partial = how many leading positions are partial (all of them without a mask).
    /// </summary>
    private void EmitBlockMaskRange()
    {
        if (!HasBlockMask)
        {
            return;
        }

        var w = W;
        var (counts, list, partial, hasMask) = (R.BlockCounts!, R.BlockList!, R.BlockPartial!, R.HasBlockMask!);
        w.Comment("block mask: 0 = none (visit the band's tiles, each with the element mask)");
        Entry.Load(w, counts, "block_counts");
        w.Setp(Cmp.Ne, U64, hasMask, counts, 0);
        w.Mov(U32, partial, 2147483647);
        var done = w.NewLabel("BLOCK_MASK_DONE");
        w.BranchUnless(hasMask, done);
        using (w.Scope())
        {
            var addr = w.Declare1(RegKind.B64, "addr");
            var r = w.Declare(RegKind.B32, "row", "stride", "full");
            var (row, stride, full) = (r[0], r[1], r[2]);
            w.Comment("row = batch * block_batch_stride + head * block_head_stride + query block");
            Entry.Load(w, stride, "block_batch_stride");
            w.MadLo(U32, row, R.Batch, stride, R.QueryBlock);
            Entry.Load(w, stride, "block_head_stride");
            w.MadLo(U32, row, R.Head, stride, row);
            w.CvtaToGlobal(counts, counts);
            w.MulWide(U32, addr, row, 8);
            w.Add(U64, addr, addr, counts);
            w.LdGlobalNc(U32, partial, addr);
            w.LdGlobalNc(U32, full, addr, 4);
            w.Mov(U32, R.NStart, 0);
            w.Add(U32, R.NEnd, partial, full);
            Entry.Load(w, stride, "block_kv_blocks");
            w.MulLo(U32, row, row, stride);
            Entry.LoadGlobalPointer(w, list, "block_indices");
            w.MulWide(U32, addr, row, 4);
            w.Add(U64, list, list, addr);
        }

        w.Place(done);
    }

    /// <summary>kv0 = first key of the tile at list position <paramref name="position"/>.</summary>
    protected void EmitTileStart(Reg position)
    {
        var w = W;
        int logBkv = Log2(Shape.BlockKV);
        if (!HasBlockMask)
        {
            w.Shl(B32, R.Kv0, position, logBkv);
            return;
        }

        var (list, hasMask) = (R.BlockList!, R.HasBlockMask!);
        using (w.Scope())
        {
            var tileAddr = w.Declare1(RegKind.B64, "tile_addr");
            var tileIndex = w.Declare1(RegKind.B32, "tile_index");
            w.Mov(U32, tileIndex, position);
            using (w.When(hasMask))
            {
                w.MulWide(U32, tileAddr, position, 4);
                w.Add(U64, tileAddr, tileAddr, list);
                w.LdGlobalNc(U32, tileIndex, tileAddr);
            }

            w.Shl(B32, R.Kv0, tileIndex, logBkv);
        }
    }

    /// <summary>In the element-mask stage: skip it for the full blocks of a block mask (positions ≥ partial).</summary>
    private void EmitSkipMaskOnFullBlocks(Reg partialTile, PtxLabel label)
    {
        if (!HasBlockMask)
        {
            return;
        }

        var w = W;
        w.Comment("a block the block mask lists as full keeps every pair: no element mask");
        w.Setp(Cmp.Ge, U32, partialTile, R.N, R.BlockPartial!);
        w.BranchIf(partialTile, label);
    }
}
