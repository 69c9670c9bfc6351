using KernelDsl.Compiler.Emit.Ptx.Construction;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

internal abstract partial class ForwardKernel
{
    /// <summary>
    /// Online softmax for each of this thread's rows: the tile's row max (the quad's four lanes share a row), the rescale
    /// factor alpha = exp2((m_old − m_new)·c) applied to l (and to O by <see cref="EmitRescaleO"/>), and
    /// p = exp2(s·c − m_new·c) in place of s. A row with nothing kept yet uses 0 as its max so that −inf − (−inf) never
    /// appears; its p and alpha are then exactly 0.
    /// </summary>
    protected void EmitOnlineSoftmax()
    {
        var w = W;
        w.Stage("Online softmax: new row max, rescale O and l, p = exp2(s*c - m*c) (c = scale*log2 e)");
        for (int rr = 0; rr < Shape.RowsPerThread; rr++)
        {
            int ms = rr / 2;
            int r = rr % 2;
            using (w.Scope())
            {
                w.Comment("slab " + I(ms) + ", row " + (r == 0 ? "g" : "g+8"));
                OnlineSoftmax.RowStep(w, R.S[ms].Row(r), R.M[rr], R.L[rr], R.Alpha[rr], R.ScaleLog2,
                    "l = alpha*l + sum (per-thread partial; the quad's partials are added once, at the end)");
            }
        }
    }

    /// <summary>
    /// O *= alpha per row, after all rows' softmax. With plan.SkipUnchangedRescale the multiplies are skipped,
    /// exactly, when no row of the warp changed its max (every alpha is 1.0): a warp vote and one uniform branch
    /// instead of Dv/4 multiplies per row and slab (measured slower on the H100, so off by default).
    /// </summary>
    /// <param name="tag">Suffix of the stage's label, unique per copy of the stage in the kernel.</param>
    protected void EmitRescaleO(string tag = "")
    {
        var w = W;
        bool skip = Gpu.SkipUnchangedRescale;
        w.Comment(skip ? "rescale O by alpha, unless no row of this warp changed its max (then every alpha is exactly 1)" : "rescale O by alpha");
        using (w.Scope())
        {
            var done = skip ? w.NewLabel("RESCALE_DONE" + tag) : null;
            if (done is not null)
            {
                var p = w.Declare(RegKind.Pred, "changed", "any");
                var (changed, any) = (p[0], p[1]);
                w.Setp(Cmp.Neu, PtxType.F32, changed, R.Alpha[0], Operand.F32(1.0));
                for (int rr = 1; rr < Shape.RowsPerThread; rr++)
                {
                    w.SetpOr(Cmp.Neu, PtxType.F32, changed, R.Alpha[rr], Operand.F32(1.0), changed);
                }

                w.VoteAny(any, changed);
                w.BranchUnless(any, done);
            }

            for (int rr = 0; rr < Shape.RowsPerThread; rr++)
            {
                foreach (var o in R.O[rr / 2].Row(rr % 2))
                {
                    w.Mul(PtxType.F32, o, o, R.Alpha[rr]);
                }
            }

            if (done is not null)
            {
                w.Place(done);
            }
        }
    }

    /// <summary>P (the probabilities in the score registers) into the A fragments of P·V, in registers.</summary>
    protected void EmitProbabilitiesToFragments()
    {
        W.Stage("P to " + Shape.Element.Ptx + " A-fragments, in registers (cvt packs hi, lo)");
        for (int ms = 0; ms < Shape.Slabs; ms++)
        {
            R.S[ms].ConvertToA(W, Shape.Element, R.P[ms]);
        }
    }
}
