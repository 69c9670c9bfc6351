using System.Collections.Generic;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// One row's online-softmax step, shared by every kernel that streams keys (forward, decode): the tile's row max across the
/// quad that shares the row, m' = max(m, rowmax), alpha = exp2((m − m')·c), p = exp2(s·c − m'·c) in place of s, and
/// l = alpha·l + rowsum p (a per-thread partial; the quad's partials are added once, at the end). A row with nothing kept
/// yet uses 0 as its max so that −∞ − (−∞) never appears; its p and alpha are then exactly 0. The caller opens the scope
/// (the step declares its scratch registers in it) and rescales O by <paramref name="alpha"/> where its layout needs.
/// </summary>
internal static class OnlineSoftmax
{
    /// <summary>Emits the step for one row; <paramref name="lComment"/>, when given, is written before the update of l.</summary>
    public static void RowStep(PtxWriter w, IReadOnlyList<Reg> scores, Reg m, Reg l, Reg alpha, Reg scaleLog2, string? lComment = null)
    {
        var f = w.Declare(RegKind.F32, "mx", "other", "m_new", "neg_mc", "sum");
        var (mx, other, mNew, negMc, sum) = (f[0], f[1], f[2], f[3], f[4]);
        var none = w.Declare1(RegKind.Pred, "none");
        RowReductions.Reduce(w, RowOp.Max, mx, scores);
        RowReductions.AcrossQuad(w, RowOp.Max, mx, other);
        w.Max(PtxType.F32, mNew, m, mx);
        w.Setp(Cmp.Eq, PtxType.F32, none, mNew, Operand.NegInf);
        w.Selp(PtxType.F32, negMc, Operand.Zero, mNew, none);
        w.Mul(PtxType.F32, negMc, negMc, scaleLog2);
        w.Neg(PtxType.F32, negMc, negMc);
        w.Fma(PtxType.F32, alpha, m, scaleLog2, negMc);
        w.Ex2(alpha, alpha);
        w.Mov(PtxType.F32, m, mNew);
        foreach (var s in scores)
        {
            w.Fma(PtxType.F32, s, s, scaleLog2, negMc);
            w.Ex2(s, s);
        }

        RowReductions.Reduce(w, RowOp.Sum, sum, scores);
        if (lComment is not null)
        {
            w.Comment(lComment);
        }

        w.Fma(PtxType.F32, l, l, alpha, sum);
    }
}
