using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

internal sealed partial class FlashForwardPtx
{
    /// <summary>
    /// The main loop with S of the next tile computed while this tile's softmax runs (plan.OverlapScores).
    /// Two score register sets (%s, %sx) alternate, so the loop is unrolled twice. In iteration n: tile n+1 is
    /// awaited and published, tile n+2 is prefetched (3-stage ring), tile n's scores get their element mask, then
    /// S(n+1) = Q·K(n+1)ᵀ is issued to the tensor cores in the same basic block as tile n's softmax, so the
    /// scheduler interleaves them, and O += P(n)·V(n) follows. The last iteration computes an S that nobody reads
    /// (from a stale stage): one wasted Q·Kᵀ per block, traded for a branch-free block.
    /// </summary>
    private void EmitOverlappedMainLoop()
    {
        var w = _w;
        w.Stage("Main loop over the kept KV tiles, S(n+1) overlapped with softmax(n); unrolled x2 (%s/%sx alternate)");
        w.Ins("mov.u32 %n, %n_start");
        w.Ins("mov.u32 %read_stage, 0");
        w.Ins("mov.u32 %write_stage, " + I(_gpu.Stages - 1));
        w.Label("KV_LOOP");
        OverlappedIteration("%s", "%sx", "_A");
        w.Ins("setp.lt.s32 %p_more, %n, %n_end");
        w.Ins("@!%p_more bra KV_LOOP_END");
        OverlappedIteration("%sx", "%s", "_B");
        w.Ins("setp.lt.s32 %p_more, %n, %n_end");
        w.Ins("@%p_more bra KV_LOOP");
        w.Label("KV_LOOP_END");
    }

    private void OverlappedIteration(string current, string next, string tag)
    {
        var w = _w;
        w.Stage("Tile n (scores in " + current + "), next scores into " + next);
        w.Comment("tile n+1 has landed; the barrier also proves every warp is done with tile n-1's stage");
        w.Ins("cp.async.wait_group 0");
        w.Ins("bar.sync 0");
        EmitPrefetch(_gpu.Stages - 1, tag);
        EmitTileStart("%n");
        EmitScoreModifier(current);
        EmitBoundaryMask(current, tag);
        using (w.Scope())
        {
            w.Ins(".reg .b32 %next_stage");
            w.Ins(".reg .pred %wrap");
            w.Ins("add.u32 %next_stage, %read_stage, 1");
            w.Ins("setp.eq.u32 %wrap, %next_stage, " + I(_gpu.Stages));
            w.Ins("selp.b32 %next_stage, 0, %next_stage, %wrap");
            w.Ins("mad.lo.u32 %k_cur, %next_stage, " + I(Smem.KStageBytes) + ", %k_ring");
            w.Ins("add.u32 %k_cur, %k_cur, %k_ld");
        }

        w.Ins("mad.lo.u32 %v_cur, %read_stage, " + I(Smem.VStageBytes) + ", %v_ring");
        w.Ins("add.u32 %v_cur, %v_cur, %v_ld");
        EmitScores(next, "%k_cur");
        EmitOnlineSoftmax(current, tag);
        EmitProbabilitiesToFragments(current);
        EmitPv();
        EmitAdvance();
    }
}
