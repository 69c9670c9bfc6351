using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

internal sealed partial class FlashForwardPtx
{
    /// <summary>
    /// One iteration per kept KV tile n: wait for tile n, prefetch tile n+Stages−1 into the stage freed by
    /// tile n−1, then S = Q·Kᵀ, the element mask on boundary tiles, the online-softmax step and O += P·V.
    /// One barrier per iteration: it publishes tile n's copies and proves every warp is done with tile n−1.
    /// </summary>
    private void EmitMainLoop()
    {
        var w = _w;
        int stages = _gpu.Stages;
        w.Stage("Main loop over the kept KV tiles");
        w.Ins("mov.u32 %n, %n_start");
        w.Ins("mov.u32 %read_stage, 0");
        w.Ins("mov.u32 %write_stage, " + I(stages - 1));
        w.Label("KV_LOOP");
        w.Comment("tile n has landed in shared memory (at most Stages-2 newer groups still in flight)");
        w.Ins("cp.async.wait_group " + I(stages - 2));
        w.Ins("bar.sync 0");
        EmitPrefetch(stages - 1, string.Empty);
        EmitTileStart("%n");
        w.Ins("mad.lo.u32 %k_cur, %read_stage, " + I(Smem.KStageBytes) + ", %k_ring");
        w.Ins("add.u32 %k_cur, %k_cur, %k_ld");
        w.Ins("mad.lo.u32 %v_cur, %read_stage, " + I(Smem.VStageBytes) + ", %v_ring");
        w.Ins("add.u32 %v_cur, %v_cur, %v_ld");
        EmitScores();
        EmitScoreModifier();
        EmitBoundaryMask();
        EmitOnlineSoftmax();
        EmitProbabilitiesToFragments();
        EmitPv();
        EmitAdvance();
        w.Ins("setp.lt.s32 %p_more, %n, %n_end");
        w.Ins("@%p_more bra KV_LOOP");
    }

    /// <summary>Prefetches tile n + <paramref name="distance"/> into the write stage; always commits a group (empty past the end).</summary>
    private void EmitPrefetch(int distance, string tag)
    {
        var w = _w;
        using (w.Scope())
        {
            w.Comment("prefetch tile n + " + I(distance) + " into the stage freed by the barrier (an empty group when past the end)");
            w.Ins(".reg .pred %skip");
            w.Ins(".reg .b32 %tile, %k_dst, %v_dst");
            w.Ins("add.s32 %tile, %n, " + I(distance));
            w.Ins("setp.ge.s32 %skip, %tile, %n_end");
            w.Ins("@%skip bra PREFETCH_SKIP" + tag);
            EmitTileStart("%tile");
            w.Ins("mad.lo.u32 %k_dst, %write_stage, " + I(Smem.KStageBytes) + ", %k_ring");
            w.Ins("mad.lo.u32 %v_dst, %write_stage, " + I(Smem.VStageBytes) + ", %v_ring");
            LoadKvTile("%k_dst", "%v_dst");
            w.Label("PREFETCH_SKIP" + tag);
            w.Ins("cp.async.commit_group");
        }
    }

    /// <summary>n += 1; read and write stages advance around the ring.</summary>
    private void EmitAdvance()
    {
        var w = _w;
        w.Stage("Next tile: advance n and the ring stages");
        using (w.Scope())
        {
            w.Ins(".reg .pred %wrap");
            w.Ins("add.s32 %n, %n, 1");
            StepRingStage("%read_stage");
            StepRingStage("%write_stage");
        }
    }

    /// <summary>stage = (stage + 1) mod Stages, branch-free; the enclosing scope declares the predicate %wrap.</summary>
    private void StepRingStage(string stage)
    {
        _w.Ins("add.u32 " + stage + ", " + stage + ", 1");
        _w.Ins("setp.eq.u32 %wrap, " + stage + ", " + I(_gpu.Stages));
        _w.Ins("selp.b32 " + stage + ", 0, " + stage + ", %wrap");
    }

    /// <summary>
    /// S (16 × BlockKV per warp) = Q·Kᵀ with mma m16n8k16: for each 16-wide head-dim step, one ldmatrix.x4 of K
    /// gives the B fragments of two 8-key column tiles.
    /// </summary>
    private void EmitScores(string acc = "%s", string kStage = "%k_cur")
    {
        var w = _w;
        w.Stage(System.FormattableString.Invariant($"S = Q * K^T: {D / 16} head-dim steps x {Bkv / 8} key tiles x {Slabs} slab(s) of mma.m16n8k16 per warp"));
        for (int ms = 0; ms < Slabs; ms++)
        {
            for (int i = 0; i < Bkv / 2; i++)
            {
                w.Ins("mov.f32 " + Slab(acc, ms) + I(i) + ", " + Zero);
            }
        }

        for (int kc = 0; kc < D / 16; kc++)
        {
            using (w.Scope())
            {
                var a = new string[Slabs];
                w.Ins(".reg .b32 %a<" + I(4 * Slabs) + ">");
                for (int ms = 0; ms < Slabs; ms++)
                {
                    a[ms] = List("%a", 4 * ms, 4);
                    w.Ins("ldmatrix.sync.aligned.m8n8.x4.shared.b16 " + a[ms] + ", [%q_ld+" + I((ms * 16 * Smem.QPitchBytes) + (kc * 32)) + "]");
                }

                w.Ins(".reg .b32 %b<4>");
                for (int np = 0; np < Bkv / 16; np++)
                {
                    w.Ins("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%b0, %b1, %b2, %b3}, [" + kStage + "+" + I((np * 16 * Smem.KPitchBytes) + (kc * 32)) + "]");
                    for (int ms = 0; ms < Slabs; ms++)
                    {
                        Mma(List(Slab(acc, ms), 4 * (2 * np), 4), a[ms], "{%b0, %b1}");
                        Mma(List(Slab(acc, ms), 4 * ((2 * np) + 1), 4), a[ms], "{%b2, %b3}");
                    }
                }
            }
        }
    }

    /// <summary>
    /// O (16 × Dv per slab) += P·V: P's A fragments come from registers; ldmatrix.x4.trans of V gives the B
    /// fragments of two 8-column output tiles per 16-key step, shared by all slabs of the warp.
    /// </summary>
    private void EmitPv()
    {
        var w = _w;
        w.Stage(System.FormattableString.Invariant($"O += P * V: {Bkv / 16} key steps x {Dv / 8} output tiles x {Slabs} slab(s) of mma.m16n8k16 per warp (V via ldmatrix.trans)"));
        using (w.Scope())
        {
            w.Ins(".reg .b32 %b<4>");
            for (int kc = 0; kc < Bkv / 16; kc++)
            {
                for (int dp = 0; dp < Dv / 16; dp++)
                {
                    w.Ins("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%b0, %b1, %b2, %b3}, [%v_cur+" + I((kc * 16 * Smem.VPitchBytes) + (dp * 32)) + "]");
                    for (int ms = 0; ms < Slabs; ms++)
                    {
                        string a = List(Slab("%pa", ms), 4 * kc, 4);
                        Mma(List(Slab("%o", ms), 4 * (2 * dp), 4), a, "{%b0, %b1}");
                        Mma(List(Slab("%o", ms), 4 * ((2 * dp) + 1), 4), a, "{%b2, %b3}");
                    }
                }
            }
        }
    }

    /// <summary>D = A·B + D on tensor cores, fp32 accumulate.</summary>
    private void Mma(string d, string a, string b) =>
        _w.Ins("mma.sync.aligned.m16n8k16.row.col.f32." + In16 + "." + In16 + ".f32 " + d + ", " + a + ", " + b + ", " + d);
}
