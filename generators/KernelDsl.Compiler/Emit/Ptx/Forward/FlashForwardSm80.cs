using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

/// <summary>
/// The FlashAttention-2 forward kernel on the sm_80 family (mma.sync, ldmatrix, cp.async): a Stages-deep cp.async ring
/// of K/V tiles, and per kept tile n: wait for it, prefetch tile n+Stages−1 into the stage tile n−1 freed, S = Q·Kᵀ,
/// modifiers and element mask, online softmax, O += P·V. One barrier per iteration publishes tile n's copies and proves
/// every warp is done with tile n−1.
/// </summary>
internal sealed class FlashForwardSm80 : ForwardKernel
{
    public FlashForwardSm80(KernelPlan plan, GpuKernelPlan gpu, IMatmulFamily family)
        : base(plan, gpu, family)
    {
    }

    protected override void EmitPipeline()
    {
        var w = W;
        int stages = Gpu.Stages;
        w.Stage("Prologue: Q tile and the first K/V tiles in flight (cp.async, 16 bytes per copy, zero-fill past the end)");
        IssuePrologueCopies();
        w.Comment("wait for the Q group (the K/V groups after it may still be in flight)");
        Copies.Wait(w, stages - 1);
        Copies.Barrier(w);

        w.Stage("Main loop over the kept KV tiles");
        StartLoop();
        SetWriteStage(stages - 1);
        var loop = w.NewLabel("KV_LOOP");
        w.Place(loop);
        w.Comment("tile n has landed in shared memory (at most Stages-2 newer groups still in flight)");
        Copies.Wait(w, stages - 2);
        Copies.Barrier(w);
        EmitPrefetch(stages - 1);
        EmitTileStart(R.N);
        Family.SelectStage(w, R.ReadStage);
        Family.Scores(w, R.S, R.ReadStage);
        EmitScoreModifier();
        EmitElementMask();
        EmitOnlineSoftmax();
        EmitRescaleO();
        EmitProbabilitiesToFragments();
        Family.AccumulatePv(w, R.O, R.P, R.ReadStage);
        w.Stage("Next tile: advance n and the ring stages");
        AdvanceTile(null, R.ReadStage, R.WriteStage);
        LoopWhileTilesRemain(loop);
    }
}
