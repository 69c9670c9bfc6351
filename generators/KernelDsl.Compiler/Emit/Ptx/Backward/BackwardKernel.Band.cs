using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Backward;

/// <summary>The mask band (the forward's: keep key j for query i when d − Left ≤ j ≤ d + Right, d = i + align) seen from a block of rows.</summary>
internal abstract partial class BackwardKernel
{
    /// <summary>
    /// The band from the rows' side: rows are queries (the dQ kernel: column j kept for row i when
    /// i + align − Left ≤ j ≤ i + align + Right) or keys (the dK/dV kernel, transposed: query column i kept for key row j
    /// when j − align − Right ≤ i ≤ j − align + Left). Either way column c is kept for row r when
    /// r + shift − LoDistance ≤ c ≤ r + shift + HiDistance (−1 distances are unbounded) and c &lt; the column count.
    /// </summary>
    protected sealed record BandView(int LoDistance, int HiDistance, bool RowsAreQueries);

    protected BandView Band => Spec.Mask.IsMasked
        ? (RowsAreQueries ? new BandView(Spec.Mask.BandLeft, Spec.Mask.BandRight, true) : new BandView(Spec.Mask.BandRight, Spec.Mask.BandLeft, false))
        : new BandView(-1, -1, RowsAreQueries);

    /// <summary>True for the dQ kernel (its rows are queries, its streamed columns keys); false for the dK/dV kernel.</summary>
    protected abstract bool RowsAreQueries { get; }

    /// <summary>
    /// For the block's rows [first, min(first + blockRows, rowLimit)): the streamed tiles some row keeps,
    /// [tileStart, tileEnd) (tiles of <paramref name="tileColumns"/> columns; empty when none), this thread's per-row
    /// column bounds [lo, hi] (hi clamped to the last column), and the bounds that make a tile fully kept by every row
    /// (tile start ≥ fullLo and tile end ≤ fullHi).
    /// </summary>
    protected void EmitBand(Reg first, Reg rowLimit, Reg columnLimit, int blockRows, int tileColumns, Reg[] rows, Reg[] lo, Reg[] hi,
        Reg tileStart, Reg tileEnd, Reg fullLo, Reg fullHi)
    {
        var w = W;
        var band = Band;
        int logTile = Log2(tileColumns);
        w.Stage("Mask band from the rows' side: column c is kept for row r when r + shift - " + I(band.LoDistance) + " <= c <= r + shift + " + I(band.HiDistance) + " (-1 = unbounded)");
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "shift", "d_min", "d_max", "c_lo", "c_hi", "last_col", "x");
            var (shift, dMin, dMax, cLo, cHi, lastCol, x) = (r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
            var empty = w.Declare1(RegKind.Pred, "empty");
            if (Spec.Mask.IsMasked && Spec.Mask.Alignment == MaskAlignment.BottomRight)
            {
                w.Comment(band.RowsAreQueries ? "bottom-right alignment: shift = Skv - Sq" : "bottom-right alignment, seen from the keys: shift = Sq - Skv");
                if (band.RowsAreQueries)
                {
                    w.Sub(S32, shift, SeqKv, SeqQ);
                }
                else
                {
                    w.Sub(S32, shift, SeqQ, SeqKv);
                }
            }
            else
            {
                w.Mov(U32, shift, 0);
            }

            w.Add(S32, dMin, first, shift);
            w.Add(S32, x, first, blockRows);
            w.Min(S32, x, x, rowLimit);
            w.Add(S32, dMax, x, -1);
            w.Add(S32, dMax, dMax, shift);
            w.Add(S32, lastCol, columnLimit, -1);
            if (band.LoDistance >= 0)
            {
                w.Sub(S32, cLo, dMin, band.LoDistance);
                w.Max(S32, cLo, cLo, 0);
            }
            else
            {
                w.Mov(U32, cLo, 0);
            }

            if (band.HiDistance >= 0)
            {
                w.Add(S32, cHi, dMax, band.HiDistance);
                w.Min(S32, cHi, cHi, lastCol);
            }
            else
            {
                w.Mov(U32, cHi, lastCol);
            }

            w.Shr(U32, tileStart, cLo, logTile);
            w.Setp(Cmp.Lt, S32, empty, cHi, cLo);
            w.Add(S32, x, cHi, tileColumns);
            w.Shr(S32, tileEnd, x, logTile);
            w.Selp(B32, tileEnd, tileStart, tileEnd, empty);
            w.Comment("this thread's rows: kept columns [lo, hi]");
            for (int i = 0; i < rows.Length; i++)
            {
                w.Add(S32, x, rows[i], shift);
                if (band.LoDistance >= 0)
                {
                    w.Sub(S32, lo[i], x, band.LoDistance);
                }
                else
                {
                    w.Mov(U32, lo[i], 0);
                }

                if (band.HiDistance >= 0)
                {
                    w.Add(S32, hi[i], x, band.HiDistance);
                    w.Min(S32, hi[i], hi[i], lastCol);
                }
                else
                {
                    w.Mov(U32, hi[i], lastCol);
                }
            }

            w.Comment("a tile [c0, c0 + tile) is kept whole by every row when c0 >= full_lo and c0 + tile <= full_hi");
            if (band.LoDistance >= 0)
            {
                w.Sub(S32, fullLo, dMax, band.LoDistance);
            }
            else
            {
                w.Mov(U32, fullLo, 0);
            }

            if (band.HiDistance >= 0)
            {
                w.Add(S32, fullHi, dMin, band.HiDistance + 1);
                w.Min(S32, fullHi, fullHi, columnLimit);
            }
            else
            {
                w.Mov(U32, fullHi, columnLimit);
            }
        }
    }

    /// <summary>
    /// Per tile starting at column <paramref name="c0"/>: relative bounds rel_lo/rel_hi of each row against c0 + 2·t4, so
    /// element column offset c (8·nt + e) is dropped when c &gt; rel_hi or c &lt; rel_lo. On a tile every row keeps whole
    /// (and without a mask modifier nothing else drops), the bounds are widened so that nothing is dropped.
    /// </summary>
    protected void EmitRelativeBounds(Reg c0, int tileColumns, Reg[] lo, Reg[] hi, Reg fullLo, Reg fullHi, Reg jb, Reg[] relLo, Reg[] relHi)
    {
        var w = W;
        using (w.Scope())
        {
            var x = w.Declare1(RegKind.B32, "c_end");
            var partial = w.Declare1(RegKind.Pred, "partial");
            w.MadLo(U32, jb, T4, 2, c0);
            for (int i = 0; i < lo.Length; i++)
            {
                w.Sub(S32, relLo[i], lo[i], jb);
                w.Sub(S32, relHi[i], hi[i], jb);
            }

            w.Add(S32, x, c0, tileColumns);
            w.Setp(Cmp.Gt, S32, partial, x, fullHi);
            w.SetpOr(Cmp.Lt, S32, partial, c0, fullLo, partial);
            w.Comment("a tile kept whole: no element is dropped by the band");
            using (w.Unless(partial))
            {
                for (int i = 0; i < lo.Length; i++)
                {
                    w.Mov(U32, relLo[i], -tileColumns);
                }
            }

            using (w.Unless(partial))
            {
                for (int i = 0; i < lo.Length; i++)
                {
                    w.Mov(U32, relHi[i], 2 * tileColumns);
                }
            }
        }
    }

    protected static int Log2(int powerOfTwo)
    {
        int log = 0;
        while ((1 << log) < powerOfTwo)
        {
            log++;
        }

        return log;
    }
}
