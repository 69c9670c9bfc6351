using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Decode;

internal sealed partial class DecodeKernel
{
    /// <summary>
    /// Indices (grid = (split, KV head × row block, sequence)), the sequence's queries and length from the batch arrays, the
    /// CTA's rows (a CTA past the group's G·q rows leaves at once: the grid is sized for the longest sequence), the band's
    /// key range and this split's share of its 64-key tiles, and the base addresses.
    /// </summary>
    private void EmitSetup()
    {
        var w = _w;
        var done = w.NewLabel("CTA_DONE");
        w.Stage("Setup: thread, warp, lane; grid = (KV split, KV head x row block, sequence)");
        w.Mov(U32, R.Thread, Sreg.TidX);
        w.Shr(U32, R.Warp, R.Thread, 5);
        w.And(B32, R.Lane, R.Thread, 31);
        w.Shr(U32, R.G, R.Lane, 2);
        w.And(B32, R.T4, R.Lane, 3);
        w.Mov(U32, R.Split, Sreg.CtaidX);
        w.Mov(U32, R.Seq, Sreg.CtaidZ);
        _entry.Load(w, R.Splits, "splits");
        _entry.Load(w, R.HeadsQ, "heads_q");
        _entry.Load(w, R.HeadsKv, "heads_kv");
        _entry.Load(w, R.PageSize, "page_size");
        _entry.Load(w, R.TotalQ, "total_q");
        using (w.Scope())
        {
            var t = w.Declare(RegKind.B32, "row_blocks", "y", "next");
            var (rowBlocks, y, next) = (t[0], t[1], t[2]);
            var a = w.Declare1(RegKind.B64, "at");
            var leave = w.Declare1(RegKind.Pred, "leave");
            _entry.Load(w, rowBlocks, "row_blocks");
            w.Mov(U32, y, Sreg.CtaidY);
            w.Div(U32, R.KvHead, y, rowBlocks);
            w.MulLo(U32, R.RowBlock, R.KvHead, rowBlocks);
            w.Sub(U32, R.RowBlock, y, R.RowBlock);
            w.Comment("GQA packing: the KV group's query heads are kv_head*G .. kv_head*G + G-1");
            w.Div(U32, R.Group, R.HeadsQ, R.HeadsKv);
            w.MulLo(U32, R.FirstHead, R.KvHead, R.Group);
            w.Comment("the sequence's queries [query_offsets[s], query_offsets[s+1]) and its length L = kv_lengths[s]");
            _entry.LoadGlobalPointer(w, a, "query_offsets");
            AddIndex(a, R.Seq, 4);
            w.LdGlobalNc(U32, R.QFirst, a);
            w.LdGlobalNc(U32, next, a, 4);
            w.Sub(U32, R.QCount, next, R.QFirst);
            w.MulLo(U32, R.Rows, R.Group, R.QCount);
            w.Shl(B32, R.RowFirst, R.RowBlock, 4);
            w.Comment("a row block past the group's G*q packed rows has nothing to do (the grid is sized for the batch's largest q)");
            w.Setp(Cmp.Ge, U32, leave, R.RowFirst, R.Rows);
            w.BranchIf(leave, done);
            _entry.LoadGlobalPointer(w, a, "kv_lengths");
            AddIndex(a, R.Seq, 4);
            w.LdGlobalNc(U32, R.KvLen, a);
            w.Add(S32, R.KvLast, R.KvLen, -1);
        }

        EmitKeyRange();
        EmitPointers();
        _ctaDone = done;
    }

    private PtxLabel _ctaDone = null!;

    /// <summary>
    /// The band's key range of the sequence, [first, end) (the whole sequence unless a sliding window bounds it), cut into
    /// 64-key tiles and shared among the splits: split s takes tiles [s·per, min((s+1)·per, tiles)), per = ceil(tiles / splits).
    /// A split with no tiles still writes its partial (m = −∞, l = 0), which the merge ignores.
    /// </summary>
    private void EmitKeyRange()
    {
        var w = _w;
        var mask = _spec.Mask;
        int left = mask.BandLeft;
        int right = mask.BandRight;
        w.Stage("Key range: the band's keys of the sequence, in 64-key tiles, this split's share");
        if (mask.IsMasked && mask.Alignment == MaskAlignment.BottomRight)
        {
            w.Comment("bottom-right: query i of q sees the diagonal key L - q + i");
            w.Sub(S32, R.Diagonal, R.KvLen, R.QCount);
        }
        else
        {
            w.Mov(U32, R.Diagonal, 0);
        }

        using (w.Scope())
        {
            var t = w.Declare(RegKind.B32, "first", "end", "total", "per", "t0", "t1");
            var (first, end, total, per, t0, t1) = (t[0], t[1], t[2], t[3], t[4], t[5]);
            if (mask.IsMasked && left >= 0)
            {
                w.Comment("window: no row keeps a key before diagonal - left (row 0's bound)");
                w.Sub(S32, first, R.Diagonal, left);
                w.Max(S32, first, first, 0);
            }
            else
            {
                w.Mov(U32, first, 0);
            }

            if (mask.IsMasked && right >= 0)
            {
                w.Comment("no row keeps a key past diagonal + q - 1 + right (the last row's bound)");
                w.Add(S32, end, R.Diagonal, R.QCount);
                w.Add(S32, end, end, right);
                w.Min(S32, end, end, R.KvLen);
            }
            else
            {
                w.Mov(U32, end, R.KvLen);
            }

            w.Max(S32, end, end, first);
            w.Sub(S32, total, end, first);
            w.Add(S32, total, total, _gpu.BlockKV - 1);
            w.Shr(U32, total, total, TileShift);
            w.Add(U32, per, total, R.Splits);
            w.Add(U32, per, per, -1);
            w.Div(U32, per, per, R.Splits);
            w.MulLo(U32, t0, R.Split, per);
            w.Add(U32, t1, t0, per);
            w.Min(U32, t1, t1, total);
            w.Max(U32, t1, t1, t0);
            w.Sub(U32, R.Tiles, t1, t0);
            w.Shl(B32, t0, t0, TileShift);
            w.Add(U32, R.SplitBegin, first, t0);
            w.Shl(B32, t1, t1, TileShift);
            w.Add(U32, t1, first, t1);
            w.Min(U32, R.SplitEnd, t1, end);
        }
    }

    /// <summary>Global base addresses (the KV head's base in each pool, the sequence's page-table row, strides in bytes) and the shared-memory tiles.</summary>
    private void EmitPointers()
    {
        var w = _w;
        int shift = _element.ByteShift;
        w.Stage("Pointers: q, O, LSE, workspace; the pools at this KV head, strides in bytes; the sequence's page-table row");
        _entry.LoadGlobalPointer(w, R.QPtr, "q");
        _entry.LoadGlobalPointer(w, R.OPtr, "o");
        _entry.Load(w, R.LsePtr, "lse");
        w.Setp(Cmp.Ne, U64, R.HasLse, R.LsePtr, 0);
        w.CvtaToGlobal(R.LsePtr, R.LsePtr);
        _entry.LoadGlobalPointer(w, R.PartialO, "partial_o");
        _entry.LoadGlobalPointer(w, R.PartialLse, "partial_lse");
        w.Setp(Cmp.Eq, U32, R.Direct, R.Splits, 1);
        w.Mov(U64, R.QRowBytes, D * _element.Bytes);
        using (w.Scope())
        {
            var t = w.Declare(RegKind.B64, "stride", "wide");
            var (stride, wide) = (t[0], t[1]);
            var maxPages = w.Declare1(RegKind.B32, "max_pages");
            _entry.Load(w, maxPages, "max_pages");
            _entry.LoadGlobalPointer(w, R.PageTableRow, "page_table");
            w.MulWide(U32, wide, R.Seq, maxPages);
            w.Shl(B64, wide, wide, 2);
            w.Add(U64, R.PageTableRow, R.PageTableRow, wide);
            w.Cvt(U64, U32, wide, R.KvHead);
            foreach (var (pool, headBase, page, slot, prefix) in new[] { ("k_pool", R.KBase, R.KPageStride, R.KSlotStride, "k"), ("v_pool", R.VBase, R.VPageStride, R.VSlotStride, "v") })
            {
                _entry.LoadGlobalPointer(w, headBase, pool);
                _entry.Load(w, stride, prefix + "_head_stride");
                w.Shl(B64, stride, stride, shift);
                w.MadLo(U64, headBase, wide, stride, headBase);
                _entry.Load(w, page, prefix + "_page_stride");
                w.Shl(B64, page, page, shift);
                _entry.Load(w, slot, prefix + "_slot_stride");
                w.Shl(B64, slot, slot, shift);
            }
        }

        w.Mov(PtxType.F32, R.ScaleLog2, Operand.F32(SoftmaxLog2Multiplier));
        w.Stage("Shared memory: Q tile, K ring, V ring; each lane's ldmatrix row address (warp w reads keys 16w..16w+15 of a tile)");
        w.Mov(U32, R.QTile, Operand.Literal(SharedMemorySymbol));
        w.Add(U32, R.KRing, R.QTile, Smem.KOffset);
        w.Add(U32, R.VRing, R.QTile, Smem.VOffset);
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "r8", "hi", "mid", "x");
            var (r8, hi, mid, x) = (r[0], r[1], r[2], r[3]);
            w.And(B32, r8, R.Lane, 7);
            w.Shr(U32, hi, R.Lane, 4);
            w.Shr(U32, mid, R.Lane, 3);
            w.And(B32, mid, mid, 1);
            w.Comment("Q as A: row r8 + 8*mid, column block 8*hi");
            w.MadLo(U32, x, mid, 8, r8);
            w.MadLo(U32, x, x, Smem.QPitchBytes, R.QTile);
            w.MadLo(U32, R.QLd, hi, 16, x);
            w.Comment("K as B of Q*K^T: key 16*warp + r8 + 8*hi, column block 8*mid");
            w.MadLo(U32, x, hi, 8, r8);
            w.MadLo(U32, x, R.Warp, 16, x);
            w.MulLo(U32, x, x, Smem.KPitchBytes);
            w.MadLo(U32, R.KLd, mid, 16, x);
            w.Comment("V as B of P*V (ldmatrix.trans): key 16*warp + r8 + 8*mid, column block 8*hi");
            w.MadLo(U32, x, mid, 8, r8);
            w.MadLo(U32, x, R.Warp, 16, x);
            w.MulLo(U32, x, x, Smem.VPitchBytes);
            w.MadLo(U32, R.VLd, hi, 16, x);
        }
    }

    /// <summary>address += index·bytes (index b32, unsigned).</summary>
    private void AddIndex(Reg address, Reg index, int bytes)
    {
        using (_w.Scope())
        {
            var wide = _w.Declare1(RegKind.B64, "ix");
            _w.MulWide(U32, wide, index, bytes);
            _w.Add(U64, address, address, wide);
        }
    }

    /// <summary>What the score registers are multiplied by inside exp2: scale·log2 e for raw dot products, log2 e for modified scores.</summary>
    private double SoftmaxLog2Multiplier => _spec.ScoreModifier is null ? _gpu.ScaleLog2 : Constants.Log2E;
}
