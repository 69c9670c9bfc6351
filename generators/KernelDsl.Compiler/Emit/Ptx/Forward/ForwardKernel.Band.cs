using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

internal abstract partial class ForwardKernel
{
    /// <summary>
    /// The mask band: key j is kept for row i when d − Left ≤ j ≤ d + Right, d = i + align (align = Skv − Sq for
    /// bottom-right, 0 otherwise; −1 bounds are unbounded). From it: the KV blocks any row of this block keeps
    /// ([n_start, n_end), the rest are skipped whole), the per-row bounds used on boundary blocks, and the
    /// bounds that make a block "fully kept" (no element mask). Then the empty accumulators, and the block mask's range.
    /// </summary>
    private void EmitBlockRange()
    {
        var w = W;
        int left = Spec.Mask.BandLeft;
        int right = Spec.Mask.BandRight;
        int logBkv = Log2(Shape.BlockKV);
        w.Stage("Mask band: which KV blocks this query block needs (others are skipped whole)");
        w.Comment("band: keep j when d - Left <= j <= d + Right, d = i + align; Left = " + I(left) + ", Right = " + I(right) + " (-1 = unbounded)");
        if (Spec.Mask.IsMasked && Spec.Mask.Alignment == MaskAlignment.BottomRight)
        {
            w.Sub(S32, R.Align, R.SeqKv, R.SeqQ);
        }
        else
        {
            w.Mov(U32, R.Align, 0);
        }

        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "x", "jlo", "jhi", "last_kv");
            var (x, jlo, jhi, lastKv) = (r[0], r[1], r[2], r[3]);
            w.Declare1(RegKind.Pred, "pe");
            w.Add(S32, R.DMin, R.Q0, R.Align);
            w.Add(S32, x, R.Q0, Gpu.BlockQ);
            w.Min(S32, x, x, R.SeqQ);
            w.Add(S32, R.DMax, x, -1);
            w.Add(S32, R.DMax, R.DMax, R.Align);
            w.Add(S32, lastKv, R.SeqKv, -1);
            w.Comment("key range kept by some row of the block: [jlo, jhi]");
            if (left >= 0)
            {
                w.Sub(S32, jlo, R.DMin, left);
                w.Max(S32, jlo, jlo, 0);
            }
            else
            {
                w.Mov(U32, jlo, 0);
            }

            if (right >= 0)
            {
                w.Add(S32, jhi, R.DMax, right);
                w.Min(S32, jhi, jhi, lastKv);
            }
            else
            {
                w.Mov(U32, jhi, lastKv);
            }

            w.Shr(U32, R.NStart, jlo, logBkv);
            w.Setp(Cmp.Lt, S32, R.Empty, jhi, jlo);
            w.Add(S32, x, jhi, Shape.BlockKV);
            w.Shr(S32, R.NEnd, x, logBkv);
            w.Selp(B32, R.NEnd, R.NStart, R.NEnd, R.Empty);
            w.Comment("per-row bounds for boundary blocks: lo = d - Left, hi = min(d + Right, Skv - 1)");
            for (int rr = 0; rr < Shape.RowsPerThread; rr++)
            {
                w.Add(S32, x, R.Row[rr], R.Align);
                if (left >= 0)
                {
                    w.Sub(S32, R.Lo[rr], x, left);
                }

                if (right >= 0)
                {
                    w.Add(S32, R.Hi[rr], x, right);
                    w.Min(S32, R.Hi[rr], R.Hi[rr], lastKv);
                }
                else
                {
                    w.Mov(U32, R.Hi[rr], lastKv);
                }
            }

            w.Comment("a block [kv0, kv0 + BlockKV) is fully kept when kv0 >= full_lo and kv0 + BlockKV <= full_hi");
            if (left >= 0)
            {
                w.Sub(S32, R.FullLo, R.DMax, left);
            }
            else
            {
                w.Mov(U32, R.FullLo, 0);
            }

            if (right >= 0)
            {
                w.Add(S32, R.FullHi, R.DMin, right + 1);
                w.Min(S32, R.FullHi, R.FullHi, R.SeqKv);
            }
            else
            {
                w.Mov(U32, R.FullHi, R.SeqKv);
            }
        }

        w.Comment("empty accumulators: O = 0, m = -inf, l = 0 (a row that keeps no key ends as O = 0, LSE = -inf)");
        foreach (var o in R.O)
        {
            o.Fill(w, Zero);
        }

        for (int rr = 0; rr < Shape.RowsPerThread; rr++)
        {
            w.Mov(PtxType.F32, R.M[rr], Operand.NegInf);
            w.Mov(PtxType.F32, R.L[rr], Operand.Zero);
        }

        EmitBlockMaskRange();
        w.Setp(Cmp.Le, S32, R.Empty, R.NEnd, R.NStart);
        w.BranchIf(R.Empty, Epilogue);
    }

    private static int Log2(int powerOfTwo)
    {
        int log = 0;
        while ((1 << log) < powerOfTwo)
        {
            log++;
        }

        return log;
    }
}
