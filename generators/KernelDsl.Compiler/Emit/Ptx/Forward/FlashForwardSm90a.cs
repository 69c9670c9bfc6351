using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

/// <summary>
/// The FlashAttention-2 forward kernel on the sm_90a family (wgmma from 128-byte-swizzled shared memory). The loop keeps
/// the tensor cores busy during the softmax: in iteration n, S(n) = Q·K(n)ᵀ and O += P(n−1)·V(n−1) are issued together;
/// the thread waits for S(n) only, runs the mask and the softmax of tile n while P(n−1)·V(n−1) still runs, then waits
/// for it, rescales O and converts P(n). So tiles n−1 (V) and n (K) are resident while tile n+Stages−2 is prefetched:
/// Stages ≥ 3. The first tile has nothing to overlap with, and the last tile's P·V follows the loop.
/// </summary>
internal sealed class FlashForwardSm90a : ForwardKernel
{
    private readonly WgmmaFamily _wgmma;

    public FlashForwardSm90a(KernelPlan plan, GpuKernelPlan gpu, WgmmaFamily family)
        : base(plan, gpu, family) => _wgmma = family;

    protected override void EmitPipeline()
    {
        var w = W;
        int stages = Gpu.Stages;
        w.Stage("Prologue: Q tile and the first " + I(stages - 1) + " K/V tiles in flight (cp.async, 16 bytes per copy, zero-fill past the end, swizzled)");
        IssuePrologueCopies();

        w.Stage("First tile: wait for Q and tile 0, S = Q*K^T, mask, softmax (no P*V in flight yet)");
        Copies.Wait(w, stages - 2);
        WgmmaFamily.PublishCopies(w);
        StartLoop();
        EmitTileStart(R.N);
        WgmmaFamily.Fence(w);
        Family.Scores(w, R.S, R.ReadStage);
        WgmmaFamily.Commit(w);
        WgmmaFamily.Wait(w, 0);
        EmitScoreModifier();
        EmitElementMask("_FIRST");
        EmitOnlineSoftmax();
        EmitRescaleO("_FIRST");
        EmitProbabilitiesToFragments();
        AdvanceToNextTile();

        w.Stage("Main loop over the remaining kept KV tiles: S(n) and P(n-1)*V(n-1) on the tensor cores while softmax(n) runs");
        var (loop, loopEnd) = (w.NewLabel("KV_LOOP"), w.NewLabel("KV_LOOP_END"));
        SkipWhenNoTileRemains(loopEnd);
        SetWriteStage((stages - 1) % stages);
        w.Place(loop);
        w.Comment("tile n has landed (Stages-3 newer groups may still be in flight); the barrier also proves every thread finished P(n-2)*V(n-2), whose stage the prefetch reuses");
        Copies.Wait(w, stages - 3);
        WgmmaFamily.PublishCopies(w);
        EmitPrefetch(stages - 2);
        EmitTileStart(R.N);
        WgmmaFamily.Fence(w);
        Family.Scores(w, R.S, R.ReadStage);
        WgmmaFamily.Commit(w);
        Family.AccumulatePv(w, R.O, R.P, _wgmma.VStage);
        WgmmaFamily.Commit(w);
        w.Comment("S(n) is ready once all but the newest group (P*V) completed");
        WgmmaFamily.Wait(w, 1);
        EmitScoreModifier();
        EmitElementMask();
        EmitOnlineSoftmax();
        w.Comment("P(n-1)*V(n-1) done: O may be rescaled and P's registers rewritten");
        WgmmaFamily.Wait(w, 0);
        EmitRescaleO();
        EmitProbabilitiesToFragments();
        AdvanceToNextTile();
        StepRingStage(R.WriteStage);
        LoopWhileTilesRemain(loop);
        w.Place(loopEnd);

        w.Stage("Last tile's O += P*V");
        WgmmaFamily.Fence(w);
        Family.AccumulatePv(w, R.O, R.P, _wgmma.VStage);
        WgmmaFamily.Commit(w);
        WgmmaFamily.Wait(w, 0);
    }

    /// <summary>n += 1; the V stage becomes the stage just used for K (its P·V runs next iteration); the read stage advances.</summary>
    private void AdvanceToNextTile() => AdvanceTile(() => _wgmma.RememberVStage(W, R.ReadStage), R.ReadStage);
}
