using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
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
            w.Ins("sub.s32 " + R.Align + ", " + R.SeqKv + ", " + R.SeqQ);
        }
        else
        {
            w.Ins("mov.u32 " + R.Align + ", 0");
        }

        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "x", "jlo", "jhi", "last_kv");
            var (x, jlo, jhi, lastKv) = (r[0], r[1], r[2], r[3]);
            w.Declare1(RegKind.Pred, "pe");
            w.Ins("add.s32 " + R.DMin + ", " + R.Q0 + ", " + R.Align);
            w.Ins("add.s32 " + x + ", " + R.Q0 + ", " + I(Gpu.BlockQ));
            w.Ins("min.s32 " + x + ", " + x + ", " + R.SeqQ);
            w.Ins("add.s32 " + R.DMax + ", " + x + ", -1");
            w.Ins("add.s32 " + R.DMax + ", " + R.DMax + ", " + R.Align);
            w.Ins("add.s32 " + lastKv + ", " + R.SeqKv + ", -1");
            w.Comment("key range kept by some row of the block: [jlo, jhi]");
            if (left >= 0)
            {
                w.Ins("sub.s32 " + jlo + ", " + R.DMin + ", " + I(left));
                w.Ins("max.s32 " + jlo + ", " + jlo + ", 0");
            }
            else
            {
                w.Ins("mov.u32 " + jlo + ", 0");
            }

            if (right >= 0)
            {
                w.Ins("add.s32 " + jhi + ", " + R.DMax + ", " + I(right));
                w.Ins("min.s32 " + jhi + ", " + jhi + ", " + lastKv);
            }
            else
            {
                w.Ins("mov.u32 " + jhi + ", " + lastKv);
            }

            w.Ins("shr.u32 " + R.NStart + ", " + jlo + ", " + I(logBkv));
            w.Ins("setp.lt.s32 " + R.Empty + ", " + jhi + ", " + jlo);
            w.Ins("add.s32 " + x + ", " + jhi + ", " + I(Shape.BlockKV));
            w.Ins("shr.s32 " + R.NEnd + ", " + x + ", " + I(logBkv));
            w.Ins("selp.b32 " + R.NEnd + ", " + R.NStart + ", " + R.NEnd + ", " + R.Empty);
            w.Comment("per-row bounds for boundary blocks: lo = d - Left, hi = min(d + Right, Skv - 1)");
            for (int rr = 0; rr < Shape.RowsPerThread; rr++)
            {
                w.Ins("add.s32 " + x + ", " + R.Row[rr] + ", " + R.Align);
                if (left >= 0)
                {
                    w.Ins("sub.s32 " + R.Lo[rr] + ", " + x + ", " + I(left));
                }

                if (right >= 0)
                {
                    w.Ins("add.s32 " + R.Hi[rr] + ", " + x + ", " + I(right));
                    w.Ins("min.s32 " + R.Hi[rr] + ", " + R.Hi[rr] + ", " + lastKv);
                }
                else
                {
                    w.Ins("mov.u32 " + R.Hi[rr] + ", " + lastKv);
                }
            }

            w.Comment("a block [kv0, kv0 + BlockKV) is fully kept when kv0 >= full_lo and kv0 + BlockKV <= full_hi");
            w.Ins(left >= 0 ? "sub.s32 " + R.FullLo + ", " + R.DMax + ", " + I(left) : "mov.u32 " + R.FullLo + ", 0");
            if (right >= 0)
            {
                w.Ins("add.s32 " + R.FullHi + ", " + R.DMin + ", " + I(right + 1));
                w.Ins("min.s32 " + R.FullHi + ", " + R.FullHi + ", " + R.SeqKv);
            }
            else
            {
                w.Ins("mov.u32 " + R.FullHi + ", " + R.SeqKv);
            }
        }

        w.Comment("empty accumulators: O = 0, m = -inf, l = 0 (a row that keeps no key ends as O = 0, LSE = -inf)");
        foreach (var o in R.O)
        {
            o.Fill(w, Zero);
        }

        for (int rr = 0; rr < Shape.RowsPerThread; rr++)
        {
            w.Ins("mov.f32 " + R.M[rr] + ", " + NegInf);
            w.Ins("mov.f32 " + R.L[rr] + ", " + Zero);
        }

        EmitBlockMaskRange();
        w.Ins("setp.le.s32 " + R.Empty + ", " + R.NEnd + ", " + R.NStart);
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
