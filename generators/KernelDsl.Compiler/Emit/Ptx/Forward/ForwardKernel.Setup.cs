using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
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
        w.Ins("mov.u32 " + R.Thread + ", %tid.x");
        w.Ins("shr.u32 " + R.Warp + ", " + R.Thread + ", 5");
        w.Ins("and.b32 " + R.Lane + ", " + R.Thread + ", 31");
        w.Comment("mma fragment coordinates: g = lane/4 (row within 8), t4 = lane%4 (column pair)");
        w.Ins("shr.u32 " + R.G + ", " + R.Lane + ", 2");
        w.Ins("and.b32 " + R.T4 + ", " + R.Lane + ", 3");
        if (LaterBlocksAreHeavier)
        {
            // Longest work first: with a causal-like band, query block i visits about i+1 KV tiles, and the GPU
            // hands out CTAs in blockIdx order. Reversing the order starts the heaviest blocks first, so the last
            // wave is made of short blocks instead of full-length ones (measured effect: samples/Bench/NOTES.md, v6).
            w.Comment("query blocks in reverse order: the heaviest (longest key range) start first");
            using (w.Scope())
            {
                var last = w.Declare1(RegKind.B32, "last_blk");
                w.Ins("mov.u32 " + last + ", %nctaid.x");
                w.Ins("add.u32 " + last + ", " + last + ", -1");
                w.Ins("mov.u32 " + R.QueryBlock + ", %ctaid.x");
                w.Ins("sub.u32 " + R.QueryBlock + ", " + last + ", " + R.QueryBlock);
            }
        }
        else
        {
            w.Ins("mov.u32 " + R.QueryBlock + ", %ctaid.x");
        }

        w.Ins("mov.u32 " + R.Head + ", %ctaid.y");
        w.Ins("mov.u32 " + R.Batch + ", %ctaid.z");
        Entry.Load(w, R.SeqQ, "seq_q");
        Entry.Load(w, R.SeqKv, "seq_kv");
        Entry.Load(w, R.HeadsQ, "heads_q");
        Entry.Load(w, R.HeadsKv, "heads_kv");
        w.Comment("GQA: query head h reads kv head h / (Hq / Hkv)");
        using (w.Scope())
        {
            var group = w.Declare1(RegKind.B32, "group");
            w.Ins("div.u32 " + group + ", " + R.HeadsQ + ", " + R.HeadsKv);
            w.Ins("div.u32 " + R.KvHead + ", " + R.Head + ", " + group);
        }

        w.Comment(ScoreMod is null
            ? System.FormattableString.Invariant($"softmax scale * log2(e) = {Gpu.ScaleLog2:R}: p = exp2(s*c - m*c)")
            : "log2(e): the scores hold the modified natural scores mod(scale*q.k), so p = exp2(s*c - m*c)");
        w.Ins("mov.f32 " + R.ScaleLog2 + ", " + F32(SoftmaxLog2Multiplier));
        int slabRows = 16 * Shape.Slabs;
        w.Comment("this thread's query rows: q0 + " + I(slabRows) + "*warp + 16*slab + g, and + 8");
        w.Ins("mul.lo.u32 " + R.Q0 + ", " + R.QueryBlock + ", " + I(Gpu.BlockQ));
        w.Ins("mad.lo.u32 " + R.Row[0] + ", " + R.Warp + ", " + I(slabRows) + ", " + R.Q0);
        w.Ins("add.u32 " + R.Row[0] + ", " + R.Row[0] + ", " + R.G);
        for (int rr = 1; rr < Shape.RowsPerThread; rr++)
        {
            w.Ins("add.u32 " + R.Row[rr] + ", " + R.Row[0] + ", " + I((16 * (rr / 2)) + (8 * (rr % 2))));
        }

        w.Stage("Setup: global base pointers of this (batch, head); strides are in elements, converted to bytes");
        BasePointer("q", R.Head, Shape.Element, R.QBase, R.QStride);
        BasePointer("k", R.KvHead, Shape.Element, R.KBase, R.KStride);
        BasePointer("v", R.KvHead, Shape.Element, R.VBase, R.VStride);
        BasePointer("o", R.Head, Shape.Output, R.OBase, R.OStride);
        Entry.Load(w, R.LsePtr, "lse");
        w.Ins("setp.ne.u64 " + R.HasLse + ", " + R.LsePtr + ", 0");
        w.Ins("cvta.to.global.u64 " + R.LsePtr + ", " + R.LsePtr);

        w.Stage(Family.SharedSetupTitle);
        w.Ins("mov.u32 " + R.Smem + ", kdsl_smem");
        w.Ins("add.u32 " + R.QTile + ", " + R.Smem + ", " + I(Gpu.Smem.QOffset));
        w.Ins("add.u32 " + R.KRing + ", " + R.Smem + ", " + I(Gpu.Smem.KOffset));
        w.Ins("add.u32 " + R.VRing + ", " + R.Smem + ", " + I(Gpu.Smem.VOffset));
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
            w.Ins("cvt.u64.u32 " + x + ", " + R.Batch);
            w.Ins("mul.lo.u64 " + bs + ", " + bs + ", " + x);
            w.Ins("cvt.u64.u32 " + x + ", " + head);
            w.Ins("mad.lo.u64 " + bs + ", " + hs + ", " + x + ", " + bs);
            w.Ins("shl.b64 " + bs + ", " + bs + ", " + I(element.ByteShift));
            w.Ins("add.u64 " + baseAddress + ", " + ptr + ", " + bs);
            Entry.Load(w, seqStride, tensor + "_seq_stride");
            w.Ins("shl.b64 " + seqStride + ", " + seqStride + ", " + I(element.ByteShift));
        }
    }
}
