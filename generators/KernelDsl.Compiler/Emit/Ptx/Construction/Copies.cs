using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// Data movement: global → shared tiles with cp.async (16-byte copies spread over the block's threads, zero-fill past
/// the end), their commit groups and waits, the barriers that publish them, and ldmatrix from shared memory into mma
/// fragments. TMA would be one more method here (a descriptor copy issued by one thread per tile).
/// </summary>
internal static class Copies
{
    /// <summary>
    /// rows × width elements from global (row r at <paramref name="source"/>'s row firstRow + r) into a shared tile
    /// laid out as <paramref name="layout"/> at address <paramref name="tile"/>, as 16-byte cp.async.cg copies: thread
    /// t copies chunks t, t + threads, ... Rows at or past <paramref name="limit"/> are zero-filled (src-size 0, the
    /// address clamped to row firstRow, which is always in range).
    /// </summary>
    public static void CpAsyncTile(PtxWriter w, string what, GlobalTile source, Reg firstRow, Reg limit, SharedTile layout, Reg tile,
        int rows, int width, int threads, Reg thread)
    {
        int chunksPerRow = width / source.Element.PerCopy;
        int chunks = rows * chunksPerRow;
        int perThread = (chunks + threads - 1) / threads;
        bool regular = threads % chunksPerRow == 0;
        w.Comment(System.FormattableString.Invariant($"load {what} tile: {rows} rows x {width} elements = {chunks} x 16-byte copies, {perThread} per thread"));
        using (w.Scope())
        {
            var b32 = w.Declare(RegKind.B32, "lr", "lc", "r", "row", "sa", "src", "c");
            var (lr, lc, r, row, sa, src, c) = (b32[0], b32[1], b32[2], b32[3], b32[4], b32[5], b32[6]);
            var b64 = w.Declare(RegKind.B64, "ga", "cb");
            var (ga, cb) = (b64[0], b64[1]);
            var preds = w.Declare(RegKind.Pred, "ok", "in");
            var (ok, inTile) = (preds[0], preds[1]);
            w.Ins("div.u32 " + lr + ", " + thread + ", " + I(chunksPerRow));
            w.Ins("rem.u32 " + lc + ", " + thread + ", " + I(chunksPerRow));
            for (int i = 0; i < perThread; i++)
            {
                bool guarded = (i + 1) * threads > chunks;
                if (regular)
                {
                    w.Ins("add.u32 " + r + ", " + lr + ", " + I(i * threads / chunksPerRow));
                }
                else
                {
                    w.Ins("add.u32 " + c + ", " + thread + ", " + I(i * threads));
                    w.Ins("div.u32 " + r + ", " + c + ", " + I(chunksPerRow));
                    w.Ins("rem.u32 " + lc + ", " + c + ", " + I(chunksPerRow));
                }

                if (guarded)
                {
                    w.Ins("setp.lt.u32 " + inTile + ", " + r + ", " + I(rows));
                }

                w.Ins("mul.wide.u32 " + cb + ", " + lc + ", " + I(ElementTraits.CopyBytes));
                w.Ins("add.s32 " + row + ", " + firstRow + ", " + r);
                w.Ins("setp.lt.s32 " + ok + ", " + row + ", " + limit);
                w.Ins("selp.b32 " + src + ", " + I(ElementTraits.CopyBytes) + ", 0, " + ok);
                w.Ins("selp.b32 " + row + ", " + row + ", " + firstRow + ", " + ok);
                source.RowAddress(w, ga, row);
                w.Ins("add.u64 " + ga + ", " + ga + ", " + cb);
                layout.ChunkAddress(w, sa, r, lc, tile);
                w.Ins((guarded ? "@" + inTile + " " : string.Empty) + "cp.async.cg.shared.global [" + sa + "], [" + ga + "], " + I(ElementTraits.CopyBytes) + ", " + src);
            }
        }
    }

    /// <summary>
    /// One 4-byte value global → shared (<c>cp.async.ca</c>), in the current commit group; <paramref name="sourceBytes"/> is 4,
    /// or 0 to write zero without reading (a row past the end).
    /// </summary>
    public static void CpAsyncWord(PtxWriter w, Reg shared, Reg global, Reg sourceBytes) =>
        w.Ins("cp.async.ca.shared.global [" + shared + "], [" + global + "], 4, " + sourceBytes);

    /// <summary>Closes the current cp.async group.</summary>
    public static void Commit(PtxWriter w) => w.Ins("cp.async.commit_group");

    /// <summary>Waits until at most <paramref name="pending"/> of this thread's newest groups are still in flight.</summary>
    public static void Wait(PtxWriter w, int pending) => w.Ins("cp.async.wait_group " + I(pending));

    /// <summary>The block-wide barrier: every thread's completed copies visible to all, every thread past its reads.</summary>
    public static void Barrier(PtxWriter w) => w.Ins("bar.sync 0");

    /// <summary>Four 8x8 16-bit matrices from shared memory (each lane gives one row address) into four registers per lane.</summary>
    public static void Ldmatrix4(PtxWriter w, string destination, Reg address, int offset, bool transpose = false) =>
        w.Ins("ldmatrix.sync.aligned.m8n8.x4" + (transpose ? ".trans" : string.Empty) + ".shared.b16 " + destination + ", [" + address + "+" + I(offset) + "]");
}
