using KernelDsl.Compiler.Emit.Ptx.Construction;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

internal abstract partial class ForwardKernel
{
    /// <summary>
    /// Sets S to −inf where the band (or the end of the keys) drops the pair, and where the mask modifier drops it.
    /// Without a mask modifier it runs only on tiles that are not fully kept (a block-uniform branch skips it elsewhere).
    /// Element (nt, e) of row r holds key kv0 + 8·nt + 2·t4 + e, so each comparison is against an immediate column offset.
    /// </summary>
    /// <param name="tag">Suffix of the stage's label, unique per copy of the stage in the kernel.</param>
    protected void EmitElementMask(string tag = "")
    {
        var w = W;
        bool hasLeft = Spec.Mask.BandLeft >= 0;
        var done = w.NewLabel("MASK_DONE" + tag);
        w.Stage(MaskMod is null
            ? "Element mask, boundary tiles only (past Skv or crossing the band's edge)"
            : "Element mask: band (past Skv or outside the band) and mask modifier " + MaskMod.MethodName + ", on every visited tile");
        using (w.Scope())
        {
            var preds = w.Declare(RegKind.Pred, "partial", "drop");
            var (partial, drop) = (preds[0], preds[1]);
            var r = w.Declare(RegKind.B32, "kv_end", "jb");
            var (kvEnd, jb) = (r[0], r[1]);
            var rel = w.DeclareArrays(RegKind.B32, Shape.RowsPerThread, "rel_hi", "rel_lo");
            var (relHi, relLo) = (rel[0], rel[1]);
            if (MaskMod is null)
            {
                w.Add(S32, kvEnd, R.Kv0, Shape.BlockKV);
                w.Setp(Cmp.Gt, S32, partial, kvEnd, R.FullHi);
                if (hasLeft)
                {
                    w.SetpOr(Cmp.Lt, S32, partial, R.Kv0, R.FullLo, partial);
                }

                w.BranchUnless(partial, done);
            }
            else
            {
                EmitSkipMaskOnFullBlocks(partial, done);
            }

            w.Comment("relative bounds: key kv0 + 2*t4 + c is kept for row r when rel_lo_r <= c <= rel_hi_r");
            w.MadLo(U32, jb, R.T4, 2, R.Kv0);
            for (int rr = 0; rr < Shape.RowsPerThread; rr++)
            {
                w.Sub(S32, relHi[rr], R.Hi[rr], jb);
                if (hasLeft)
                {
                    w.Sub(S32, relLo[rr], R.Lo[rr], jb);
                }
            }

            for (int ms = 0; ms < Shape.Slabs; ms++)
            {
                foreach (var (row, reg, c) in R.S[ms].Elements())
                {
                    int rr = (2 * ms) + row;
                    w.Setp(Cmp.Lt, S32, drop, relHi[rr], c);
                    if (hasLeft)
                    {
                        w.SetpOr(Cmp.Gt, S32, drop, relLo[rr], c, drop);
                    }

                    using (w.When(drop))
                    {
                        w.Mov(PtxType.F32, reg, Operand.NegInf);
                    }

                    if (MaskMod is not null)
                    {
                        EmitMaskModifierElement(reg, rr, c, jb);
                    }
                }
            }

            w.Place(done);
        }
    }
}
