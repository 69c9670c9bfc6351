using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

internal sealed partial class FlashForwardPtx
{
    /// <summary>
    /// Starts the pipeline: the Q tile and the first Stages−1 K/V tiles are put in flight (one commit group
    /// each, Q with the first), then Q's group is awaited.
    /// </summary>
    private void EmitPrologue()
    {
        var w = _w;
        w.Stage("Prologue: Q tile and the first K/V tiles in flight (cp.async, 16 bytes per copy, zero-fill past the end)");
        IssuePrologueCopies();

        w.Comment("wait for the Q group (the K/V groups after it may still be in flight)");
        w.Ins("cp.async.wait_group " + I(_gpu.Stages - 1));
        w.Ins("bar.sync 0");
    }

    /// <summary>
    /// Q (one commit group) and the first Stages−1 kept K/V tiles (one group each, empty past the end) into stages
    /// 0..Stages−2: the copies both families' prologues start with.
    /// </summary>
    private void IssuePrologueCopies()
    {
        var w = _w;
        LoadTile("Q", "%q_base", "%q_ss", "%q0", "%seq_q", "%q_tile", _gpu.BlockQ, D, Smem.QPitchBytes);
        w.Ins("cp.async.commit_group");
        for (int stage = 0; stage < _gpu.Stages - 1; stage++)
        {
            using (w.Scope())
            {
                w.Ins(".reg .pred %skip");
                w.Ins(".reg .b32 %tile, %k_dst, %v_dst");
                w.Ins("add.s32 %tile, %n_start, " + I(stage));
                w.Ins("setp.ge.s32 %skip, %tile, %n_end");
                w.Ins("@%skip bra PROLOGUE_SKIP_" + I(stage));
                EmitTileStart("%tile");
                w.Ins("add.u32 %k_dst, %k_ring, " + I(stage * Smem.KStageBytes));
                w.Ins("add.u32 %v_dst, %v_ring, " + I(stage * Smem.VStageBytes));
                LoadKvTile("%k_dst", "%v_dst");
                w.Label("PROLOGUE_SKIP_" + I(stage));
                w.Ins("cp.async.commit_group");
            }
        }
    }

    /// <summary>The K and V tile starting at key %kv0 into the given shared-memory stage addresses.</summary>
    private void LoadKvTile(string kDst, string vDst)
    {
        LoadTile("K", "%k_base", "%k_ss", "%kv0", "%seq_kv", kDst, Bkv, D, Smem.KPitchBytes);
        LoadTile("V", "%v_base", "%v_ss", "%kv0", "%seq_kv", vDst, Bkv, Dv, Smem.VPitchBytes);
    }

    /// <summary>
    /// rows × width 16-bit elements from global (row r at base + (first + r)·seqStride) into a padded shared
    /// tile (Hopper family: a 128-byte-swizzled tile, see <see cref="SwizzledAddress"/>), as 16-byte cp.async.cg copies spread over all threads. Rows at or past <paramref name="limit"/>
    /// are zero-filled (src-size 0, address clamped to the tile's first row, which is always in range).
    /// </summary>
    private void LoadTile(string what, string baseReg, string strideReg, string firstRow, string limit, string smemDst, int rows, int width, int pitch)
    {
        var w = _w;
        int chunksPerRow = width / 8;
        int chunks = rows * chunksPerRow;
        int perThread = (chunks + Threads - 1) / Threads;
        bool regular = Threads % chunksPerRow == 0;
        w.Comment(System.FormattableString.Invariant($"load {what} tile: {rows} rows x {width} elements = {chunks} x 16-byte copies, {perThread} per thread"));
        using (w.Scope())
        {
            w.Ins(".reg .b32 %lr, %lc, %r, %row, %sa, %src, %c");
            w.Ins(".reg .b64 %ga, %cb");
            w.Ins(".reg .pred %ok, %in");
            w.Ins("div.u32 %lr, %thr, " + I(chunksPerRow));
            w.Ins("rem.u32 %lc, %thr, " + I(chunksPerRow));
            for (int i = 0; i < perThread; i++)
            {
                bool guarded = (i + 1) * Threads > chunks;
                if (regular)
                {
                    w.Ins("add.u32 %r, %lr, " + I(i * Threads / chunksPerRow));
                }
                else
                {
                    w.Ins("add.u32 %c, %thr, " + I(i * Threads));
                    w.Ins("div.u32 %r, %c, " + I(chunksPerRow));
                    w.Ins("rem.u32 %lc, %c, " + I(chunksPerRow));
                }

                if (guarded)
                {
                    w.Ins("setp.lt.u32 %in, %r, " + I(rows));
                }

                w.Ins("mul.wide.u32 %cb, %lc, 16");
                w.Ins("add.s32 %row, " + firstRow + ", %r");
                w.Ins("setp.lt.s32 %ok, %row, " + limit);
                w.Ins("selp.b32 %src, 16, 0, %ok");
                w.Ins("selp.b32 %row, %row, " + firstRow + ", %ok");
                w.Ins("cvt.u64.u32 %ga, %row");
                w.Ins("mad.lo.u64 %ga, %ga, " + strideReg + ", " + baseReg);
                w.Ins("add.u64 %ga, %ga, %cb");
                if (Wgmma)
                {
                    SwizzledAddress(rows);
                    w.Ins("add.u32 %sa, %sa, " + smemDst);
                }
                else
                {
                    w.Ins("mad.lo.u32 %sa, %r, " + I(pitch) + ", " + smemDst);
                    w.Ins("mad.lo.u32 %sa, %lc, 16, %sa");
                }
                w.Ins((guarded ? "@%in " : string.Empty) + "cp.async.cg.shared.global [%sa], [%ga], 16, %src");
            }
        }
    }
}
