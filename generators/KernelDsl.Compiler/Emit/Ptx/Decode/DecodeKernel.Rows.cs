using KernelDsl.Compiler.Emit.Ptx.Construction;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Decode;

internal sealed partial class DecodeKernel
{
    /// <summary>
    /// This thread's two fragment rows (g and g+8 of the CTA's 16): packed row r = row_first + row is query head
    /// kv_head·G + r / q and query r % q. Padding rows (r ≥ G·q) are clamped to the last real row for the modifiers (their
    /// results are never stored). Each row's key bounds: the split's end and, for a band bounded on the right, diagonal + i +
    /// right + 1; for a window, diagonal + i − left below. Then the Q tile: the packed rows through
    /// <see cref="PackedQueryTile"/>, zero-filled past G·q.
    /// </summary>
    private void EmitRows()
    {
        var w = _w;
        var mask = _spec.Mask;
        w.Stage("Rows: this thread's packed rows g and g+8 -> (query head, query index), their key bounds; the Q tile");
        using (w.Scope())
        {
            var t = w.Declare(RegKind.B32, "r", "last", "hl", "d");
            var (r, last, hl, d) = (t[0], t[1], t[2], t[3]);
            w.Add(U32, last, R.Rows, -1);
            for (int rr = 0; rr < 2; rr++)
            {
                w.Comment("row " + RowName(rr));
                w.Add(U32, r, R.RowFirst, R.G);
                if (rr == 1)
                {
                    w.Add(U32, r, r, 8);
                }

                w.Min(U32, r, r, last);
                w.Div(U32, hl, r, R.QCount);
                w.Add(U32, R.RowHead[rr], R.FirstHead, hl);
                w.MulLo(U32, hl, hl, R.QCount);
                w.Sub(U32, R.RowQuery[rr], r, hl);
                w.Add(S32, d, R.RowQuery[rr], R.Diagonal);
                if (mask.IsMasked && mask.BandRight >= 0)
                {
                    w.Add(S32, R.KeyEnd[rr], d, mask.BandRight + 1);
                    w.Min(S32, R.KeyEnd[rr], R.KeyEnd[rr], R.SplitEnd);
                }
                else
                {
                    w.Mov(U32, R.KeyEnd[rr], R.SplitEnd);
                }

                if (mask.IsMasked && mask.BandLeft >= 0)
                {
                    w.Sub(S32, R.KeyLo[rr], d, mask.BandLeft);
                }
                else
                {
                    w.Mov(U32, R.KeyLo[rr], 0);
                }
            }
        }

        var q = new PackedQueryTile(R.QPtr, R.QRowBytes, R.QCount, R.QFirst, R.FirstHead, R.HeadsQ, _element);
        Copies.CpAsyncTile(w, "Q", q, R.RowFirst, R.Rows, new PaddedTile(Smem.QPitchBytes), R.QTile, _gpu.BlockQ, D, Threads, R.Thread);
        Copies.Commit(w);
    }
}
