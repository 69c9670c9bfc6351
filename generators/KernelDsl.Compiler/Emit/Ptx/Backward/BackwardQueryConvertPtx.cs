using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Backward;

/// <summary>
/// The atomic-dQ mode's last kernel: dQ = scale · the fp32 accumulator [B, Hq, Sq, D] the dK/dV kernel added into, written
/// in dQ's element type and strides. Eight lanes share a row, each converting chunks of 8 elements (two 16-byte loads,
/// four 32-bit stores: dQ rows are only required to be 4-byte aligned). Grid (ceil(Sq / rows per block), Hq, B).
/// </summary>
internal static class BackwardQueryConvertPtx
{
    /// <summary>Elements per chunk: 8 fp32 in (32 bytes), 8 16-bit out.</summary>
    private const int Chunk = 8;

    public static string Build(KernelPlan plan, GpuKernelPlan gpu)
    {
        var w = new PtxWriter();
        var element = ElementTraits.Of(plan.Spec.InputType);
        int d = plan.Spec.HeadDim;
        int lanes = GpuBackwardPlanner.PreprocessLanesPerRow;
        int rowsPerBlock = gpu.BlockQ;
        int chunks = d / Chunk;
        var entry = new KernelEntry(gpu.EntryName, PtxAbi.For(gpu));
        entry.WriteHeader(w,
            new[]
            {
                "KernelDsl backward, atomic-dQ mode: dQ accumulator to dQ, " + plan.Spec.Target.FullName,
                Host.PlanTextRenderer.SpecSummary(plan.Spec, plan.OutputType),
                System.FormattableString.Invariant($"dQ = {plan.Spec.EffectiveScale:R} * acc in {element.Ptx}; {rowsPerBlock} rows x {lanes} lanes per block"),
            },
            framed: true, gpu.PtxVersion, gpu.PtxTarget, System.Array.Empty<(string, string)>(), new[] { KernelEntry.MaxThreads(gpu.ThreadsPerBlock) });

        var b32 = w.Declare(RegKind.B32, "thr", "sub", "row", "head", "batch", "seq_q", "heads_q", "idx");
        var (thread, sub, row, head, batch, seqQ, headsQ, idx) = (b32[0], b32[1], b32[2], b32[3], b32[4], b32[5], b32[6], b32[7]);
        var b64 = w.Declare(RegKind.B64, "dq_base", "dq_ss", "dq_row", "acc_row", "at", "x");
        var (dqBase, dqStride, dqRow, accRow, at, x) = (b64[0], b64[1], b64[2], b64[3], b64[4], b64[5]);
        var p = w.Declare(RegKind.Pred, "valid", "chunk_ok");
        var (valid, chunkOk) = (p[0], p[1]);

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
        BackwardKernel.BasePointer(w, entry, "dq", batch, head, element, dqBase, dqStride);
        new GlobalTile(dqBase, dqStride, element).RowAddress(w, dqRow, row, x);
        w.Comment("the accumulator row: acc + 4 * ((b * Hq + h) * Sq + row) * D");
        w.MadLo(U32, idx, batch, headsQ, head);
        w.MadLo(U32, idx, idx, seqQ, row);
        w.MulWide(U32, x, idx, 4 * d);
        entry.LoadGlobalPointer(w, accRow, "dq_acc");
        w.Add(U64, accRow, accRow, x);

        w.Stage(System.FormattableString.Invariant($"dQ = scale * acc over this lane's chunks of {Chunk} (of {chunks})"));
        for (int i = 0; i * lanes < chunks; i++)
        {
            using (w.Scope())
            {
                var acc = w.DeclareArray(RegKind.F32, "acc", Chunk);
                var packed = w.DeclareArray(RegKind.B32, "h", Chunk / 2);
                w.Comment("chunk " + I(i * lanes) + " + lane");
                w.Add(U32, idx, sub, i * lanes);
                w.SetpAnd(Cmp.Lt, U32, chunkOk, idx, chunks, valid);
                using (w.When(chunkOk))
                {
                    w.MulWide(U32, x, idx, Chunk * 4);
                    w.Add(U64, at, accRow, x);
                    w.LdGlobalNcQuad(acc, 0, at, 0);
                    w.LdGlobalNcQuad(acc, 4, at, 16);
                    for (int k = 0; k < Chunk; k++)
                    {
                        w.Mul(PtxType.F32, acc[k], acc[k], Operand.F32(plan.Spec.EffectiveScale));
                    }

                    for (int k = 0; k < Chunk / 2; k++)
                    {
                        w.PackPair(element, packed[k], acc[(2 * k) + 1], acc[2 * k]);
                    }

                    w.MulWide(U32, x, idx, Chunk * element.Bytes);
                    w.Add(U64, at, dqRow, x);
                    for (int k = 0; k < Chunk / 2; k++)
                    {
                        w.StGlobal(B32, at, 4 * k, packed[k]);
                    }
                }
            }
        }

        w.Ret();
        KernelEntry.WriteEnd(w);
        return KernelEntry.AsciiOnly(w.ToString());
    }
}
