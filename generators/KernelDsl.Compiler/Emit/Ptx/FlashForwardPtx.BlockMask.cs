using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// Runtime block masks (issue 4), for kernels with a mask modifier. With a mask (param block_counts ≠ 0) the loop
/// position n runs over this query block's list [0, partial + full), the tile at position n is block_indices[row][n],
/// and only positions n &lt; partial get the element mask. Without one, n runs over the band's tiles [n_start, n_end),
/// the tile is n itself and every tile gets the element mask (as before block masks). Kernels without a mask
/// modifier emit none of this: their tile at position n is always n.
/// </summary>
internal sealed partial class FlashForwardPtx
{
    private bool HasBlockMask => MaskMod is not null;

    /// <summary>Kernel-scope registers of the block mask.</summary>
    private void DeclareBlockMaskRegisters()
    {
        if (HasBlockMask)
        {
            _w.Ins(".reg .b64 %bm_counts, %bm_list");
            _w.Ins(".reg .b32 %bm_partial");
            _w.Ins(".reg .pred %p_bm");
        }
    }

    /// <summary>
    /// After the band's [n_start, n_end): with a block mask, replace them by this row's list bounds and point %bm_list
    /// at its indices; %bm_partial = how many leading positions are partial (all of them without a mask).
    /// </summary>
    private void EmitBlockMaskRange()
    {
        if (!HasBlockMask)
        {
            return;
        }

        var w = _w;
        w.Comment("block mask: 0 = none (visit the band's tiles, each with the element mask)");
        w.Ins("ld.param.u64 %bm_counts, [" + P("block_counts") + "]");
        w.Ins("setp.ne.u64 %p_bm, %bm_counts, 0");
        w.Ins("mov.u32 %bm_partial, 2147483647");
        w.Ins("@!%p_bm bra BLOCK_MASK_DONE");
        using (w.Scope())
        {
            w.Ins(".reg .b64 %addr");
            w.Ins(".reg .b32 %row, %stride, %full");
            w.Comment("row = batch * block_batch_stride + head * block_head_stride + query block");
            w.Ins("ld.param.u32 %stride, [" + P("block_batch_stride") + "]");
            w.Ins("mad.lo.u32 %row, %batch, %stride, %qblk");
            w.Ins("ld.param.u32 %stride, [" + P("block_head_stride") + "]");
            w.Ins("mad.lo.u32 %row, %head, %stride, %row");
            w.Ins("cvta.to.global.u64 %bm_counts, %bm_counts");
            w.Ins("mul.wide.u32 %addr, %row, 8");
            w.Ins("add.u64 %addr, %addr, %bm_counts");
            w.Ins("ld.global.nc.u32 %bm_partial, [%addr]");
            w.Ins("ld.global.nc.u32 %full, [%addr+4]");
            w.Ins("mov.u32 %n_start, 0");
            w.Ins("add.u32 %n_end, %bm_partial, %full");
            w.Ins("ld.param.u32 %stride, [" + P("block_kv_blocks") + "]");
            w.Ins("mul.lo.u32 %row, %row, %stride");
            w.Ins("ld.param.u64 %bm_list, [" + P("block_indices") + "]");
            w.Ins("cvta.to.global.u64 %bm_list, %bm_list");
            w.Ins("mul.wide.u32 %addr, %row, 4");
            w.Ins("add.u64 %bm_list, %bm_list, %addr");
        }

        w.Label("BLOCK_MASK_DONE");
    }

    /// <summary>%kv0 = first key of the tile at list position <paramref name="position"/>.</summary>
    private void EmitTileStart(string position)
    {
        var w = _w;
        if (!HasBlockMask)
        {
            w.Ins("shl.b32 %kv0, " + position + ", " + I(Log2(Bkv)));
            return;
        }

        using (w.Scope())
        {
            w.Ins(".reg .b64 %tile_addr");
            w.Ins(".reg .b32 %tile_index");
            w.Ins("mov.u32 %tile_index, " + position);
            w.Ins("@%p_bm mul.wide.u32 %tile_addr, " + position + ", 4");
            w.Ins("@%p_bm add.u64 %tile_addr, %tile_addr, %bm_list");
            w.Ins("@%p_bm ld.global.nc.u32 %tile_index, [%tile_addr]");
            w.Ins("shl.b32 %kv0, %tile_index, " + I(Log2(Bkv)));
        }
    }

    /// <summary>In the element-mask stage: skip it for the full blocks of a block mask (positions ≥ partial).</summary>
    private void EmitSkipMaskOnFullBlocks(string tag)
    {
        if (!HasBlockMask)
        {
            return;
        }

        var w = _w;
        w.Comment("a block the block mask lists as full keeps every pair: no element mask");
        w.Ins("setp.ge.u32 %partial, %n, %bm_partial");
        w.Ins("@%partial bra MASK_DONE" + tag);
    }
}
