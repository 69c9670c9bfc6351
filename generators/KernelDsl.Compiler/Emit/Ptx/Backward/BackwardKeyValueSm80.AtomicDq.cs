using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Backward;

/// <summary>
/// The atomic-dQ mode (FlashAttention-2's scheme): per item, after dK += dSᵀ·Q, the warps write their dSᵀ A fragments
/// (16 keys × the query tile, 16-bit) to shared memory, and after a barrier each warp multiplies a 16-query slice of dS by
/// the block's K (resident) and adds the fp32 result into the dQ accumulator with red.global.add — so dQ needs no second
/// kernel recomputing S and dP. Query tiles of 64 give each warp 16 rows × D; tiles of 32 give two warps per 16 rows, each
/// taking half of D's 16-column groups (rounded up; with an odd count the second warp's first group repeats the first
/// warp's last and is not added).
/// </summary>
internal sealed partial class BackwardKeyValueSm80
{
    private bool AtomicDq => Gpu.Kind == GpuKernelKind.BackwardKeyValueAtomic;

    /// <summary>Registers of the atomic-dQ step (declared by <see cref="EmitDqSetup"/>).</summary>
    private sealed record DqRegisters(Reg StoreAddress, Reg SliceA, Reg KeyB, Reg SliceRow, Reg SliceColumn, Reg? FirstPart, Reg Accumulator, AccumulatorFragment Slice);

    private DqRegisters? _dq;

    private int SliceColumns => GpuBackwardPlanner.DqColumnsPerWarp(D, BQ);

    /// <summary>16-column groups the second warp of a split repeats (0 or 1).</summary>
    private int RepeatedGroups => (GpuBackwardPlanner.DqColumnSplit(BQ) * SliceColumns / 16) - (D / 16);

    /// <summary>Once per thread: where this thread stores dSᵀ, this warp's slice (rows, columns) and its ldmatrix addresses, the accumulator.</summary>
    private void EmitDqSetup(Reg kTile, Reg laneDMid)
    {
        var w = W;
        int rowGroups = BQ / 16;
        int pitch = Layout.ScoreGradientPitchBytes;
        w.Stage(System.FormattableString.Invariant($"Setup (atomic dQ): dS^T @{Layout.ScoreGradientOffset} ({Layout.ResidentRows} keys x {pitch} bytes); this warp's dQ slice: query rows 16*(warp % {rowGroups}), {SliceColumns} of D's columns"));
        var r = w.Declare(RegKind.B32, "ds_st", "ds_a", "k_b", "dq_row", "dq_col");
        var (store, sliceA, keyB, sliceRow, sliceColumn) = (r[0], r[1], r[2], r[3], r[4]);
        var accumulator = w.Declare1(RegKind.B64, "dq_acc");
        Reg? firstPart = RepeatedGroups > 0 ? w.Declare1(RegKind.Pred, "dq_first") : null;
        var slice = new AccumulatorFragment(w.DeclareArray(RegKind.F32, "dqs", SliceColumns / 2));
        using (w.Scope())
        {
            var t = w.Declare(RegKind.B32, "ds", "part", "x");
            var (ds, part, x) = (t[0], t[1], t[2]);
            w.Add(U32, ds, Smem, Layout.ScoreGradientOffset);
            w.Comment("dS^T stores: this thread's key rows 16*warp + g (+8), query columns 2*t4 (+8) of each 16-column k step");
            w.MadLo(U32, x, Warp, 16, G);
            w.MadLo(U32, store, x, pitch, ds);
            w.MadLo(U32, store, T4, 2 * Element.Bytes, store);
            w.Comment("slice: row group warp % groups, column part warp / groups (its first column: part * (D - slice columns))");
            w.And(B32, sliceRow, Warp, rowGroups - 1);
            w.Shr(U32, part, Warp, Log2(rowGroups));
            w.MulLo(U32, sliceColumn, part, D - SliceColumns);
            w.Comment("A = dS (rows = the slice's queries) read transposed from dS^T; B = K (the block's keys x D) read transposed");
            MmaSyncProducts.LaneRowsByHi(w, sliceA, Lane, pitch);
            w.MadLo(U32, sliceA, sliceRow, 16 * Element.Bytes, sliceA);
            w.Add(U32, sliceA, sliceA, ds);
            w.MadLo(U32, keyB, sliceColumn, Element.Bytes, laneDMid);
            w.Add(U32, keyB, keyB, kTile);
            w.Comment("this thread's accumulator rows and columns within the item: 16*row group + g (+8), first column + 2*t4");
            w.MadLo(U32, sliceRow, sliceRow, 16, G);
            w.MadLo(U32, sliceColumn, T4, 2, sliceColumn);
            if (firstPart is not null)
            {
                w.Comment("the second warp of a split repeats one 16-column group (D / 16 is odd): only the first adds it");
                w.Setp(Cmp.Eq, U32, firstPart, part, 0);
            }
        }

        Entry.LoadGlobalPointer(w, accumulator, "dq_acc");
        _dq = new DqRegisters(store, sliceA, keyB, sliceRow, sliceColumn, firstPart, accumulator, slice);
    }

    /// <summary>The item's dQ contribution: dSᵀ (in <paramref name="frag"/>, A fragments) to shared memory, barrier, the slice product, red.global.add.</summary>
    private void EmitDqItem(RegArray frag, Reg head, Reg q0)
    {
        var w = W;
        var dq = _dq!;
        int pitch = Layout.ScoreGradientPitchBytes;
        w.Stage("dQ += dS * K (atomic dQ): dS^T to shared memory; after the barrier, this warp's slice of dS times K; red.global.add.f32 into the accumulator");
        for (int kc = 0; kc < BQ / 16; kc++)
        {
            w.StShared(B32, dq.StoreAddress, kc * 16 * Element.Bytes, frag[4 * kc]);
            w.StShared(B32, dq.StoreAddress, (8 * pitch) + (kc * 16 * Element.Bytes), frag[(4 * kc) + 1]);
            w.StShared(B32, dq.StoreAddress, (8 * Element.Bytes) + (kc * 16 * Element.Bytes), frag[(4 * kc) + 2]);
            w.StShared(B32, dq.StoreAddress, (8 * pitch) + (8 * Element.Bytes) + (kc * 16 * Element.Bytes), frag[(4 * kc) + 3]);
        }

        w.Comment("every warp's dS^T is stored; the next item's loop-top barrier keeps the store after every warp's reads");
        Copies.Barrier(w);
        Products.ProductTransposedAB(w, dq.Slice, dq.SliceA, pitch, dq.KeyB, Layout.DPitchBytes, Gpu.BlockKV);
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "q", "i");
            var (q, i) = (r[0], r[1]);
            var address = w.Declare1(RegKind.B64, "at");
            var x = w.Declare1(RegKind.B64, "x");
            var ok = w.Declare(RegKind.Pred, "ok0", "ok1");
            w.Comment("row q = q0 + slice row (< Sq, else not added); at = acc + 4 * (((b * Hq + head) * Sq + q) * D + column)");
            w.Add(U32, q, q0, dq.SliceRow);
            w.Add(U32, i, q, 8);
            w.Setp(Cmp.Lt, U32, ok[0], q, SeqQ);
            w.Setp(Cmp.Lt, U32, ok[1], i, SeqQ);
            Reg[] okRepeated = ok;
            if (dq.FirstPart is { } firstPart)
            {
                w.Comment("the repeated group: rows in range, and the first warp of the split only");
                okRepeated = w.Declare(RegKind.Pred, "okr0", "okr1");
                w.SetpAnd(Cmp.Lt, U32, okRepeated[0], q, SeqQ, firstPart);
                w.SetpAnd(Cmp.Lt, U32, okRepeated[1], i, SeqQ, firstPart);
            }

            w.MadLo(U32, i, Batch, HeadsQ, head);
            w.MadLo(U32, i, i, SeqQ, q);
            w.MulWide(U32, address, i, 4 * D);
            w.MulWide(U32, x, dq.SliceColumn, 4);
            w.Add(U64, address, address, x);
            w.Add(U64, address, address, dq.Accumulator);
            foreach (var (row, register, column) in dq.Slice.Elements())
            {
                var guard = column < 16 * RepeatedGroups ? okRepeated[row] : ok[row];
                using (w.When(guard))
                {
                    w.RedGlobalAdd(address, (row * 8 * D * 4) + (column * 4), register);
                }
            }
        }
    }
}
