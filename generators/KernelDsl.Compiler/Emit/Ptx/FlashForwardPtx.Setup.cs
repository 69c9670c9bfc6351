using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

internal sealed partial class FlashForwardPtx
{
    /// <summary>
    /// True when later query blocks keep more keys (a band bounded on the right only, e.g. causal): then the
    /// CTAs are mapped to query blocks last-first. Sliding windows (both bounds) and unmasked specs keep the
    /// natural order: their blocks are equally long.
    /// </summary>
    private bool LaterBlocksAreHeavier => _spec.Mask.IsMasked && _spec.Mask.BandRight >= 0 && _spec.Mask.BandLeft < 0;

    /// <summary>Indices, GQA head mapping, per-(batch, head) base pointers, shared-memory addresses.</summary>
    private void EmitSetup()
    {
        var w = _w;
        w.Stage("Setup: thread, warp and lane; grid = (query block, query head, batch)");
        w.Ins("mov.u32 %thr, %tid.x");
        w.Ins("shr.u32 %warp, %thr, 5");
        w.Ins("and.b32 %lane, %thr, 31");
        w.Comment("mma fragment coordinates: g = lane/4 (row within 8), t4 = lane%4 (column pair)");
        w.Ins("shr.u32 %g, %lane, 2");
        w.Ins("and.b32 %t4, %lane, 3");
        if (LaterBlocksAreHeavier)
        {
            // Longest work first: with a causal-like band, query block i visits about i+1 KV tiles, and the GPU
            // hands out CTAs in blockIdx order. Reversing the order starts the heaviest blocks first, so the last
            // wave is made of short blocks instead of full-length ones (measured effect: samples/Bench/NOTES.md, v6).
            w.Comment("query blocks in reverse order: the heaviest (longest key range) start first");
            using (w.Scope())
            {
                w.Ins(".reg .b32 %last_blk");
                w.Ins("mov.u32 %last_blk, %nctaid.x");
                w.Ins("add.u32 %last_blk, %last_blk, -1");
                w.Ins("mov.u32 %qblk, %ctaid.x");
                w.Ins("sub.u32 %qblk, %last_blk, %qblk");
            }
        }
        else
        {
            w.Ins("mov.u32 %qblk, %ctaid.x");
        }

        w.Ins("mov.u32 %head, %ctaid.y");
        w.Ins("mov.u32 %batch, %ctaid.z");
        w.Ins("ld.param.u32 %seq_q, [" + P("seq_q") + "]");
        w.Ins("ld.param.u32 %seq_kv, [" + P("seq_kv") + "]");
        w.Ins("ld.param.u32 %heads_q, [" + P("heads_q") + "]");
        w.Ins("ld.param.u32 %heads_kv, [" + P("heads_kv") + "]");
        w.Comment("GQA: query head h reads kv head h / (Hq / Hkv)");
        using (w.Scope())
        {
            w.Ins(".reg .b32 %group");
            w.Ins("div.u32 %group, %heads_q, %heads_kv");
            w.Ins("div.u32 %hkv, %head, %group");
        }

        w.Comment(ScoreMod is null
            ? System.FormattableString.Invariant($"softmax scale * log2(e) = {_gpu.ScaleLog2:R}: p = exp2(s*c - m*c)")
            : "log2(e): the scores hold the modified natural scores mod(scale*q.k), so p = exp2(s*c - m*c)");
        w.Ins("mov.f32 %scale_log2, " + F32(SoftmaxLog2Multiplier));
        w.Comment("this thread's query rows: q0 + " + I(16 * Slabs) + "*warp + 16*slab + g, and + 8");
        w.Ins("mul.lo.u32 %q0, %qblk, " + I(_gpu.BlockQ));
        w.Ins("mad.lo.u32 %row0, %warp, " + I(16 * Slabs) + ", %q0");
        w.Ins("add.u32 %row0, %row0, %g");
        for (int rr = 1; rr < RowsPerThread; rr++)
        {
            w.Ins("add.u32 %row" + I(rr) + ", %row0, " + I((16 * (rr / 2)) + (8 * (rr % 2))));
        }

        w.Stage("Setup: global base pointers of this (batch, head); strides are in elements, converted to bytes");
        BasePointer("q", "%head", 2, "%q_base", "%q_ss");
        BasePointer("k", "%hkv", 2, "%k_base", "%k_ss");
        BasePointer("v", "%hkv", 2, "%v_base", "%v_ss");
        BasePointer("o", "%head", _output == ElementType.FP32 ? 4 : 2, "%o_base", "%o_ss");
        w.Ins("ld.param.u64 %lse_ptr, [" + P("lse") + "]");
        w.Ins("setp.ne.u64 %p_lse, %lse_ptr, 0");
        w.Ins("cvta.to.global.u64 %lse_ptr, %lse_ptr");

        w.Stage(Wgmma
            ? System.FormattableString.Invariant($"Setup: shared memory (Q @{Smem.QOffset}, K ring @{Smem.KOffset}, V ring @{Smem.VOffset}; 128-byte swizzled 64-column blocks)")
            : System.FormattableString.Invariant($"Setup: shared memory (Q @{Smem.QOffset}, K ring @{Smem.KOffset}, V ring @{Smem.VOffset}; row pitches {Smem.QPitchBytes}/{Smem.KPitchBytes}/{Smem.VPitchBytes} bytes, 16 bytes of padding per row)"));
        w.Ins("mov.u32 %smem, kdsl_smem");
        w.Ins("add.u32 %q_tile, %smem, " + I(Smem.QOffset));
        w.Ins("add.u32 %k_ring, %smem, " + I(Smem.KOffset));
        w.Ins("add.u32 %v_ring, %smem, " + I(Smem.VOffset));
        if (Wgmma)
        {
            EmitWgmmaDescriptorSetup();
            return;
        }

        w.Comment("ldmatrix.x4: lanes 0-7, 8-15, 16-23, 24-31 give the row addresses of matrices 0..3");
        using (w.Scope())
        {
            w.Ins(".reg .b32 %r8, %hi, %mid, %x");
            w.Ins("and.b32 %r8, %lane, 7");
            w.Ins("shr.u32 %hi, %lane, 4");
            w.Ins("bfe.u32 %mid, %lane, 3, 1");
            w.Comment("Q as A (row-major 16x16): row = " + I(16 * Slabs) + "*warp + r8 + 8*mid, column block = 8*hi (slab s at +16 rows)");
            w.Ins("mad.lo.u32 %x, %mid, 8, %r8");
            w.Ins("mad.lo.u32 %x, %warp, " + I(16 * Slabs) + ", %x");
            w.Ins("mad.lo.u32 %x, %x, " + I(Smem.QPitchBytes) + ", %q_tile");
            w.Ins("mad.lo.u32 %q_ld, %hi, 16, %x");
            w.Comment("K as B of Q*K^T (keys are columns, head dim contiguous = 'col'): key = r8 + 8*hi, column block = 8*mid");
            w.Ins("mad.lo.u32 %x, %hi, 8, %r8");
            w.Ins("mul.lo.u32 %x, %x, " + I(Smem.KPitchBytes));
            w.Ins("mad.lo.u32 %k_ld, %mid, 16, %x");
            w.Comment("V as B of P*V through ldmatrix.trans: key = r8 + 8*mid, column block = 8*hi");
            w.Ins("mad.lo.u32 %x, %mid, 8, %r8");
            w.Ins("mul.lo.u32 %x, %x, " + I(Smem.VPitchBytes));
            w.Ins("mad.lo.u32 %v_ld, %hi, 16, %x");
        }
    }

    /// <summary>base = ptr + elementSize·(b·batchStride + head·headStride); seqStride in bytes.</summary>
    private void BasePointer(string tensor, string headReg, int elementSize, string baseReg, string seqStrideReg)
    {
        var w = _w;
        int shift = elementSize == 4 ? 2 : 1;
        using (w.Scope())
        {
            w.Ins(".reg .b64 %ptr, %bs, %hs, %x");
            w.Ins("ld.param.u64 %ptr, [" + P(tensor) + "]");
            w.Ins("cvta.to.global.u64 %ptr, %ptr");
            w.Ins("ld.param.u64 %bs, [" + P(tensor + "_batch_stride") + "]");
            w.Ins("ld.param.u64 %hs, [" + P(tensor + "_head_stride") + "]");
            w.Ins("cvt.u64.u32 %x, %batch");
            w.Ins("mul.lo.u64 %bs, %bs, %x");
            w.Ins("cvt.u64.u32 %x, " + headReg);
            w.Ins("mad.lo.u64 %bs, %hs, %x, %bs");
            w.Ins("shl.b64 %bs, %bs, " + I(shift));
            w.Ins("add.u64 " + baseReg + ", %ptr, %bs");
            w.Ins("ld.param.u64 " + seqStrideReg + ", [" + P(tensor + "_seq_stride") + "]");
            w.Ins("shl.b64 " + seqStrideReg + ", " + seqStrideReg + ", " + I(shift));
        }
    }

    /// <summary>
    /// The mask band: key j is kept for row i when d − Left ≤ j ≤ d + Right, d = i + align (align = Skv − Sq for
    /// bottom-right, 0 otherwise; −1 bounds are unbounded). From it: the KV blocks any row of this block keeps
    /// ([n_start, n_end), the rest are skipped whole), the per-row bounds used on boundary blocks, and the
    /// bounds that make a block "fully kept" (no element mask).
    /// </summary>
    private void EmitBlockRange()
    {
        var w = _w;
        int left = _spec.Mask.BandLeft;
        int right = _spec.Mask.BandRight;
        w.Stage("Mask band: which KV blocks this query block needs (others are skipped whole)");
        w.Comment("band: keep j when d - Left <= j <= d + Right, d = i + align; Left = " + I(left) + ", Right = " + I(right) + " (-1 = unbounded)");
        if (_spec.Mask.IsMasked && _spec.Mask.Alignment == MaskAlignment.BottomRight)
        {
            w.Ins("sub.s32 %align, %seq_kv, %seq_q");
        }
        else
        {
            w.Ins("mov.u32 %align, 0");
        }

        using (w.Scope())
        {
            w.Ins(".reg .b32 %x, %jlo, %jhi, %last_kv");
            w.Ins(".reg .pred %pe");
            w.Ins("add.s32 %d_min, %q0, %align");
            w.Ins("add.s32 %x, %q0, " + I(_gpu.BlockQ));
            w.Ins("min.s32 %x, %x, %seq_q");
            w.Ins("add.s32 %d_max, %x, -1");
            w.Ins("add.s32 %d_max, %d_max, %align");
            w.Ins("add.s32 %last_kv, %seq_kv, -1");
            w.Comment("key range kept by some row of the block: [jlo, jhi]");
            if (left >= 0)
            {
                w.Ins("sub.s32 %jlo, %d_min, " + I(left));
                w.Ins("max.s32 %jlo, %jlo, 0");
            }
            else
            {
                w.Ins("mov.u32 %jlo, 0");
            }

            if (right >= 0)
            {
                w.Ins("add.s32 %jhi, %d_max, " + I(right));
                w.Ins("min.s32 %jhi, %jhi, %last_kv");
            }
            else
            {
                w.Ins("mov.u32 %jhi, %last_kv");
            }

            w.Ins("shr.u32 %n_start, %jlo, " + I(Log2(Bkv)));
            w.Ins("setp.lt.s32 %p_empty, %jhi, %jlo");
            w.Ins("add.s32 %x, %jhi, " + I(Bkv));
            w.Ins("shr.s32 %n_end, %x, " + I(Log2(Bkv)));
            w.Ins("selp.b32 %n_end, %n_start, %n_end, %p_empty");
            w.Comment("per-row bounds for boundary blocks: lo = d - Left, hi = min(d + Right, Skv - 1)");
            for (int rr = 0; rr < RowsPerThread; rr++)
            {
                RowBounds("%row" + I(rr), "%lo" + I(rr), "%hi" + I(rr), left, right);
            }
            w.Comment("a block [kv0, kv0 + BlockKV) is fully kept when kv0 >= full_lo and kv0 + BlockKV <= full_hi");
            w.Ins(left >= 0 ? "sub.s32 %full_lo, %d_max, " + I(left) : "mov.u32 %full_lo, 0");
            if (right >= 0)
            {
                w.Ins("add.s32 %full_hi, %d_min, " + I(right + 1));
                w.Ins("min.s32 %full_hi, %full_hi, %seq_kv");
            }
            else
            {
                w.Ins("mov.u32 %full_hi, %seq_kv");
            }
        }

        w.Comment("empty accumulators: O = 0, m = -inf, l = 0 (a row that keeps no key ends as O = 0, LSE = -inf)");
        for (int ms = 0; ms < Slabs; ms++)
        {
            for (int i = 0; i < Dv / 2; i++)
            {
                w.Ins("mov.f32 " + Slab("%o", ms) + I(i) + ", " + Zero);
            }
        }

        for (int rr = 0; rr < RowsPerThread; rr++)
        {
            w.Ins("mov.f32 %m" + I(rr) + ", " + NegInf);
            w.Ins("mov.f32 %l" + I(rr) + ", " + Zero);
        }
        EmitBlockMaskRange();
        w.Ins("setp.le.s32 %p_empty, %n_end, %n_start");
        w.Ins("@%p_empty bra EPILOGUE");
    }

    private void RowBounds(string row, string lo, string hi, int left, int right)
    {
        var w = _w;
        w.Ins("add.s32 %x, " + row + ", %align");
        if (left >= 0)
        {
            w.Ins("sub.s32 " + lo + ", %x, " + I(left));
        }

        if (right >= 0)
        {
            w.Ins("add.s32 " + hi + ", %x, " + I(right));
            w.Ins("min.s32 " + hi + ", " + hi + ", %last_kv");
        }
        else
        {
            w.Ins("mov.u32 " + hi + ", %last_kv");
        }
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
