using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Backward;

/// <summary>
/// dK and dV of one block of keys on the sm_80 family. The block keeps its K and V tiles in shared memory and streams
/// (query head of its GQA group, query tile) items through a two-stage cp.async ring — Q, dO and the rows' lse2 and Δ.
/// Each warp owns 16 keys and, per item, computes in registers with its keys as rows:
/// Sᵀ = K·Qᵀ, Pᵀ = exp2(Sᵀ·c − lse2), dV += Pᵀ·dO, dPᵀ = V·dOᵀ, dSᵀ = Pᵀ ∘ (dPᵀ − Δ), dK += dSᵀ·Q. The group's query
/// heads are summed in the same accumulators (no atomics, no reduction pass), and dK = scale·dK is written once.
/// </summary>
internal sealed partial class BackwardKeyValueSm80 : BackwardKernel
{
    public BackwardKeyValueSm80(KernelPlan plan, GpuKernelPlan gpu)
        : base(plan, gpu)
    {
    }

    protected override bool RowsAreQueries => false;

    private int BQ => Gpu.BlockQ;

    protected override void Compose()
    {
        var w = W;
        OpenEntry((AtomicDq ? "dK, dV and atomic dQ" : "dK and dV") + ", one block of " + I(Gpu.BlockKV) + " keys",
            System.FormattableString.Invariant($"Dynamic shared memory: K and V of the block (resident), then {Layout.Stages} stages of Q, dO, lse2 and delta"));
        var r = w.Declare(RegKind.B32, "kv_blk", "kv_head", "k0", "k_tile", "v_tile", "ring", "ka", "va", "lane_d_hi", "lane_d_mid", "lane_dv_hi", "lane_dv_mid");
        var (kvBlock, kvHead, k0, kTile, vTile, ring, ka, va) = (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
        var (laneDHi, laneDMid, laneDvHi, laneDvMid) = (r[8], r[9], r[10], r[11]);
        var loop = w.Declare(RegKind.B32, "m_start", "tiles", "items", "it", "read", "head", "q0", "full_lo", "full_hi", "jb");
        var (mStart, tiles, items, it, read, head, q0, fullLo, fullHi, jb) = (loop[0], loop[1], loop[2], loop[3], loop[4], loop[5], loop[6], loop[7], loop[8], loop[9]);
        var bounds = DeclareRowBounds("key");
        var keys = bounds.Rows;
        var ptr = w.Declare(RegKind.B64, "q_b", "q_hs", "q_ss", "do_b", "do_hs", "do_ss", "k_base", "k_ss", "v_base", "v_ss", "dk_base", "dk_ss", "dv_base", "dv_ss", "delta_b", "lse2_b");
        var (qB, qHs, qSs, doB, doHs, doSs) = (ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5]);
        var (kBase, kSs, vBase, vSs, dkBase, dkSs, dvBase, dvSs, deltaB, lse2B) = (ptr[6], ptr[7], ptr[8], ptr[9], ptr[10], ptr[11], ptr[12], ptr[13], ptr[14], ptr[15]);
        var more = w.Declare1(RegKind.Pred, "more");
        w.Comment("accumulators (fp32, mma C layout; rows = this warp's 16 keys): dK, dV; S^T and dP^T of one query tile; their A fragments");
        var dk = new AccumulatorFragment(w.DeclareArray(RegKind.F32, "dk", D / 2));
        var dv = new AccumulatorFragment(w.DeclareArray(RegKind.F32, "dv", Dv / 2));
        var s = new AccumulatorFragment(w.DeclareArray(RegKind.F32, "s", BQ / 2));
        var dp = new AccumulatorFragment(w.DeclareArray(RegKind.F32, "dp", BQ / 2));
        var frag = w.DeclareArray(RegKind.B32, "frag", BQ / 2 / Element.PerRegister);

        EmitIndices();
        w.Stage("Setup: grid = (key block, kv head, batch); this thread's keys k0 + 16*warp + g, + 8");
        w.Mov(U32, kvBlock, Sreg.CtaidX);
        w.Mov(U32, kvHead, Sreg.CtaidY);
        w.MulLo(U32, k0, kvBlock, Gpu.BlockKV);
        EmitThreadRows(k0, keys);
        BasePointer(w, Entry, "k", Batch, kvHead, Element, kBase, kSs);
        BasePointer(w, Entry, "v", Batch, kvHead, Element, vBase, vSs);
        BasePointer(w, Entry, "dk", Batch, kvHead, Element, dkBase, dkSs);
        BasePointer(w, Entry, "dv", Batch, kvHead, Element, dvBase, dvSs);
        w.Comment("Q and dO move between the query heads of the group: their batch base and head strides");
        BatchPointer("q", Element, qB, qHs, qSs);
        BatchPointer("d_o", ElementTraits.Of(OutputType), doB, doHs, doSs);
        Entry.LoadGlobalPointer(w, deltaB, "delta");
        Entry.LoadGlobalPointer(w, lse2B, "lse2");

        var residentTiles = new ResidentTiles(kTile, vTile, ring, laneDHi, laneDMid, laneDvHi);
        EmitResidentSetup("K", "V", residentTiles, laneDvMid, ka, va);
        if (AtomicDq)
        {
            EmitDqSetup(kTile, laneDMid);
        }

        EmitModifierSetup();

        EmitBand(k0, SeqKv, SeqQ, Gpu.BlockKV, BQ, keys, bounds.Lo, bounds.Hi, mStart, tiles, fullLo, fullHi);
        w.Comment("items: (query head of the group, query tile); none kept: dK = dV = 0");
        w.Sub(S32, tiles, tiles, mStart);
        w.MulLo(U32, items, tiles, Group);
        dk.Fill(w, Zero);
        dv.Fill(w, Zero);
        var epilogue = w.NewLabel("EPILOGUE");
        w.Setp(Cmp.Eq, U32, more, items, 0);
        w.BranchIf(more, epilogue);

        if (SkipsBlocks)
        {
            _itemGeometry = (mStart, tiles, k0);
            EmitBlockClassSetup();
            w.Comment("the first item the block mask keeps; none: dK = dV = 0");
            w.Mov(U32, it, 0);
            EmitAdvanceToKept(U32, it, items);
            w.Setp(Cmp.Ge, U32, more, it, items);
            w.BranchIf(more, epilogue);
        }

        EmitPrologue("K and V of the block and the first item", ("K", new GlobalTile(kBase, kSs, Element)), ("V", new GlobalTile(vBase, vSs, Element)), k0, SeqKv, Gpu.BlockKV,
            residentTiles, SkipsBlocks ? null : it, read, () => LoadItem(it, read, ring, mStart, tiles, qB, qHs, qSs, doB, doHs, doSs, deltaB, lse2B));
        EmitRingLoop("the items", "ITEM_LOOP", "item it", U32, it, items, read, more,
            (next, other) => LoadItem(next, other, ring, mStart, tiles, qB, qHs, qSs, doB, doHs, doSs, deltaB, lse2B), () =>
        {
            ItemCoordinates(it, mStart, tiles, head, q0);
            using (w.Scope())
            {
                var a = w.Declare(RegKind.B32, "stage", "q_hi", "q_mid", "do_hi", "do_mid", "stat");
                var (stage, qHi, qMid, doHi, doMid, stat) = (a[0], a[1], a[2], a[3], a[4], a[5]);
                w.MadLo(U32, stage, read, Layout.StageBytes, ring);
                w.Add(U32, qHi, stage, laneDHi);
                w.Add(U32, qMid, stage, laneDMid);
                w.Add(U32, doHi, stage, Layout.StreamDvOffset);
                w.Add(U32, doMid, doHi, laneDvMid);
                w.Add(U32, doHi, doHi, laneDvHi);
                w.MadLo(U32, stat, T4, 8, stage);
                w.Add(U32, stat, stat, Layout.StreamLseOffset);

                w.Stage("S^T = K * Q^T (keys x queries)");
                Products.ProductABt(w, s, ka, qHi, Layout.DPitchBytes, D);
                w.Stage("dP^T = V * dO^T");
                Products.ProductABt(w, dp, va, doHi, Layout.DvPitchBytes, Dv);
                EmitRelativeBounds(q0, BQ, bounds.Lo, bounds.Hi, fullLo, fullHi, jb, bounds.RelLo, bounds.RelHi);
                EmitGradients(s, dp, keys, jb, bounds.RelLo, bounds.RelHi, head, new RowStatistics(null, null, stat));
                w.Stage("dV += P^T * dO (P^T to " + Element.Ptx + " A fragments in registers)");
                s.ConvertToA(w, Element, frag);
                Products.AccumulateAB(w, dv, frag, doMid, Layout.DvPitchBytes, BQ);
                w.Stage("dK += dS^T * Q");
                dp.ConvertToA(w, Element, frag);
                Products.AccumulateAB(w, dk, frag, qMid, Layout.DPitchBytes, BQ);
                if (AtomicDq)
                {
                    EmitDqItem(frag, head, q0);
                }
            }
        }, SkipsBlocks);

        w.Place(epilogue);
        w.Stage("Epilogue: dK = scale * dK and dV, in " + Element.Ptx + ", keys < Skv");
        StoreRows(dk, new GlobalTile(dkBase, dkSs, Element), keys, SeqKv, Spec.EffectiveScale, "DK");
        StoreRows(dv, new GlobalTile(dvBase, dvSs, Element), keys, SeqKv, 1.0, "DV");
        w.Ret();
    }

    /// <summary>The registers <see cref="ItemTile"/> reads: the band's first query tile, tiles per head, the block's first key.</summary>
    private (Reg MStart, Reg Tiles, Reg K0)? _itemGeometry;

    protected override void ItemTile(Reg item, Reg head, Reg queryStart, Reg keyStart)
    {
        var (mStart, tiles, k0) = _itemGeometry!.Value;
        ItemCoordinates(item, mStart, tiles, head, queryStart);
        W.Mov(U32, keyStart, k0);
    }

    /// <summary>head = kv_head·group + it / tiles, q0 = (m_start + it mod tiles)·BlockQ.</summary>
    private void ItemCoordinates(Reg item, Reg mStart, Reg tiles, Reg head, Reg q0)
    {
        var w = W;
        using (w.Scope())
        {
            var x = w.Declare1(RegKind.B32, "x");
            w.Div(U32, x, item, tiles);
            w.Rem(U32, q0, item, tiles);
            w.Add(U32, q0, q0, mStart);
            w.MulLo(U32, q0, q0, BQ);
            w.Mov(U32, head, Sreg.CtaidY);
            w.MadLo(U32, head, head, Group, x);
        }
    }

    /// <summary>Item <paramref name="item"/>'s Q and dO tiles, lse2 and delta into ring stage <paramref name="stage"/> (cp.async, zero-filled past Sq).</summary>
    private void LoadItem(Reg item, Reg stage, Reg ring, Reg mStart, Reg tiles, Reg qB, Reg qHs, Reg qSs, Reg doB, Reg doHs, Reg doSs, Reg deltaB, Reg lse2B)
    {
        var w = W;
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "head", "q0", "dst", "t", "row", "bytes");
            var (head, q0, dst, t, row, bytes) = (r[0], r[1], r[2], r[3], r[4], r[5]);
            var a = w.Declare(RegKind.B64, "q_base", "do_base", "x", "ga");
            var (qBase, doBase, x, ga) = (a[0], a[1], a[2], a[3]);
            var p = w.Declare(RegKind.Pred, "ok", "mine");
            var (ok, mine) = (p[0], p[1]);
            ItemCoordinates(item, mStart, tiles, head, q0);
            w.Cvt(U64, U32, x, head);
            w.MadLo(U64, qBase, x, qHs, qB);
            w.MadLo(U64, doBase, x, doHs, doB);
            w.MadLo(U32, dst, stage, Layout.StageBytes, ring);
            CopyTile("Q", new GlobalTile(qBase, qSs, Element), q0, SeqQ, dst, BQ, valueWidth: false);
            w.Add(U32, dst, dst, Layout.StreamDvOffset);
            CopyTile("dO", new GlobalTile(doBase, doSs, ElementTraits.Of(OutputType)), q0, SeqQ, dst, BQ, valueWidth: true);
            w.Comment("lse2 (threads 0..BQ-1) and delta (threads BQ..2BQ-1) of the tile's rows; rows past Sq read nothing and hold 0");
            w.Rem(U32, t, Thread, BQ);
            w.Setp(Cmp.Lt, U32, mine, Thread, 2 * BQ);
            w.Add(U32, row, q0, t);
            w.Setp(Cmp.Lt, U32, ok, row, SeqQ);
            w.Selp(B32, bytes, 4, 0, ok);
            w.Selp(B32, row, row, q0, ok);
            w.Add(U32, dst, dst, BQ * Layout.DvPitchBytes);
            w.MadLo(U32, dst, t, 4, dst);
            StatisticRow(ga, lse2B, head);
            using (w.Scope())
            {
                var second = w.Declare1(RegKind.Pred, "second");
                w.Setp(Cmp.Ge, U32, second, Thread, BQ);
                using (w.When(second))
                {
                    w.Add(U32, dst, dst, BQ * 4);
                }

                var dga = w.Declare1(RegKind.B64, "dga");
                StatisticRow(dga, deltaB, head);
                w.Selp(B64, ga, dga, ga, second);
            }

            w.MulWide(U32, x, row, 4);
            w.Add(U64, ga, ga, x);
            using (w.When(mine))
            {
                Copies.CpAsyncWord(w, dst, ga, bytes);
            }
        }
    }
}
