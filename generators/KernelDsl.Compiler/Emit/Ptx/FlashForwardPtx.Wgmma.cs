using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// The Hopper family (plan.Family = Sm90a): the two matrix products run as warpgroup-level
/// <c>wgmma.mma_async</c>. Each of the block's two warpgroups owns 64 query rows (warp w of the block: rows 16w..16w+15,
/// exactly the one-slab row mapping of the sm_80 kernel), and the accumulator fragment of an m64nN wgmma gives each
/// thread the same elements as N/8 mma.sync m16n8 tiles: the mask, modifier, softmax and epilogue stages are shared
/// with the sm_80 kernel unchanged.
///
/// Shared memory: every tile is stored in 64-column blocks (128 bytes per row) with the 128-byte swizzle, the layout
/// wgmma's matrix descriptors read without ldmatrix: Q and K as K-major operands, V as the MN-major ("transposed")
/// B operand of P·V. P stays in registers as the A operand.
///
/// The loop keeps the tensor cores busy during the softmax: in iteration n, S(n) = Q·K(n)ᵀ and O += P(n−1)·V(n−1) are
/// issued together; the thread waits for S(n) only, runs the mask and the softmax of tile n while P(n−1)·V(n−1) still
/// runs, then waits for it, rescales O and converts P(n). So tiles n−1 (V) and n (K) are resident while tile n+Stages−2
/// is prefetched: Stages ≥ 3.
/// </summary>
internal sealed partial class FlashForwardPtx
{
    /// <summary>Bytes of one row of a 64-column block: the swizzle's width.</summary>
    private const int SwizzleBytes = 128;

    /// <summary>Descriptor bits 62–63 = 1: 128-byte swizzle (in the high word: bit 30).</summary>
    private const int Swizzle128HighBits = 1 << 30;

    private void DeclareWgmmaRegisters()
    {
        var w = _w;
        w.Comment("wgmma matrix descriptors (64-bit: address>>4, leading/stride byte offsets>>4, swizzle mode) of this warpgroup's Q rows and of stage 0 of the K and V rings");
        w.Ins(".reg .b64 %q_desc, %k_desc0, %v_desc0, %k_desc, %v_desc");
        w.Ins(".reg .b32 %v_stage");
        w.Comment("scale-d of wgmma: false = overwrite the accumulator (first k-step of S), true = accumulate");
        w.Ins(".reg .pred %p_acc, %p_over");
    }

    /// <summary>
    /// Descriptors. K-major (Q, K): rows 128 bytes apart, 8-row groups 1024 bytes apart (stride byte offset); the
    /// leading byte offset is unused with the swizzle (1 by convention). MN-major (V): key rows 128 bytes apart, 8-key
    /// groups 1024 bytes apart (stride byte offset), and the next 64 output columns one column block further
    /// (leading byte offset = BlockKV·128).
    /// </summary>
    private void EmitWgmmaDescriptorSetup()
    {
        var w = _w;
        w.Comment("warpgroup wg = warp / 4 reads Q rows 64*wg .. 64*wg+63");
        using (w.Scope())
        {
            w.Ins(".reg .b32 %wg, %addr, %lo, %hi");
            w.Ins("shr.u32 %wg, %warp, 2");
            w.Ins("mad.lo.u32 %addr, %wg, " + I(64 * SwizzleBytes) + ", %q_tile");
            Descriptor("%q_desc", "%addr", leadingBytes: 16, strideBytes: 8 * SwizzleBytes);
            Descriptor("%k_desc0", "%k_ring", leadingBytes: 16, strideBytes: 8 * SwizzleBytes);
            Descriptor("%v_desc0", "%v_ring", leadingBytes: Bkv * SwizzleBytes, strideBytes: 8 * SwizzleBytes);
        }

        w.Ins("setp.ne.u32 %p_over, %thr, %thr");
        w.Ins("setp.eq.u32 %p_acc, %thr, %thr");
    }

    /// <summary>desc = {lo: (address &amp; 0x3FFFF) >> 4 | (leading >> 4) &lt;&lt; 16, hi: stride >> 4 | swizzle 128B}.</summary>
    private void Descriptor(string desc, string address, int leadingBytes, int strideBytes)
    {
        var w = _w;
        w.Ins("and.b32 %lo, " + address + ", 262143");
        w.Ins("shr.u32 %lo, %lo, 4");
        w.Ins("or.b32 %lo, %lo, " + I((leadingBytes >> 4) << 16));
        w.Ins("mov.u32 %hi, " + I((strideBytes >> 4) | Swizzle128HighBits));
        w.Ins("mov.b64 " + desc + ", {%lo, %hi}");
    }

    /// <summary>
    /// %sa = byte offset of 16-byte chunk %lc of tile row %r in a swizzled tile of <paramref name="rows"/> rows:
    /// column block lc/8 at rows·128, row r at 128·r, and chunk (lc mod 8) XOR (r mod 8) within the row — the
    /// address bits 4–6 XOR bits 7–9 that the 128-byte swizzle mode undoes when the tensor cores read.
    /// </summary>
    private void SwizzledAddress(int rows)
    {
        var w = _w;
        using (w.Scope())
        {
            w.Ins(".reg .b32 %blk, %chunk, %r8");
            w.Ins("shr.u32 %blk, %lc, 3");
            w.Ins("and.b32 %chunk, %lc, 7");
            w.Ins("and.b32 %r8, %r, 7");
            w.Ins("xor.b32 %chunk, %chunk, %r8");
            w.Ins("mul.lo.u32 %sa, %blk, " + I(rows * SwizzleBytes));
            w.Ins("mad.lo.u32 %sa, %r, " + I(SwizzleBytes) + ", %sa");
            w.Ins("mad.lo.u32 %sa, %chunk, 16, %sa");
        }
    }

    /// <summary>
    /// Prologue (Q and tiles 0..Stages−2 in flight), the first tile's scores and softmax (nothing to overlap yet),
    /// the overlapped loop over the remaining tiles, and the last tile's P·V.
    /// </summary>
    private void EmitWgmmaPrologueAndLoop()
    {
        var w = _w;
        int stages = _gpu.Stages;
        w.Stage("Prologue: Q tile and the first " + I(stages - 1) + " K/V tiles in flight (cp.async, 16 bytes per copy, zero-fill past the end, swizzled)");
        IssuePrologueCopies();

        w.Stage("First tile: wait for Q and tile 0, S = Q*K^T, mask, softmax (no P*V in flight yet)");
        w.Ins("cp.async.wait_group " + I(stages - 2));
        PublishToTensorCores();
        w.Ins("mov.u32 %n, %n_start");
        w.Ins("mov.u32 %read_stage, 0");
        EmitTileStart("%n");
        w.Ins("wgmma.fence.sync.aligned");
        IssueScores();
        w.Ins("wgmma.commit_group.sync.aligned");
        w.Ins("wgmma.wait_group.sync.aligned 0");
        EmitScoreModifier();
        EmitBoundaryMask("%s", "_FIRST");
        EmitOnlineSoftmax("%s", "_FIRST");
        EmitProbabilitiesToFragments();
        AdvanceWgmmaStages();

        w.Stage("Main loop over the remaining kept KV tiles: S(n) and P(n-1)*V(n-1) on the tensor cores while softmax(n) runs");
        w.Ins("setp.ge.s32 %p_more, %n, %n_end");
        w.Ins("@%p_more bra KV_LOOP_END");
        w.Ins("mov.u32 %write_stage, " + I((stages - 1) % stages));
        w.Label("KV_LOOP");
        w.Comment("tile n has landed (Stages-3 newer groups may still be in flight); the barrier also proves every thread finished P(n-2)*V(n-2), whose stage the prefetch reuses");
        w.Ins("cp.async.wait_group " + I(stages - 3));
        PublishToTensorCores();
        EmitPrefetch(stages - 2, string.Empty);
        EmitTileStart("%n");
        w.Ins("wgmma.fence.sync.aligned");
        IssueScores();
        w.Ins("wgmma.commit_group.sync.aligned");
        IssuePv();
        w.Ins("wgmma.commit_group.sync.aligned");
        w.Comment("S(n) is ready once all but the newest group (P*V) completed");
        w.Ins("wgmma.wait_group.sync.aligned 1");
        EmitScoreModifier();
        EmitBoundaryMask();
        EmitOnlineSoftmax(rescaleO: false);
        w.Comment("P(n-1)*V(n-1) done: O may be rescaled and P's registers rewritten");
        w.Ins("wgmma.wait_group.sync.aligned 0");
        EmitRescaleO(string.Empty);
        EmitProbabilitiesToFragments();
        AdvanceWgmmaStages();
        using (w.Scope())
        {
            w.Ins(".reg .pred %wrap");
            StepRingStage("%write_stage");
        }

        w.Ins("setp.lt.s32 %p_more, %n, %n_end");
        w.Ins("@%p_more bra KV_LOOP");
        w.Label("KV_LOOP_END");
        w.Stage("Last tile's O += P*V");
        w.Ins("wgmma.fence.sync.aligned");
        IssuePv();
        w.Ins("wgmma.commit_group.sync.aligned");
        w.Ins("wgmma.wait_group.sync.aligned 0");
    }

    /// <summary>
    /// Makes this thread's completed cp.async writes visible to the tensor cores (the async proxy), then the barrier
    /// makes every thread's writes visible to all.
    /// </summary>
    private void PublishToTensorCores()
    {
        _w.Ins("fence.proxy.async.shared::cta");
        _w.Ins("bar.sync 0");
    }

    /// <summary>n += 1; the V stage becomes the stage just used for K (its P·V runs next iteration); the read stage advances.</summary>
    private void AdvanceWgmmaStages()
    {
        var w = _w;
        using (w.Scope())
        {
            w.Ins(".reg .pred %wrap");
            w.Ins("add.s32 %n, %n, 1");
            w.Ins("mov.u32 %v_stage, %read_stage");
            StepRingStage("%read_stage");
        }
    }

    /// <summary>
    /// S (this warpgroup's 64 rows × BlockKV) = Q·K(read stage)ᵀ: D/16 wgmma m64nBkvk16, both operands K-major from
    /// shared memory. k-step kc reads column block kc/4 at byte (kc mod 4)·32 of each 128-byte row.
    /// </summary>
    private void IssueScores()
    {
        var w = _w;
        w.Stage(System.FormattableString.Invariant($"S = Q * K^T: {D / 16} x wgmma.m64n{Bkv}k16 per warpgroup (Q and K from swizzled shared memory)"));
        using (w.Scope())
        {
            w.Ins(".reg .b64 %qd, %kd, %off");
            w.Ins("mul.wide.u32 %off, %read_stage, " + I(Smem.KStageBytes >> 4));
            w.Ins("add.u64 %k_desc, %k_desc0, %off");
            for (int kc = 0; kc < D / 16; kc++)
            {
                int qOffset = ((kc / 4) * _gpu.BlockQ * SwizzleBytes) + ((kc % 4) * 32);
                int kOffset = ((kc / 4) * Bkv * SwizzleBytes) + ((kc % 4) * 32);
                w.Ins("add.u64 %qd, %q_desc, " + I(qOffset >> 4));
                w.Ins("add.u64 %kd, %k_desc, " + I(kOffset >> 4));
                w.Ins("wgmma.mma_async.sync.aligned.m64n" + I(Bkv) + "k16.f32." + In16 + "." + In16 + " "
                      + List("%s", 0, Bkv / 2) + ", %qd, %kd, " + (kc == 0 ? "%p_over" : "%p_acc") + ", 1, 1, 0, 0");
            }
        }
    }

    /// <summary>
    /// O (64 rows × Dv) += P·V(v stage): BlockKV/16 wgmma m64nDvk16, P's A fragments from registers (the layout the
    /// softmax left them in), V as the transposed (MN-major) B operand; key step kc starts 16 rows = 2048 bytes further.
    /// </summary>
    private void IssuePv()
    {
        var w = _w;
        w.Stage(System.FormattableString.Invariant($"O += P * V: {Bkv / 16} x wgmma.m64n{Dv}k16 per warpgroup (P from registers, V transposed from swizzled shared memory)"));
        using (w.Scope())
        {
            w.Ins(".reg .b64 %vd, %off");
            w.Ins("mul.wide.u32 %off, %v_stage, " + I(Smem.VStageBytes >> 4));
            w.Ins("add.u64 %v_desc, %v_desc0, %off");
            for (int kc = 0; kc < Bkv / 16; kc++)
            {
                w.Ins("add.u64 %vd, %v_desc, " + I((kc * 16 * SwizzleBytes) >> 4));
                w.Ins("wgmma.mma_async.sync.aligned.m64n" + I(Dv) + "k16.f32." + In16 + "." + In16 + " "
                      + List("%o", 0, Dv / 2) + ", " + List("%pa", 4 * kc, 4) + ", %vd, %p_acc, 1, 1, 1");
            }
        }
    }
}
