using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Decode;

/// <summary>
/// The split-KV merge (issue 11): one block per O row (query token × query head), each thread two columns. The splits'
/// partial results are combined by their LSE: LSE = M + ln Σ_s e^(LSE_s − M) with M = max_s LSE_s, O = Σ_s e^(LSE_s − LSE)·O_s
/// (each O_s is already normalised by its own sum). A row whose every split kept nothing (all LSE_s = −∞) gets O = 0 and
/// LSE = −∞; a NaN partial propagates.
/// </summary>
internal static class DecodeMergeKernel
{
    public static string Build(KernelPlan plan, GpuKernelPlan gpu)
    {
        var spec = plan.Spec;
        int dv = spec.ValueHeadDim;
        var output = ElementTraits.Of(plan.OutputType);
        var w = new PtxWriter();
        var entry = new KernelEntry(gpu.EntryName, PtxAbi.For(gpu));
        entry.WriteHeader(w,
            new[] { "KernelDsl paged decode: split-KV merge, " + spec.Target.FullName, "one block per (query token, query head), two output columns per thread" },
            framed: true, gpu.PtxVersion, gpu.PtxTarget, System.Array.Empty<(string, string)>(), new[] { KernelEntry.MaxThreads(gpu.ThreadsPerBlock) });
        var b = w.Declare(RegKind.B32, "thread", "row", "splits", "total_q", "heads_q", "rows_all", "s", "col");
        var (tid, row, splits, totalQ, headsQ, rowsAll, s, col) = (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
        var a = w.Declare(RegKind.B64, "part_o", "part_lse", "o", "lse", "at", "wide", "stride_o", "stride_lse");
        var (partO, partLse, o, lse, at, wide, strideO, strideLse) = (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
        var f = w.Declare(RegKind.F32, "mx", "v", "sum", "total", "x0", "x1", "y0", "y1", "weight");
        var (mx, v, sum, total, x0, x1, y0, y1, weight) = (f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]);
        var p = w.Declare(RegKind.Pred, "more", "none", "has_lse", "lead", "active");
        var (more, none, hasLse, lead, active) = (p[0], p[1], p[2], p[3], p[4]);
        var packed = w.Declare1(RegKind.B32, "packed");
        var done = w.NewLabel("DONE");
        var store = w.NewLabel("STORE");

        w.Stage("Row = ctaid.x (token * Hq + head); this thread's columns 2*tid, 2*tid + 1");
        w.Mov(U32, tid, Sreg.TidX);
        w.Mov(U32, row, Sreg.CtaidX);
        entry.Load(w, splits, "splits");
        entry.Load(w, totalQ, "total_q");
        entry.Load(w, headsQ, "heads_q");
        entry.LoadGlobalPointer(w, partO, "partial_o");
        entry.LoadGlobalPointer(w, partLse, "partial_lse");
        entry.LoadGlobalPointer(w, o, "o");
        entry.Load(w, lse, "lse");
        w.Setp(Cmp.Ne, U64, hasLse, lse, 0);
        w.CvtaToGlobal(lse, lse);
        w.MulLo(U32, rowsAll, totalQ, headsQ);
        w.Comment("the workspace's split stride: rows_all rows of LSE, rows_all * Dv values of O");
        w.MulWide(U32, strideLse, rowsAll, 4);
        w.MulWide(U32, strideO, rowsAll, dv * 4);

        w.Stage("M = max over splits of LSE_s");
        w.MulWide(U32, wide, row, 4);
        w.Add(U64, at, partLse, wide);
        w.Mov(PtxType.F32, mx, Operand.NegInf);
        w.Mov(U32, s, 0);
        var maxLoop = w.NewLabel("MAX_LOOP");
        w.Place(maxLoop);
        w.LdGlobal(PtxType.F32, v, at);
        w.Max(PtxType.F32, mx, mx, v);
        w.Add(U64, at, at, strideLse);
        w.Add(U32, s, s, 1);
        w.Setp(Cmp.Lt, U32, more, s, splits);
        w.BranchIf(more, maxLoop);
        w.Setp(Cmp.Eq, PtxType.F32, none, mx, Operand.NegInf);
        w.Selp(PtxType.F32, mx, Operand.Zero, mx, none);

        w.Stage("sum = sum_s e^(LSE_s - M); LSE = M + ln sum (-inf when every split kept nothing)");
        w.Add(U64, at, partLse, wide);
        w.Mov(PtxType.F32, sum, Operand.Zero);
        w.Mov(U32, s, 0);
        var sumLoop = w.NewLabel("SUM_LOOP");
        w.Place(sumLoop);
        w.LdGlobal(PtxType.F32, v, at);
        w.Sub(PtxType.F32, v, v, mx);
        w.Mul(PtxType.F32, v, v, Operand.F32(Constants.Log2E));
        w.Ex2(v, v);
        w.Add(PtxType.F32, sum, sum, v);
        w.Add(U64, at, at, strideLse);
        w.Add(U32, s, s, 1);
        w.Setp(Cmp.Lt, U32, more, s, splits);
        w.BranchIf(more, sumLoop);
        w.Lg2(total, sum);
        w.Mul(PtxType.F32, total, total, Operand.F32(Constants.Ln2));
        w.Add(PtxType.F32, total, total, mx);
        w.Setp(Cmp.Eq, PtxType.F32, none, sum, Operand.Zero);
        w.Selp(PtxType.F32, total, Operand.NegInf, total, none);
        w.SetpAnd(Cmp.Eq, U32, lead, tid, 0, hasLse);
        using (w.When(lead))
        {
            w.MulWide(U32, at, row, 4);
            w.Add(U64, at, at, lse);
            w.StGlobal(PtxType.F32, at, total);
        }

        w.Stage("O = sum_s e^(LSE_s - LSE) * O_s, two columns per thread");
        w.Setp(Cmp.Lt, U32, active, tid, dv / 2);
        w.BranchUnless(active, done);
        w.Shl(B32, col, tid, 1);
        w.Mov(PtxType.F32, x0, Operand.Zero);
        w.Mov(PtxType.F32, x1, Operand.Zero);
        w.BranchIf(none, store);
        w.Add(U64, at, partLse, wide);
        using (w.Scope())
        {
            var ao = w.Declare1(RegKind.B64, "ao");
            var ow = w.Declare1(RegKind.B64, "ow");
            w.MulWide(U32, ow, row, dv * 4);
            w.Add(U64, ao, partO, ow);
            w.MulWide(U32, ow, col, 4);
            w.Add(U64, ao, ao, ow);
            w.Mov(U32, s, 0);
            var oLoop = w.NewLabel("O_LOOP");
            w.Place(oLoop);
            w.LdGlobal(PtxType.F32, v, at);
            w.Sub(PtxType.F32, weight, v, total);
            w.Mul(PtxType.F32, weight, weight, Operand.F32(Constants.Log2E));
            w.Ex2(weight, weight);
            w.LdGlobal(PtxType.F32, y0, ao);
            w.LdGlobal(PtxType.F32, y1, ao, 4);
            w.Fma(PtxType.F32, x0, y0, weight, x0);
            w.Fma(PtxType.F32, x1, y1, weight, x1);
            w.Add(U64, at, at, strideLse);
            w.Add(U64, ao, ao, strideO);
            w.Add(U32, s, s, 1);
            w.Setp(Cmp.Lt, U32, more, s, splits);
            w.BranchIf(more, oLoop);
        }

        w.Place(store);
        w.MulWide(U32, wide, row, dv * output.Bytes);
        w.Add(U64, at, o, wide);
        w.MulWide(U32, wide, col, output.Bytes);
        w.Add(U64, at, at, wide);
        if (output == ElementTraits.F32)
        {
            w.StGlobalPair(PtxType.F32, at, 0, x0, x1);
        }
        else
        {
            w.PackPair(output, packed, x1, x0);
            w.StGlobal(B32, at, packed);
        }

        w.Place(done);
        w.Ret();
        KernelEntry.WriteEnd(w);
        return KernelEntry.AsciiOnly(w.ToString());
    }
}
