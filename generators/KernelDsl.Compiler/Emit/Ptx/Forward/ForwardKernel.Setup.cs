using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

internal abstract partial class ForwardKernel
{
    /// <summary>
    /// True when later query blocks keep more keys (a band bounded on the right only, e.g. causal): then the
    /// CTAs are mapped to query blocks last-first. Sliding windows (both bounds) and unmasked specs keep the
    /// natural order: their blocks are equally long.
    /// </summary>
    private bool LaterBlocksAreHeavier => Spec.Mask.IsMasked && Spec.Mask.BandRight >= 0 && Spec.Mask.BandLeft < 0;

    /// <summary>Indices, GQA head mapping, per-(batch, head) base pointers, shared-memory addresses.</summary>
    private void EmitSetup()
    {
        var w = W;
        w.Stage("Setup: thread, warp and lane; grid = (query block, query head, batch)");
        w.Mov(U32, R.Thread, Sreg.TidX);
        w.Shr(U32, R.Warp, R.Thread, 5);
        w.And(B32, R.Lane, R.Thread, 31);
        w.Comment("mma fragment coordinates: g = lane/4 (row within 8), t4 = lane%4 (column pair)");
        w.Shr(U32, R.G, R.Lane, 2);
        w.And(B32, R.T4, R.Lane, 3);
        if (IsVarlen)
        {
            EmitVarlenSequence();
        }
        else if (LaterBlocksAreHeavier)
        {
            // Longest work first: with a causal-like band, query block i visits about i+1 KV tiles, and the GPU
            // hands out CTAs in blockIdx order. Reversing the order starts the heaviest blocks first, so the last
            // wave is made of short blocks instead of full-length ones (measured effect: samples/Bench/NOTES.md, v6).
            w.Comment("query blocks in reverse order: the heaviest (longest key range) start first");
            using (w.Scope())
            {
                var last = w.Declare1(RegKind.B32, "last_blk");
                w.Mov(U32, last, Sreg.NctaidX);
                w.Add(U32, last, last, -1);
                w.Mov(U32, R.QueryBlock, Sreg.CtaidX);
                w.Sub(U32, R.QueryBlock, last, R.QueryBlock);
            }
        }
        else
        {
            w.Mov(U32, R.QueryBlock, Sreg.CtaidX);
        }

        if (!IsVarlen)
        {
            w.Mov(U32, R.Head, Sreg.CtaidY);
            w.Mov(U32, R.Batch, Sreg.CtaidZ);
            Entry.Load(w, R.SeqQ, "seq_q");
            Entry.Load(w, R.SeqKv, "seq_kv");
        }

        Entry.Load(w, R.HeadsQ, "heads_q");
        Entry.Load(w, R.HeadsKv, "heads_kv");
        w.Comment("GQA: query head h reads kv head h / (Hq / Hkv)");
        using (w.Scope())
        {
            var group = w.Declare1(RegKind.B32, "group");
            w.Div(U32, group, R.HeadsQ, R.HeadsKv);
            w.Div(U32, R.KvHead, R.Head, group);
        }

        w.Comment(ScoreMod is null
            ? System.FormattableString.Invariant($"softmax scale * log2(e) = {Gpu.ScaleLog2:R}: p = exp2(s*c - m*c)")
            : "log2(e): the scores hold the modified natural scores mod(scale*q.k), so p = exp2(s*c - m*c)");
        w.Mov(PtxType.F32, R.ScaleLog2, Operand.F32(SoftmaxLog2Multiplier));
        int slabRows = 16 * Shape.Slabs;
        w.Comment("this thread's query rows: q0 + " + I(slabRows) + "*warp + 16*slab + g, and + 8");
        w.MulLo(U32, R.Q0, R.QueryBlock, Gpu.BlockQ);
        w.MadLo(U32, R.Row[0], R.Warp, slabRows, R.Q0);
        w.Add(U32, R.Row[0], R.Row[0], R.G);
        for (int rr = 1; rr < Shape.RowsPerThread; rr++)
        {
            w.Add(U32, R.Row[rr], R.Row[0], (16 * (rr / 2)) + (8 * (rr % 2)));
        }

        if (IsVarlen)
        {
            EmitVarlenBasePointers();
        }
        else
        {
            w.Stage("Setup: global base pointers of this (batch, head); strides are in elements, converted to bytes");
            BasePointer("q", R.Head, Shape.Element, R.QBase, R.QStride);
            BasePointer("k", R.KvHead, Shape.Element, R.KBase, R.KStride);
            BasePointer("v", R.KvHead, Shape.Element, R.VBase, R.VStride);
            BasePointer("o", R.Head, Shape.Output, R.OBase, R.OStride);
        }

        Entry.Load(w, R.LsePtr, "lse");
        w.Setp(Cmp.Ne, U64, R.HasLse, R.LsePtr, 0);
        w.CvtaToGlobal(R.LsePtr, R.LsePtr);
        if (IsVarlen)
        {
            EmitVarlenLseRows();
        }

        w.Stage(Family.SharedSetupTitle);
        w.Mov(U32, R.Smem, Operand.Literal(SharedMemorySymbol));
        w.Add(U32, R.QTile, R.Smem, Gpu.Smem.QOffset);
        w.Add(U32, R.KRing, R.Smem, Gpu.Smem.KOffset);
        w.Add(U32, R.VRing, R.Smem, Gpu.Smem.VOffset);
        Family.SetupOperands(w, new ForwardTiles(Gpu, Shape.Element, Shape.D, Shape.Dv, R.Warp, R.Lane, R.Thread, R.QTile, R.KRing, R.VRing));
    }

    /// <summary>base = ptr + elementSize·(b·batchStride + head·headStride); seqStride in bytes.</summary>
    private void BasePointer(string tensor, Reg head, ElementTraits element, Reg baseAddress, Reg seqStride)
    {
        var w = W;
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B64, "ptr", "bs", "hs", "x");
            var (ptr, bs, hs, x) = (r[0], r[1], r[2], r[3]);
            Entry.LoadGlobalPointer(w, ptr, tensor);
            Entry.Load(w, bs, tensor + "_batch_stride");
            Entry.Load(w, hs, tensor + "_head_stride");
            w.Cvt(U64, U32, x, R.Batch);
            w.MulLo(U64, bs, bs, x);
            w.Cvt(U64, U32, x, head);
            w.MadLo(U64, bs, hs, x, bs);
            w.Shl(B64, bs, bs, element.ByteShift);
            w.Add(U64, baseAddress, ptr, bs);
            Entry.Load(w, seqStride, tensor + "_seq_stride");
            w.Shl(B64, seqStride, seqStride, element.ByteShift);
        }
    }
}
