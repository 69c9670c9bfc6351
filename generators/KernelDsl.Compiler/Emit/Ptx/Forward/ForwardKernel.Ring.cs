using KernelDsl.Compiler.Emit.Ptx.Construction;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

/// <summary>
/// The cp.async ring: Q once, then K/V tiles into Stages shared-memory stages, one commit group per tile (an empty group
/// past the end, so the group count per iteration is constant and a wait_group depth means the same tile everywhere).
/// </summary>
internal abstract partial class ForwardKernel
{
    /// <summary>
    /// Q (one commit group) and the first Stages−1 kept K/V tiles (one group each, empty past the end) into stages
    /// 0..Stages−2: the copies every family's prologue starts with.
    /// </summary>
    protected void IssuePrologueCopies()
    {
        var w = W;
        Copies.CpAsyncTile(w, "Q", new GlobalTile(R.QBase, R.QStride, Shape.Element), R.Q0, R.SeqQ, Family.QLayout, R.QTile, Gpu.BlockQ, Shape.D, Shape.Threads, R.Thread);
        Copies.Commit(w);
        for (int stage = 0; stage < Gpu.Stages - 1; stage++)
        {
            using (w.Scope())
            {
                var skip = w.Declare1(RegKind.Pred, "skip");
                var r = w.Declare(RegKind.B32, "tile", "k_dst", "v_dst");
                var (tile, kDst, vDst) = (r[0], r[1], r[2]);
                w.Add(S32, tile, R.NStart, stage);
                w.Setp(Cmp.Ge, S32, skip, tile, R.NEnd);
                var skipped = w.NewLabel("PROLOGUE_SKIP_" + I(stage));
                w.BranchIf(skip, skipped);
                EmitTileStart(tile);
                w.Add(U32, kDst, R.KRing, stage * Gpu.Smem.KStageBytes);
                w.Add(U32, vDst, R.VRing, stage * Gpu.Smem.VStageBytes);
                LoadKvTile(kDst, vDst);
                w.Place(skipped);
                Copies.Commit(w);
            }
        }
    }

    /// <summary>Prefetches tile n + <paramref name="distance"/> into the write stage; always commits a group (empty past the end).</summary>
    protected void EmitPrefetch(int distance)
    {
        var w = W;
        using (w.Scope())
        {
            w.Comment("prefetch tile n + " + I(distance) + " into the stage freed by the barrier (an empty group when past the end)");
            var skip = w.Declare1(RegKind.Pred, "skip");
            var r = w.Declare(RegKind.B32, "tile", "k_dst", "v_dst");
            var (tile, kDst, vDst) = (r[0], r[1], r[2]);
            w.Add(S32, tile, R.N, distance);
            w.Setp(Cmp.Ge, S32, skip, tile, R.NEnd);
            var skipped = w.NewLabel("PREFETCH_SKIP");
            w.BranchIf(skip, skipped);
            EmitTileStart(tile);
            w.MadLo(U32, kDst, R.WriteStage, Gpu.Smem.KStageBytes, R.KRing);
            w.MadLo(U32, vDst, R.WriteStage, Gpu.Smem.VStageBytes, R.VRing);
            LoadKvTile(kDst, vDst);
            w.Place(skipped);
            Copies.Commit(w);
        }
    }

    /// <summary>The K and V tile starting at key kv0 into the given shared-memory stage addresses.</summary>
    private void LoadKvTile(Reg kDst, Reg vDst)
    {
        Copies.CpAsyncTile(W, "K", new GlobalTile(R.KBase, R.KStride, Shape.Element), R.Kv0, R.SeqKv, Family.KLayout, kDst, Shape.BlockKV, Shape.D, Shape.Threads, R.Thread);
        Copies.CpAsyncTile(W, "V", new GlobalTile(R.VBase, R.VStride, Shape.Element), R.Kv0, R.SeqKv, Family.VLayout, vDst, Shape.BlockKV, Shape.Dv, Shape.Threads, R.Thread);
    }

    /// <summary>The loop starts at the first kept tile, reading stage 0.</summary>
    protected void StartLoop()
    {
        W.Mov(U32, R.N, R.NStart);
        W.Mov(U32, R.ReadStage, 0);
    }

    /// <summary>The stage the first prefetch writes.</summary>
    protected void SetWriteStage(int stage) => W.Mov(U32, R.WriteStage, stage);

    /// <summary>Branches back to <paramref name="label"/> while tiles remain (n &lt; n_end).</summary>
    protected void LoopWhileTilesRemain(PtxLabel label)
    {
        W.Setp(Cmp.Lt, S32, R.More, R.N, R.NEnd);
        W.BranchIf(R.More, label);
    }

    /// <summary>Branches to <paramref name="label"/> when no tile remains (n ≥ n_end).</summary>
    protected void SkipWhenNoTileRemains(PtxLabel label)
    {
        W.Setp(Cmp.Ge, S32, R.More, R.N, R.NEnd);
        W.BranchIf(R.More, label);
    }

    /// <summary>n += 1; then <paramref name="between"/> (if any); then the stages named advance around the ring (the pipeline decides which).</summary>
    protected void AdvanceTile(System.Action? between, params Reg[] stages)
    {
        var w = W;
        using (w.Scope())
        {
            var wrap = w.Declare1(RegKind.Pred, "wrap");
            w.Add(S32, R.N, R.N, 1);
            between?.Invoke();
            foreach (var stage in stages)
            {
                StepRingStage(stage, wrap);
            }
        }
    }

    /// <summary>stage = (stage + 1) mod Stages, branch-free.</summary>
    protected void StepRingStage(Reg stage, Reg wrap)
    {
        W.Add(U32, stage, stage, 1);
        W.Setp(Cmp.Eq, U32, wrap, stage, Gpu.Stages);
        W.Selp(B32, stage, 0, stage, wrap);
    }

    /// <summary>A ring stage advanced alone, in its own scope.</summary>
    protected void StepRingStage(Reg stage)
    {
        using (W.Scope())
        {
            StepRingStage(stage, W.Declare1(RegKind.Pred, "wrap"));
        }
    }
}
