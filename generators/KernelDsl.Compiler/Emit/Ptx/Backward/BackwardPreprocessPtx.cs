using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Backward;

/// <summary>
/// The backward's first kernel: for every query row, Δ = Σ_d dO_d·O_d (fp32) and the forward's LSE in base 2,
/// lse2 = LSE·log2(e), with +∞ for a row that kept no key (LSE = −∞), so that the later kernels' p = exp2(s·c − lse2) is
/// exactly 0 on such a row instead of NaN. Eight lanes share a row: each reads 16-byte chunks of O and dO, and a
/// three-step butterfly adds the lanes' partial sums. Grid (ceil(Sq / rows per block), Hq, B).
/// </summary>
internal static class BackwardPreprocessPtx
{
    public static string Build(KernelPlan plan, GpuKernelPlan gpu)
    {
        var w = new PtxWriter();
        var output = ElementTraits.Of(plan.OutputType);
        int dv = plan.Spec.ValueHeadDim;
        int lanes = GpuBackwardPlanner.PreprocessLanesPerRow;
        int rowsPerBlock = gpu.BlockQ;
        int chunks = dv / output.PerCopy;
        var entry = new KernelEntry(gpu.EntryName, PtxAbi.For(gpu));
        entry.WriteHeader(w,
            new[]
            {
                "KernelDsl backward preprocess, " + plan.Spec.Target.FullName,
                Host.PlanTextRenderer.SpecSummary(plan.Spec, plan.OutputType),
                System.FormattableString.Invariant($"delta = rowsum(dO * O), lse2 = LSE * log2(e) (+inf for an empty row); {rowsPerBlock} rows x {lanes} lanes per block"),
            },
            framed: true, gpu.PtxVersion, gpu.PtxTarget, System.Array.Empty<(string, string)>(), new[] { KernelEntry.MaxThreads(gpu.ThreadsPerBlock) });

        var b32 = w.Declare(RegKind.B32, "thr", "sub", "row", "head", "batch", "seq_q", "heads_q", "idx");
        var (thread, sub, row, head, batch, seqQ, headsQ, idx) = (b32[0], b32[1], b32[2], b32[3], b32[4], b32[5], b32[6], b32[7]);
        var b64 = w.Declare(RegKind.B64, "o_base", "do_base", "o_ss", "do_ss", "o_row", "do_row", "at", "x");
        var (oBase, doBase, oStride, doStride, oRow, doRow, at, x) = (b64[0], b64[1], b64[2], b64[3], b64[4], b64[5], b64[6], b64[7]);
        var f = w.Declare(RegKind.F32, "sum", "other", "a", "b", "lse");
        var (sum, other, a, bv, lse) = (f[0], f[1], f[2], f[3], f[4]);
        var p = w.Declare(RegKind.Pred, "valid", "chunk_ok", "lead", "empty");
        var (valid, chunkOk, lead, empty) = (p[0], p[1], p[2], p[3]);

        w.Stage("Setup: this thread's row (blockIdx.x * rows + tid / lanes) and lane within the row; grid = (row block, query head, batch)");
        w.Mov(U32, thread, Sreg.TidX);
        w.Shr(U32, row, thread, System.Array.IndexOf(new[] { 1, 2, 4, 8, 16, 32 }, lanes));
        w.And(B32, sub, thread, lanes - 1);
        w.Mov(U32, idx, Sreg.CtaidX);
        w.MadLo(U32, row, idx, rowsPerBlock, row);
        w.Mov(U32, head, Sreg.CtaidY);
        w.Mov(U32, batch, Sreg.CtaidZ);
        entry.Load(w, seqQ, "seq_q");
        entry.Load(w, headsQ, "heads_q");
        w.Setp(Cmp.Lt, U32, valid, row, seqQ);
        BackwardKernel.BasePointer(w, entry, "o", batch, head, output, oBase, oStride);
        BackwardKernel.BasePointer(w, entry, "d_o", batch, head, output, doBase, doStride);
        new GlobalTile(oBase, oStride, output).RowAddress(w, oRow, row, x);
        new GlobalTile(doBase, doStride, output).RowAddress(w, doRow, row, x);

        w.Stage(System.FormattableString.Invariant($"sum over this lane's 16-byte chunks (of {chunks}) of dO * O, in fp32"));
        w.Mov(PtxType.F32, sum, Operand.Zero);
        for (int i = 0; i * lanes < chunks; i++)
        {
            using (w.Scope())
            {
                var words = w.DeclareArrays(RegKind.B32, 4, "ow", "dw");
                var (ow, dw) = (words[0], words[1]);
                w.Comment("chunk " + I(i * lanes) + " + lane");
                w.Add(U32, idx, sub, i * lanes);
                w.SetpAnd(Cmp.Lt, U32, chunkOk, idx, chunks, valid);
                w.MulWide(U32, x, idx, ElementTraits.CopyBytes);
                w.Add(U64, at, oRow, x);
                w.Add(U64, x, doRow, x);
                for (int k = 0; k < 4; k++)
                {
                    w.Mov(B32, ow[k], 0);
                    w.Mov(B32, dw[k], 0);
                }

                using (w.When(chunkOk))
                {
                    w.LdGlobalNcQuad(ow, 0, at, 0);
                }

                using (w.When(chunkOk))
                {
                    w.LdGlobalNcQuad(dw, 0, x, 0);
                }

                if (output == ElementTraits.F32)
                {
                    for (int k = 0; k < 4; k++)
                    {
                        w.Mov(B32, a, ow[k]);
                        w.Mov(B32, bv, dw[k]);
                        w.Fma(PtxType.F32, sum, a, bv, sum);
                    }
                }
                else
                {
                    var h = w.Declare(RegKind.B16, "olo", "ohi", "dlo", "dhi");
                    for (int k = 0; k < 4; k++)
                    {
                        w.Unpack(h[0], h[1], ow[k]);
                        w.Unpack(h[2], h[3], dw[k]);
                        w.ToF32(output, a, h[0]);
                        w.ToF32(output, bv, h[2]);
                        w.Fma(PtxType.F32, sum, a, bv, sum);
                        w.ToF32(output, a, h[1]);
                        w.ToF32(output, bv, h[3]);
                        w.Fma(PtxType.F32, sum, a, bv, sum);
                    }
                }
            }
        }

        w.Stage("Sum over the row's lanes (butterfly within each group of " + I(lanes) + "), then the group's first lane writes delta and lse2");
        for (int mask = lanes / 2; mask >= 1; mask /= 2)
        {
            w.ShflBfly(other, sum, mask);
            w.Add(PtxType.F32, sum, sum, other);
        }

        var done = w.NewLabel("DONE");
        w.SetpAnd(Cmp.Eq, U32, lead, sub, 0, valid);
        w.BranchUnless(lead, done);
        w.MadLo(U32, idx, batch, headsQ, head);
        w.MadLo(U32, idx, idx, seqQ, row);
        w.MulWide(U32, x, idx, 4);
        entry.LoadGlobalPointer(w, at, "delta");
        w.Add(U64, at, at, x);
        w.StGlobal(PtxType.F32, at, sum);
        entry.LoadGlobalPointer(w, at, "lse");
        w.Add(U64, at, at, x);
        w.LdGlobalNc(PtxType.F32, lse, at);
        w.Comment("lse2 = LSE * log2(e); a row with no kept key (LSE = -inf) gets +inf, so exp2(s*c - lse2) = 0 there");
        w.Setp(Cmp.Eq, PtxType.F32, empty, lse, Operand.NegInf);
        w.Mul(PtxType.F32, lse, lse, Operand.F32(Constants.Log2E));
        w.Selp(PtxType.F32, lse, Operand.F32(double.PositiveInfinity), lse, empty);
        entry.LoadGlobalPointer(w, at, "lse2");
        w.Add(U64, at, at, x);
        w.StGlobal(PtxType.F32, at, lse);
        w.Place(done);
        w.Ret();
        KernelEntry.WriteEnd(w);
        return KernelEntry.AsciiOnly(w.ToString());
    }
}
