using System;
using KernelDsl.Compiler.Emit.Ptx.Construction;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Backward;

/// <summary>
/// The loop skeleton both matmul kernels share: two resident tiles per block (K and V for dK/dV, Q and dO for dQ) with
/// one A operand each per warp, and a two-stage cp.async ring of streamed items (query tiles, or K/V tiles) around a
/// body the kernel supplies. The kernels differ in what they keep and what they stream, not in how.
/// </summary>
internal abstract partial class BackwardKernel
{
    /// <summary>This thread's two rows, their kept column bounds [lo, hi] and the bounds relative to a tile (<see cref="EmitRelativeBounds"/>).</summary>
    protected sealed record RowBounds(Reg[] Rows, Reg[] Lo, Reg[] Hi, Reg[] RelLo, Reg[] RelHi);

    /// <summary>The resident tiles' shared addresses, the ring's, and each lane's ldmatrix offsets into D-wide and Dv-wide tiles.</summary>
    protected sealed record ResidentTiles(Reg First, Reg Second, Reg Ring, Reg LaneDHi, Reg LaneDMid, Reg LaneDvHi);

    /// <summary>Declares the row index registers (named <paramref name="rowName"/>) and their band bounds, two of each.</summary>
    protected RowBounds DeclareRowBounds(string rowName)
    {
        var a = W.DeclareArrays(RegKind.B32, 2, rowName, "lo", "hi", "rel_lo", "rel_hi");
        return new RowBounds(Pair(a[0]), Pair(a[1]), Pair(a[2]), Pair(a[3]), Pair(a[4]));

        static Reg[] Pair(RegArray r) => new[] { r[0], r[1] };
    }

    /// <summary>This thread's two rows of the block starting at <paramref name="first"/>: first + 16·warp + g and 8 further (the mma C layout).</summary>
    protected void EmitThreadRows(Reg first, Reg[] rows)
    {
        var w = W;
        w.MadLo(U32, rows[0], Warp, 16, first);
        w.Add(U32, rows[0], rows[0], G);
        w.Add(U32, rows[1], rows[0], 8);
    }

    /// <summary>
    /// Shared-memory setup: the first resident tile (D wide) at 0, the second (Dv wide) after it, then the ring; each lane's
    /// ldmatrix offsets; and this warp's 16 rows of each resident tile as A operands (<paramref name="firstA"/>,
    /// <paramref name="secondA"/>). <paramref name="laneDvMid"/> is kept when the kernel needs it later, else a temporary.
    /// </summary>
    protected void EmitResidentSetup(string first, string second, ResidentTiles tiles, Reg? laneDvMid, Reg firstA, Reg secondA)
    {
        var w = W;
        w.Stage(System.FormattableString.Invariant($"Setup: shared memory ({first} @0, {second} @{Layout.ResidentDvOffset}, ring @{Layout.StreamOffset}, {Layout.StageBytes} bytes per stage) and each lane's ldmatrix offsets"));
        w.Mov(U32, tiles.First, Smem);
        w.Add(U32, tiles.Second, Smem, Layout.ResidentDvOffset);
        w.Add(U32, tiles.Ring, Smem, Layout.StreamOffset);
        MmaSyncProducts.LaneRowsByHi(w, tiles.LaneDHi, Lane, Layout.DPitchBytes);
        MmaSyncProducts.LaneRowsByMid(w, tiles.LaneDMid, Lane, Layout.DPitchBytes);
        MmaSyncProducts.LaneRowsByHi(w, tiles.LaneDvHi, Lane, Layout.DvPitchBytes);
        if (laneDvMid is not null)
        {
            MmaSyncProducts.LaneRowsByMid(w, laneDvMid, Lane, Layout.DvPitchBytes);
        }

        w.Comment("A operands: this warp's 16 rows of " + first + " and " + second);
        w.MadLo(U32, firstA, Warp, 16 * Layout.DPitchBytes, tiles.First);
        w.Add(U32, firstA, firstA, tiles.LaneDMid);
        if (laneDvMid is not null)
        {
            w.MadLo(U32, secondA, Warp, 16 * Layout.DvPitchBytes, tiles.Second);
            w.Add(U32, secondA, secondA, laneDvMid);
            return;
        }

        using (w.Scope())
        {
            var x = w.Declare1(RegKind.B32, "x");
            MmaSyncProducts.LaneRowsByMid(w, x, Lane, Layout.DvPitchBytes);
            w.MadLo(U32, secondA, Warp, 16 * Layout.DvPitchBytes, tiles.Second);
            w.Add(U32, secondA, secondA, x);
        }
    }

    /// <summary>cp.async of <paramref name="rows"/> rows from <paramref name="firstRow"/> (zero-filled at or past <paramref name="limit"/>) into a padded tile D wide, or Dv wide when <paramref name="valueWidth"/>.</summary>
    protected void CopyTile(string what, GlobalTile source, Reg firstRow, Reg limit, Reg destination, int rows, bool valueWidth) =>
        Copies.CpAsyncTile(W, what, source, firstRow, limit, new PaddedTile(valueWidth ? Layout.DvPitchBytes : Layout.DPitchBytes), destination, rows,
            valueWidth ? Dv : D, Gpu.ThreadsPerBlock, Thread);

    /// <summary>
    /// The prologue: both resident tiles (rows [firstRow, firstRow + rows), D then Dv wide) and the first streamed item
    /// (<paramref name="loadFirst"/>, into stage 0) in one commit group.
    /// </summary>
    protected void EmitPrologue(string title, (string Name, GlobalTile Source) first, (string Name, GlobalTile Source) second, Reg firstRow, Reg limit, int rows,
        ResidentTiles tiles, Reg? counter, Reg read, Action loadFirst)
    {
        var w = W;
        w.Stage("Prologue: " + title + " in flight (one commit group)");
        CopyTile(first.Name, first.Source, firstRow, limit, tiles.First, rows, valueWidth: false);
        CopyTile(second.Name, second.Source, firstRow, limit, tiles.Second, rows, valueWidth: true);
        if (counter is not null)
        {
            w.Mov(U32, counter, 0);
        }

        w.Mov(U32, read, 0);
        loadFirst();
        Copies.Commit(w);
    }

    /// <summary>
    /// The main loop over streamed items [counter, end): wait for item counter, barrier, prefetch item counter + 1 into the
    /// other stage (<paramref name="load"/>(index, stage)), run <paramref name="body"/> on stage <paramref name="read"/>, advance.
    /// With <paramref name="skipBlocks"/> "counter + 1" is the next item the block mask keeps (<see cref="EmitAdvanceToKept"/>).
    /// </summary>
    protected void EmitRingLoop(string title, string label, string item, PtxType counterType, Reg counter, Reg end, Reg read, Reg more,
        Action<Reg, Reg> load, Action body, bool skipBlocks = false)
    {
        var w = W;
        w.Stage("Main loop over " + title);
        var top = w.NewLabel(label);
        w.Place(top);
        w.Comment(item + " has landed; the barrier also proves every warp finished " + item + "-1, whose stage the prefetch reuses");
        Copies.Wait(w, 0);
        Copies.Barrier(w);
        using (w.Scope())
        {
            var n = w.Declare(RegKind.B32, "next", "other");
            var (next, other) = (n[0], n[1]);
            var skip = w.Declare1(RegKind.Pred, "skip");
            var skipped = w.NewLabel("PREFETCH_SKIP");
            w.Add(counterType, next, counter, 1);
            if (skipBlocks)
            {
                EmitAdvanceToKept(counterType, next, end);
            }

            w.Setp(Cmp.Ge, counterType, skip, next, end);
            w.BranchIf(skip, skipped);
            w.Xor(B32, other, read, 1);
            load(next, other);
            w.Place(skipped);
            Copies.Commit(w);
        }

        body();
        w.Add(counterType, counter, counter, 1);
        if (skipBlocks)
        {
            EmitAdvanceToKept(counterType, counter, end);
        }

        Flip(read);
        w.Setp(Cmp.Lt, counterType, more, counter, end);
        w.BranchIf(more, top);
    }
}
