using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Backward;

/// <summary>
/// dQ of one block of query rows on the sm_80 family: the forward's loop shape (grid over query blocks, K/V tiles
/// streamed through a two-stage cp.async ring over the band's tiles), with the backward's body per tile:
/// S = Q·Kᵀ, P = exp2(S·c − lse2), dP = dO·Vᵀ, dS = P ∘ (dP − Δ), dQ += dS·K. Q and dO stay in shared memory; each
/// warp owns 16 rows, so every dQ element has one writer and its sum over the key tiles a fixed order.
/// </summary>
internal sealed class BackwardQuerySm80 : BackwardKernel
{
    public BackwardQuerySm80(KernelPlan plan, GpuKernelPlan gpu)
        : base(plan, gpu)
    {
    }

    protected override bool RowsAreQueries => true;

    private int BKV => Gpu.BlockKV;

    protected override void Compose()
    {
        var w = W;
        OpenEntry("dQ, one block of " + I(Gpu.BlockQ) + " query rows",
            System.FormattableString.Invariant($"Dynamic shared memory: Q and dO of the block (resident), then {Layout.Stages} stages of K and V"));
        var r = w.Declare(RegKind.B32, "q_blk", "head", "kv_head", "q0", "q_tile", "do_tile", "ring", "qa", "doa", "lane_d_hi", "lane_d_mid", "lane_dv_hi");
        var (qBlock, head, kvHead, q0, qTile, doTile, ring, qa) = (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
        var (doa, laneDHi, laneDMid, laneDvHi) = (r[8], r[9], r[10], r[11]);
        var loop = w.Declare(RegKind.B32, "n", "n_end", "read", "kv0", "full_lo", "full_hi", "jb");
        var (n, nEnd, read, kv0, fullLo, fullHi, jb) = (loop[0], loop[1], loop[2], loop[3], loop[4], loop[5], loop[6]);
        var bounds = DeclareRowBounds("row");
        var rows = bounds.Rows;
        var statArrays = w.DeclareArrays(RegKind.F32, 2, "nlse", "dlt");
        Reg[] negLse = { statArrays[0][0], statArrays[0][1] };
        Reg[] delta = { statArrays[1][0], statArrays[1][1] };
        var ptr = w.Declare(RegKind.B64, "q_base", "q_ss", "do_base", "do_ss", "k_base", "k_ss", "v_base", "v_ss", "dq_base", "dq_ss");
        var (qBase, qSs, doBase, doSs, kBase, kSs, vBase, vSs, dqBase, dqSs) = (ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5], ptr[6], ptr[7], ptr[8], ptr[9]);
        var more = w.Declare1(RegKind.Pred, "more");
        w.Comment("accumulators (fp32, mma C layout; rows = this warp's 16 queries): dQ; S and dP of one key tile; dS's A fragments");
        var dq = new AccumulatorFragment(w.DeclareArray(RegKind.F32, "dq", D / 2));
        var s = new AccumulatorFragment(w.DeclareArray(RegKind.F32, "s", BKV / 2));
        var dp = new AccumulatorFragment(w.DeclareArray(RegKind.F32, "dp", BKV / 2));
        var frag = w.DeclareArray(RegKind.B32, "frag", BKV / 2 / Element.PerRegister);

        EmitIndices();
        w.Stage("Setup: grid = (query block, query head, batch); this thread's rows q0 + 16*warp + g, + 8; GQA kv head = head / group");
        w.Mov(U32, qBlock, Sreg.CtaidX);
        w.Mov(U32, head, Sreg.CtaidY);
        w.Div(U32, kvHead, head, Group);
        w.MulLo(U32, q0, qBlock, Gpu.BlockQ);
        EmitThreadRows(q0, rows);
        var outputElement = ElementTraits.Of(OutputType);
        BasePointer(w, Entry, "q", Batch, head, Element, qBase, qSs);
        BasePointer(w, Entry, "d_o", Batch, head, outputElement, doBase, doSs);
        BasePointer(w, Entry, "k", Batch, kvHead, Element, kBase, kSs);
        BasePointer(w, Entry, "v", Batch, kvHead, Element, vBase, vSs);
        BasePointer(w, Entry, "dq", Batch, head, Element, dqBase, dqSs);
        EmitRowStatistics(head, rows, negLse, delta);

        var residentTiles = new ResidentTiles(qTile, doTile, ring, laneDHi, laneDMid, laneDvHi);
        EmitResidentSetup("Q", "dO", residentTiles, null, qa, doa);

        EmitModifierSetup();
        EmitBand(q0, SeqQ, SeqKv, Gpu.BlockQ, BKV, rows, bounds.Lo, bounds.Hi, n, nEnd, fullLo, fullHi);
        dq.Fill(w, Zero);
        if (SkipsBlocks)
        {
            _tileGeometry = (head, q0);
            EmitBlockClassSetup();
            EmitAdvanceToKept(S32, n, nEnd);
        }

        var epilogue = w.NewLabel("EPILOGUE");
        w.Setp(Cmp.Ge, S32, more, n, nEnd);
        w.BranchIf(more, epilogue);

        EmitPrologue("Q and dO of the block and the first K/V tile", ("Q", new GlobalTile(qBase, qSs, Element)), ("dO", new GlobalTile(doBase, doSs, outputElement)), q0, SeqQ, Gpu.BlockQ,
            residentTiles, null, read, () => LoadTile(n, read, ring, kBase, kSs, vBase, vSs));
        EmitRingLoop("the kept K/V tiles", "KV_LOOP", "tile n", S32, n, nEnd, read, more, (next, other) => LoadTile(next, other, ring, kBase, kSs, vBase, vSs), () =>
        {
            w.Shl(B32, kv0, n, Log2(BKV));
            using (w.Scope())
            {
                var a = w.Declare(RegKind.B32, "stage", "k_hi", "k_mid", "v_hi");
                var (stage, kHi, kMid, vHi) = (a[0], a[1], a[2], a[3]);
                w.MadLo(U32, stage, read, Layout.StageBytes, ring);
                w.Add(U32, kHi, stage, laneDHi);
                w.Add(U32, kMid, stage, laneDMid);
                w.Add(U32, vHi, stage, Layout.StreamDvOffset);
                w.Add(U32, vHi, vHi, laneDvHi);
                w.Stage("S = Q * K^T");
                Products.ProductABt(w, s, qa, kHi, Layout.DPitchBytes, D);
                w.Stage("dP = dO * V^T");
                Products.ProductABt(w, dp, doa, vHi, Layout.DvPitchBytes, Dv);
                EmitRelativeBounds(kv0, BKV, bounds.Lo, bounds.Hi, fullLo, fullHi, jb, bounds.RelLo, bounds.RelHi);
                EmitGradients(s, dp, rows, jb, bounds.RelLo, bounds.RelHi, head, new RowStatistics(negLse, delta, null));
                w.Stage("dQ += dS * K (dS to " + Element.Ptx + " A fragments in registers)");
                dp.ConvertToA(w, Element, frag);
                Products.AccumulateAB(w, dq, frag, kMid, Layout.DPitchBytes, BKV);
            }
        }, SkipsBlocks);

        w.Place(epilogue);
        w.Stage("Epilogue: dQ = scale * dQ in " + Element.Ptx + ", rows < Sq");
        StoreRows(dq, new GlobalTile(dqBase, dqSs, Element), rows, SeqQ, Spec.EffectiveScale, "DQ");
        w.Ret();
    }

    /// <summary>The registers <see cref="ItemTile"/> reads: the block's query head and first row.</summary>
    private (Reg Head, Reg Q0)? _tileGeometry;

    protected override void ItemTile(Reg item, Reg head, Reg queryStart, Reg keyStart)
    {
        var (blockHead, q0) = _tileGeometry!.Value;
        W.Mov(U32, head, blockHead);
        W.Mov(U32, queryStart, q0);
        W.Shl(B32, keyStart, item, Log2(BKV));
    }

    /// <summary>This thread's rows' −lse2 and Δ from the workspace (rows past Sq: lse2 = +∞, so P = 0 there).</summary>
    private void EmitRowStatistics(Reg head, Reg[] rows, Reg[] negLse, Reg[] delta)
    {
        var w = W;
        w.Stage("Row statistics: -lse2 and delta of this thread's two rows");
        using (w.Scope())
        {
            var a = w.Declare(RegKind.B64, "lse2_row", "delta_row", "x", "at");
            var (lseRow, deltaRow, x, at) = (a[0], a[1], a[2], a[3]);
            var ok = w.Declare1(RegKind.Pred, "ok");
            Entry.LoadGlobalPointer(w, at, "lse2");
            StatisticRow(lseRow, at, head);
            Entry.LoadGlobalPointer(w, at, "delta");
            StatisticRow(deltaRow, at, head);
            for (int i = 0; i < 2; i++)
            {
                w.Comment("a row past Sq: lse2 = +inf (negated below), so P = 0 there");
                w.Mov(PtxType.F32, negLse[i], Operand.F32(double.PositiveInfinity));
                w.Mov(PtxType.F32, delta[i], Operand.Zero);
                w.Setp(Cmp.Lt, U32, ok, rows[i], SeqQ);
                w.MulWide(U32, x, rows[i], 4);
                w.Add(U64, at, lseRow, x);
                using (w.When(ok))
                {
                    w.LdGlobalNc(PtxType.F32, negLse[i], at);
                }

                w.Neg(PtxType.F32, negLse[i], negLse[i]);
                w.Add(U64, at, deltaRow, x);
                using (w.When(ok))
                {
                    w.LdGlobalNc(PtxType.F32, delta[i], at);
                }
            }
        }
    }

    /// <summary>K and V tile <paramref name="tile"/> into ring stage <paramref name="stage"/> (zero-filled past Skv).</summary>
    private void LoadTile(Reg tile, Reg stage, Reg ring, Reg kBase, Reg kSs, Reg vBase, Reg vSs)
    {
        var w = W;
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "kv0", "dst");
            var (kv0, dst) = (r[0], r[1]);
            w.Shl(B32, kv0, tile, Log2(BKV));
            w.MadLo(U32, dst, stage, Layout.StageBytes, ring);
            CopyTile("K", new GlobalTile(kBase, kSs, Element), kv0, SeqKv, dst, BKV, valueWidth: false);
            w.Add(U32, dst, dst, Layout.StreamDvOffset);
            CopyTile("V", new GlobalTile(vBase, vSs, Element), kv0, SeqKv, dst, BKV, valueWidth: true);
        }
    }
}
