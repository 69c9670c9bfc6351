using System;
using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Decode;

/// <summary>
/// The fused prologue of the DecodeAppend kernel (issue 12, [Fusion(AppendKv = true[, Rotary = …])]): the batch's lengths
/// include the step's new tokens, the last q of each sequence (positions L − q …). In one launch:
/// <list type="bullet">
/// <item>Q is rotated in shared memory once its tile has landed (before the first Q·Kᵀ);</item>
/// <item>the new tokens' K/V rows are loaded from the call's inputs instead of their pages (<see cref="AppendingKvTile"/>),
/// K rotated in shared memory as its tile arrives;</item>
/// <item>the CTA of row block 0 whose split holds a new token writes its rotated K row and its V row from shared memory into
/// the token's page slot.</item>
/// </list>
/// Why the readers take new tokens from the inputs rather than wait for the pages: with split-KV, several CTAs of a sequence
/// run concurrently and the pages are written during the launch; CUDA orders nothing between CTAs of one launch, so a CTA
/// reading a new token's page slot could see it before or after the write. Reading the input is always right, costs the
/// same bytes (the token's row is read once either way), and needs no grid-wide sync. Each new token lies in exactly one
/// split's key range (bottom-right alignment: the band always ends at L), so exactly one CTA (row block 0 of that split)
/// writes it, and no CTA of the launch reads the slots written.
/// </summary>
internal sealed partial class DecodeKernel
{
    private RotaryAngles? _rotary;
    private Reg _newFirst = null!;

    /// <summary>True for the DecodeAppend kind: the fused rotary and KV append.</summary>
    private bool Append => _gpu.Kind == GpuKernelKind.DecodeAppend;

    /// <summary>The spec's rotary, or null (no rotary, or the plain decode kernel).</summary>
    private RotaryAngles? Rotary => Append && _spec.Prologue?.Rotary is not null ? _rotary ??= new RotaryAngles(_spec.Prologue, D) : null;

    /// <summary>The module's extra declarations: the rotary frequency table.</summary>
    private (string Comment, string Declaration)[] AppendModuleDeclarations => Rotary is { } rotary ? new[] { rotary.ModuleDeclaration } : Array.Empty<(string, string)>();

    /// <summary>The one kernel-scope register of the append: the new tokens' first position (the rest is recomputed where used, to keep registers for O).</summary>
    private void DeclareAppendRegisters()
    {
        if (Append)
        {
            _newFirst = _w.Declare1(RegKind.B32, "new_first");
        }
    }

    /// <summary>new_first = L − q: the batch's lengths include the new tokens.</summary>
    private void EmitAppendSetup()
    {
        if (!Append)
        {
            return;
        }

        _w.Stage("Append: the step's new tokens are the last q positions [L - q, L); their K/V rows come from the inputs k_new, v_new");
        _w.Sub(S32, _newFirst, R.KvLen, R.QCount);
    }

    /// <summary>
    /// The K and V row sources of a tile load: the cache's pages and (append) the inputs for the new tokens, whose rows of the
    /// sequence's first new token at this KV head are k_new + (q_first·Hkv + kv_head)·D elements, consecutive tokens Hkv·D
    /// elements apart (V likewise with Dv) — computed here, in the caller's scope, for each tile load.
    /// </summary>
    private (GlobalTile Keys, GlobalTile Values) KvSources()
    {
        var k = new PagedKvTile(R.KBase, R.PageTableRow, R.PageSize, R.KPageStride, R.KSlotStride, _element);
        var v = new PagedKvTile(R.VBase, R.PageTableRow, R.PageSize, R.VPageStride, R.VSlotStride, _element);
        if (!Append)
        {
            return (k, v);
        }

        var w = _w;
        var p = w.Declare(RegKind.B64, "k_new", "v_new", "k_new_row", "v_new_row");
        var index = w.Declare1(RegKind.B32, "tok_head");
        w.MadLo(U32, index, R.QFirst, R.HeadsKv, R.KvHead);
        foreach (var (pointer, rowBytes, parameter, dim) in new[] { (p[0], p[2], "k_new", D), (p[1], p[3], "v_new", Dv) })
        {
            _entry.LoadGlobalPointer(w, pointer, parameter);
            w.MulWide(U32, rowBytes, index, dim * _element.Bytes);
            w.Add(U64, pointer, pointer, rowBytes);
            w.MulWide(U32, rowBytes, R.HeadsKv, dim * _element.Bytes);
        }

        return (new AppendingKvTile(k, _newFirst, p[0], p[2], _element), new AppendingKvTile(v, _newFirst, p[1], p[3], _element));
    }

    /// <summary>
    /// Rotary on Q, after the K/V prologue is in flight: wait for the Q tile only (its group is the oldest), then each thread
    /// rotates pairs of the 16 packed rows in place; packed row r is query r % q, at position L − q + r % q. Padding rows are
    /// zero and stay zero. The main loop's first barrier publishes the result before any ldmatrix of Q.
    /// </summary>
    private void EmitRotateQuery()
    {
        if (Rotary is not { } rotary)
        {
            return;
        }

        var w = _w;
        w.Stage("Rotary on Q: wait for the Q tile (the oldest copy group), rotate its pairs in shared memory at positions L - q + r % q");
        Copies.Wait(w, Stages - 1);
        Copies.Barrier(w);
        using (w.Scope())
        {
            var count = w.Declare1(RegKind.B32, "units");
            w.Mov(U32, count, _gpu.BlockQ * rotary.Pairs);
            ForEachUnit("ROPE_Q", count, u =>
            {
                var t = w.Declare(RegKind.B32, "row", "pair", "r", "pos", "fa", "fb", "sa", "sb");
                var (row, pair, r, pos, fa, fb, sa, sb) = (t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
                w.Div(U32, row, u, rotary.Pairs);
                w.MulLo(U32, pair, row, rotary.Pairs);
                w.Sub(U32, pair, u, pair);
                w.Add(U32, r, R.RowFirst, row);
                w.Rem(U32, pos, r, R.QCount);
                w.Add(U32, pos, pos, _newFirst);
                rotary.PairFeatures(w, fa, fb, pair);
                w.MadLo(U32, sa, row, Smem.QPitchBytes, R.QTile);
                w.MadLo(U32, sb, fb, _element.Bytes, sa);
                w.MadLo(U32, sa, fa, _element.Bytes, sa);
                RotateSharedPair(rotary, sa, sb, pos, pair);
            });
        }
    }

    /// <summary>
    /// In the main loop, after the barrier that publishes tile n: the new tokens among its keys [lo, hi) are rotated in shared
    /// memory (a barrier, so that Q·Kᵀ and the page writes see them), then row block 0 stores their K and V rows into their page
    /// slots (16-byte copies from shared memory). Tiles without new tokens skip all of it (a CTA-uniform branch).
    /// </summary>
    private void EmitAppendTile()
    {
        if (!Append)
        {
            return;
        }

        var w = _w;
        var skip = w.NewLabel("APPEND_DONE");
        w.Stage("Append: this tile's new tokens [lo, hi)" + (Rotary is null ? string.Empty : " rotated in shared memory") + ", row block 0 writes them to their pages");
        using (w.Scope())
        {
            var t = w.Declare(RegKind.B32, "tile_first", "lo", "hi", "n", "units", "k_stage", "v_stage");
            var (tileFirst, lo, hi, n, units, kStage, vStage) = (t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
            var none = w.Declare1(RegKind.Pred, "none");
            w.Shl(B32, tileFirst, R.Tile, TileShift);
            w.Add(U32, tileFirst, tileFirst, R.SplitBegin);
            w.Add(U32, hi, tileFirst, _gpu.BlockKV);
            w.Min(U32, hi, hi, R.SplitEnd);
            w.Max(S32, lo, tileFirst, _newFirst);
            w.Setp(Cmp.Le, S32, none, hi, lo);
            w.BranchIf(none, skip);
            w.Sub(U32, n, hi, lo);
            w.MadLo(U32, kStage, R.ReadStage, Smem.KStageBytes, R.KRing);
            w.MadLo(U32, vStage, R.ReadStage, Smem.VStageBytes, R.VRing);
            if (Rotary is { } rotary)
            {
                w.MulLo(U32, units, n, rotary.Pairs);
                ForEachUnit("ROPE_K", units, u =>
                {
                    var x = w.Declare(RegKind.B32, "key", "pair", "fa", "fb", "sa", "sb");
                    var (key, pair, fa, fb, sa, sb) = (x[0], x[1], x[2], x[3], x[4], x[5]);
                    w.Div(U32, key, u, rotary.Pairs);
                    w.MulLo(U32, pair, key, rotary.Pairs);
                    w.Sub(U32, pair, u, pair);
                    w.Add(U32, key, key, lo);
                    rotary.PairFeatures(w, fa, fb, pair);
                    w.Sub(U32, sa, key, tileFirst);
                    w.MadLo(U32, sa, sa, Smem.KPitchBytes, kStage);
                    w.MadLo(U32, sb, fb, _element.Bytes, sa);
                    w.MadLo(U32, sa, fa, _element.Bytes, sa);
                    RotateSharedPair(rotary, sa, sb, key, pair);
                });
                Copies.Barrier(w);
            }

            w.Comment("row block 0 writes the tokens (every row block of a split holds the same keys)");
            w.Setp(Cmp.Ne, U32, none, R.RowBlock, 0);
            w.BranchIf(none, skip);
            foreach (var (what, stage, pitch, dim, headBase, pageStride, slotStride) in new[]
                     {
                         ("K", kStage, Smem.KPitchBytes, D, R.KBase, R.KPageStride, R.KSlotStride),
                         ("V", vStage, Smem.VPitchBytes, Dv, R.VBase, R.VPageStride, R.VSlotStride),
                     })
            {
                int chunks = dim / _element.PerCopy;
                w.MulLo(U32, units, n, chunks);
                var page = new PagedKvTile(headBase, R.PageTableRow, R.PageSize, pageStride, slotStride, _element);
                ForEachUnit("APPEND_" + what, units, u =>
                {
                    var x = w.Declare(RegKind.B32, "key", "chunk", "sa");
                    var (key, chunk, sa) = (x[0], x[1], x[2]);
                    var v4 = w.DeclareArray(RegKind.B32, "v", 4);
                    var ga = w.Declare1(RegKind.B64, "ga");
                    w.Div(U32, key, u, chunks);
                    w.MulLo(U32, chunk, key, chunks);
                    w.Sub(U32, chunk, u, chunk);
                    w.Add(U32, key, key, lo);
                    w.Sub(U32, sa, key, tileFirst);
                    w.MadLo(U32, sa, sa, pitch, stage);
                    w.MadLo(U32, sa, chunk, ElementTraits.CopyBytes, sa);
                    page.RowAddress(w, ga, key);
                    using (w.Scope())
                    {
                        var c64 = w.Declare1(RegKind.B64, "c64");
                        w.MulWide(U32, c64, chunk, ElementTraits.CopyBytes);
                        w.Add(U64, ga, ga, c64);
                    }

                    w.SharedChunkToGlobal(v4, sa, ga);
                });
            }
        }

        w.Place(skip);
    }

    /// <summary>Reads the two 16-bit features at shared addresses a and b, rotates them by position·θ_pair in f32, writes them back rounded.</summary>
    private void RotateSharedPair(RotaryAngles rotary, Reg a, Reg b, Reg position, Reg pair)
    {
        var w = _w;
        using (w.Scope())
        {
            var h = w.Declare(RegKind.B16, "h0", "h1");
            var f = w.Declare(RegKind.F32, "x0", "x1", "c", "s");
            w.LdShared(B16, h[0], a, 0);
            w.LdShared(B16, h[1], b, 0);
            w.ToF32(_element, f[0], h[0]);
            w.ToF32(_element, f[1], h[1]);
            rotary.CosSin(w, f[2], f[3], position, pair);
            RotaryAngles.Rotate(w, f[0], f[1], f[2], f[3]);
            w.FromF32(_element, h[0], f[0]);
            w.FromF32(_element, h[1], f[1]);
            w.StShared(B16, a, h[0]);
            w.StShared(B16, b, h[1]);
        }
    }

    /// <summary>for (u = thread; u &lt; count; u += threads) body(u): work spread over the CTA's threads (no barrier inside).</summary>
    private void ForEachUnit(string name, Reg count, Action<Reg> body)
    {
        var w = _w;
        var top = w.NewLabel(name + "_LOOP");
        var end = w.NewLabel(name + "_END");
        using (w.Scope())
        {
            var u = w.Declare1(RegKind.B32, "u");
            var done = w.Declare1(RegKind.Pred, "done");
            w.Mov(U32, u, R.Thread);
            w.Place(top);
            w.Setp(Cmp.Ge, U32, done, u, count);
            w.BranchIf(done, end);
            using (w.Scope())
            {
                body(u);
            }

            w.Add(U32, u, u, Threads);
            w.Branch(top);
            w.Place(end);
        }
    }
}
