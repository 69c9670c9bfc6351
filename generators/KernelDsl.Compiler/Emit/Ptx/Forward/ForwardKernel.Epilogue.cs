using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

internal abstract partial class ForwardKernel
{
    /// <summary>
    /// Finishes each row: the quad's partial sums are added, O is divided by l (0 for an empty row), and O is
    /// written in the output type (rows ≥ Sq are not stored). LSE = ln Σ exp(s) = (m·c + log2 l)·ln 2, −inf
    /// for an empty row, written by the quad's first lane when the lse pointer is not 0.
    /// </summary>
    private void EmitEpilogue()
    {
        var w = W;
        var output = Shape.Output;
        var o = new GlobalTile(R.OBase, R.OStride, output);
        w.Place(Epilogue);
        w.Stage("Epilogue: O / l, store O (" + OutputType + ") and LSE");
        if (IsVarlen)
        {
            EmitVarlenReloadQueryLength();
        }

        for (int rr = 0; rr < Shape.RowsPerThread; rr++)
        {
            int ms = rr / 2;
            int r = rr % 2;
            var row = R.Row[rr];
            var l = R.L[rr];
            var skip = w.NewLabel("STORE_SKIP_" + I(rr));
            using (w.Scope())
            {
                w.Comment("slab " + I(ms) + ", row " + (r == 0 ? "g" : "g+8"));
                var f = w.Declare(RegKind.F32, "other", "inv", "lse");
                var (other, inv, lse) = (f[0], f[1], f[2]);
                var p = w.Declare(RegKind.Pred, "has", "out", "lead");
                var (has, outside, lead) = (p[0], p[1], p[2]);
                var a = w.Declare(RegKind.B64, "ptr", "x");
                var (ptr, x) = (a[0], a[1]);
                var b = w.Declare(RegKind.B32, "h", "idx");
                var (h, idx) = (b[0], b[1]);
                RowReductions.AcrossQuad(w, RowOp.Sum, l, other);
                // neu, not gt: a NaN l (a NaN or +inf score in the row) must give NaN O and LSE as in the reference; only l = 0 is "no key kept".
                w.Setp(Cmp.Neu, PtxType.F32, has, l, Operand.Zero);
                w.Rcp(PtxType.F32, inv, l);
                w.Selp(PtxType.F32, inv, inv, Operand.Zero, has);
                w.Setp(Cmp.Ge, S32, outside, row, R.SeqQ);
                w.BranchIf(outside, skip);
                o.RowAddress(w, ptr, row, x);
                w.MulWide(U32, x, R.T4, 2 * output.Bytes);
                w.Add(U64, ptr, ptr, x);
                var outs = R.O[ms].Row(r);
                for (int nt = 0; nt < outs.Length / 2; nt++)
                {
                    var (o0, o1) = (outs[2 * nt], outs[(2 * nt) + 1]);
                    w.Mul(PtxType.F32, o0, o0, inv);
                    w.Mul(PtxType.F32, o1, o1, inv);
                    int offset = nt * 8 * output.Bytes;
                    if (output == ElementTraits.F32)
                    {
                        w.StGlobalPair(PtxType.F32, ptr, offset, o0, o1);
                    }
                    else
                    {
                        w.PackPair(output, h, o1, o0);
                        w.StGlobal(B32, ptr, offset, h);
                    }
                }

                w.Comment("LSE (natural log), by the quad's first lane");
                w.SetpAnd(Cmp.Eq, U32, lead, R.T4, 0, R.HasLse);
                w.BranchUnless(lead, skip);
                w.Lg2(lse, l);
                w.Fma(PtxType.F32, lse, R.M[rr], R.ScaleLog2, lse);
                w.Mul(PtxType.F32, lse, lse, Operand.F32(Constants.Ln2));
                w.Selp(PtxType.F32, lse, lse, Operand.NegInf, has);
                if (IsVarlen)
                {
                    w.Comment("varlen LSE [totalQ, Hq] from the sequence's first row (folded into lse_ptr): row * Hq + head");
                    w.MadLo(U32, idx, row, R.HeadsQ, R.Head);
                }
                else
                {
                    w.MadLo(U32, idx, R.Batch, R.HeadsQ, R.Head);
                    w.MadLo(U32, idx, idx, R.SeqQ, row);
                }

                w.MulWide(U32, x, idx, 4);
                w.Add(U64, ptr, R.LsePtr, x);
                w.StGlobal(PtxType.F32, ptr, lse);
                w.Place(skip);
            }
        }

        w.Ret();
    }
}
