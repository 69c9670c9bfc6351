using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Decode;

internal sealed partial class DecodeKernel
{
    /// <summary>Bytes of the warps' partial O in the merge area (at the ring's start): Warps × 16 rows × Dv fp32.</summary>
    private int MergeOBytes => Warps * 16 * Dv * 4;

    /// <summary>
    /// The warps' merge (FlashDecoding's combine, inside the CTA): each warp publishes its rows' (m, l); every thread
    /// computes the CTA's M = max m_w and L = Σ l_w·2^((m_w − M)·c), scales its own O by 2^((m_w − M)·c) / L and writes it to
    /// shared memory; then the threads add the warps' rows and store O — in the output type when the CTA is the only split,
    /// else in fp32 to the workspace — and LSE = (M·c + log2 L)·ln 2 (−∞ for a row with nothing kept).
    /// </summary>
    private void EmitMerge()
    {
        var w = _w;
        w.Stage("Merge the warps: publish (m, l) per row");
        using (w.Scope())
        {
            var t = w.Declare(RegKind.B32, "stats", "at");
            var (stats, at) = (t[0], t[1]);
            var other = w.Declare1(RegKind.F32, "other");
            var lead = w.Declare1(RegKind.Pred, "lead");
            w.Add(U32, stats, R.KRing, MergeOBytes);
            w.Setp(Cmp.Eq, U32, lead, R.T4, 0);
            for (int rr = 0; rr < 2; rr++)
            {
                RowReductions.AcrossQuad(w, RowOp.Sum, R.L[rr], other);
            }

            w.MadLo(U32, at, R.Warp, 16, R.G);
            w.MadLo(U32, at, at, 4, stats);
            using (w.When(lead))
            {
                for (int rr = 0; rr < 2; rr++)
                {
                    w.StShared(PtxType.F32, at, rr * 8 * 4, R.M[rr]);
                    w.StShared(PtxType.F32, at, (Warps * 16 * 4) + (rr * 8 * 4), R.L[rr]);
                }
            }

            Copies.Barrier(w);
            w.Stage("Merge the warps: M, L per row; this warp's O scaled by 2^((m_w - M)*c) / L into shared memory; LSE into alpha");
            for (int rr = 0; rr < 2; rr++)
            {
                using (w.Scope())
                {
                    w.Comment("row " + RowName(rr));
                    var f = w.Declare(RegKind.F32, "mm", "mw", "lw", "mc", "total", "own", "inv", "x");
                    var (mm, mw, lw, mc, total, own, inv, x) = (f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
                    var p = w.Declare(RegKind.Pred, "none", "has");
                    var (none, has) = (p[0], p[1]);
                    var row = w.Declare1(RegKind.B32, "row");
                    w.Add(U32, row, R.G, rr * 8);
                    w.MadLo(U32, row, row, 4, stats);
                    w.Mov(PtxType.F32, mm, Operand.NegInf);
                    for (int wp = 0; wp < Warps; wp++)
                    {
                        w.LdShared(PtxType.F32, mw, row, wp * 16 * 4);
                        w.Max(PtxType.F32, mm, mm, mw);
                    }

                    w.Setp(Cmp.Eq, PtxType.F32, none, mm, Operand.NegInf);
                    w.Mul(PtxType.F32, mc, mm, R.ScaleLog2);
                    w.Selp(PtxType.F32, mc, Operand.Zero, mc, none);
                    w.Mov(PtxType.F32, total, Operand.Zero);
                    w.Neg(PtxType.F32, inv, mc);
                    for (int wp = 0; wp < Warps; wp++)
                    {
                        w.LdShared(PtxType.F32, mw, row, wp * 16 * 4);
                        w.LdShared(PtxType.F32, lw, row, (Warps * 16 * 4) + (wp * 16 * 4));
                        w.Fma(PtxType.F32, x, mw, R.ScaleLog2, inv);
                        w.Ex2(x, x);
                        w.Fma(PtxType.F32, total, lw, x, total);
                    }

                    w.Fma(PtxType.F32, own, R.M[rr], R.ScaleLog2, inv);
                    w.Ex2(own, own);
                    // neu, not gt: a NaN L must give NaN O and LSE as in the reference; only L = 0 is "no key kept".
                    w.Setp(Cmp.Neu, PtxType.F32, has, total, Operand.Zero);
                    w.Rcp(PtxType.F32, inv, total);
                    w.Selp(PtxType.F32, inv, inv, Operand.Zero, has);
                    w.Mul(PtxType.F32, own, own, inv);
                    foreach (var o in R.O.Row(rr))
                    {
                        w.Mul(PtxType.F32, o, o, own);
                    }

                    var lse = R.Alpha[rr];
                    w.Lg2(lse, total);
                    w.Add(PtxType.F32, lse, lse, mc);
                    w.Mul(PtxType.F32, lse, lse, Operand.F32(Constants.Ln2));
                    w.Selp(PtxType.F32, lse, lse, Operand.NegInf, has);
                }
            }

            using (w.Scope())
            {
                var at2 = w.Declare1(RegKind.B32, "o_at");
                w.Comment("element (nt, r, e) of this warp's O: shared [warp][g + 8r][8nt + 2t4 + e] fp32");
                w.MadLo(U32, at2, R.Warp, 16, R.G);
                w.MulLo(U32, at2, at2, Dv * 4);
                w.MadLo(U32, at2, R.T4, 8, at2);
                w.Add(U32, at2, at2, R.KRing);
                foreach (var (r, reg, c) in R.O.Elements())
                {
                    w.StShared(PtxType.F32, at2, (r * 8 * Dv * 4) + (c * 4), reg);
                }
            }

            Copies.Barrier(w);
        }

        EmitStores();
        w.Place(_ctaDone);
        w.Ret();
    }

    /// <summary>
    /// The warps' rows added and stored, two columns per thread per step: packed row r of the CTA is (token q_first + r % q,
    /// head first_head + r / q), O row token·Hq + head. One split: O in the output type (and LSE when asked for); several:
    /// fp32 partial O and LSE at [split, row] of the workspace.
    /// </summary>
    private void EmitStores()
    {
        var w = _w;
        int pairsPerRow = Dv / 2;
        int pairs = 16 * pairsPerRow;
        w.Stage(System.FormattableString.Invariant($"Store: {pairs} column pairs of the CTA's 16 rows, {(pairs + Threads - 1) / Threads} per thread; then LSE"));
        using (w.Scope())
        {
            var t = w.Declare(RegKind.B32, "pi", "lr", "cp", "r", "hl", "tok", "idx", "sa");
            var (pi, lr, cp, r, hl, tok, idx, sa) = (t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
            var f = w.Declare(RegKind.F32, "x0", "x1", "y0", "y1");
            var (x0, x1, y0, y1) = (f[0], f[1], f[2], f[3]);
            var packed = w.Declare1(RegKind.B32, "packed");
            var a = w.Declare(RegKind.B64, "addr", "wide");
            var (addr, wide) = (a[0], a[1]);
            var skip = w.Declare1(RegKind.Pred, "skip");
            for (int k = 0; k < (pairs + Threads - 1) / Threads; k++)
            {
                var next = w.NewLabel("STORE_" + Int(k));
                w.Add(U32, pi, R.Thread, k * Threads);
                w.Setp(Cmp.Ge, U32, skip, pi, pairs);
                w.BranchIf(skip, next);
                w.Div(U32, lr, pi, pairsPerRow);
                w.Rem(U32, cp, pi, pairsPerRow);
                w.Add(U32, r, R.RowFirst, lr);
                w.Setp(Cmp.Ge, U32, skip, r, R.Rows);
                w.BranchIf(skip, next);
                w.MadLo(U32, sa, lr, Dv * 4, R.KRing);
                w.MadLo(U32, sa, cp, 8, sa);
                w.LdShared(PtxType.F32, x0, sa, 0);
                w.LdShared(PtxType.F32, x1, sa, 4);
                for (int wp = 1; wp < Warps; wp++)
                {
                    w.LdShared(PtxType.F32, y0, sa, wp * 16 * Dv * 4);
                    w.LdShared(PtxType.F32, y1, sa, (wp * 16 * Dv * 4) + 4);
                    w.Add(PtxType.F32, x0, x0, y0);
                    w.Add(PtxType.F32, x1, x1, y1);
                }

                RowIndex(r, hl, tok, idx);
                var partial = w.NewLabel("STORE_PARTIAL_" + Int(k));
                w.BranchUnless(R.Direct, partial);
                w.MulWide(U32, wide, idx, Dv * _output.Bytes);
                w.Add(U64, addr, R.OPtr, wide);
                w.MulWide(U32, wide, cp, 2 * _output.Bytes);
                w.Add(U64, addr, addr, wide);
                if (_output == ElementTraits.F32)
                {
                    w.StGlobalPair(PtxType.F32, addr, 0, x0, x1);
                }
                else
                {
                    w.PackPair(_output, packed, x1, x0);
                    w.StGlobal(B32, addr, packed);
                }

                w.Branch(next);
                w.Place(partial);
                PartialRow(idx, wide);
                w.MulLo(U64, wide, wide, Dv * 4);
                w.Add(U64, addr, R.PartialO, wide);
                w.MulWide(U32, wide, cp, 8);
                w.Add(U64, addr, addr, wide);
                w.StGlobalPair(PtxType.F32, addr, 0, x0, x1);
                w.Place(next);
            }

            w.Comment("LSE: warp 0's quad leaders, rows g and g+8");
            var lseDone = w.NewLabel("LSE_DONE");
            using (w.Scope())
            {
                var lead = w.Declare1(RegKind.Pred, "lead");
                w.Setp(Cmp.Eq, U32, lead, R.Warp, 0);
                w.SetpAnd(Cmp.Eq, U32, lead, R.T4, 0, lead);
                w.BranchUnless(lead, lseDone);
            }

            for (int rr = 0; rr < 2; rr++)
            {
                var next = w.NewLabel("LSE_" + Int(rr));
                w.Add(U32, r, R.RowFirst, R.G);
                w.Add(U32, r, r, rr * 8);
                w.Setp(Cmp.Ge, U32, skip, r, R.Rows);
                w.BranchIf(skip, next);
                RowIndex(r, hl, tok, idx);
                var partial = w.NewLabel("LSE_PARTIAL_" + Int(rr));
                w.BranchUnless(R.Direct, partial);
                w.BranchUnless(R.HasLse, next);
                w.MulWide(U32, wide, idx, 4);
                w.Add(U64, addr, R.LsePtr, wide);
                w.StGlobal(PtxType.F32, addr, R.Alpha[rr]);
                w.Branch(next);
                w.Place(partial);
                PartialRow(idx, wide);
                w.Shl(B64, wide, wide, 2);
                w.Add(U64, addr, R.PartialLse, wide);
                w.StGlobal(PtxType.F32, addr, R.Alpha[rr]);
                w.Place(next);
            }

            w.Place(lseDone);
        }
    }

    /// <summary>idx = the O/LSE row of packed row r: (q_first + r % q)·Hq + first_head + r / q.</summary>
    private void RowIndex(Reg r, Reg hl, Reg tok, Reg idx)
    {
        var w = _w;
        w.Div(U32, hl, r, R.QCount);
        w.MulLo(U32, tok, hl, R.QCount);
        w.Sub(U32, tok, r, tok);
        w.Add(U32, tok, tok, R.QFirst);
        w.Add(U32, hl, hl, R.FirstHead);
        w.MadLo(U32, idx, tok, R.HeadsQ, hl);
    }

    /// <summary>wide (b64) = split·totalQ·Hq + idx: the workspace row of O/LSE row idx for this split.</summary>
    private void PartialRow(Reg idx, Reg wide)
    {
        var w = _w;
        using (w.Scope())
        {
            var t = w.Declare1(RegKind.B32, "rows_all");
            var x = w.Declare1(RegKind.B64, "base");
            w.MulLo(U32, t, R.TotalQ, R.HeadsQ);
            w.MulWide(U32, x, R.Split, t);
            w.Cvt(U64, U32, wide, idx);
            w.Add(U64, wide, wide, x);
        }
    }
}
