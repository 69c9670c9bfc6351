using KernelDsl.Compiler.Emit.Ptx.Construction;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Decode;

internal sealed partial class DecodeKernel
{
    /// <summary>
    /// The KV loop: per tile each warp computes its 16 keys' scores, modifiers and mask, the online softmax and O += P·V.
    /// Two barriers per tile, so that the whole ring is in flight while the CTA waits: the first frees the stage tile
    /// n − 1 used (every warp is past it), the prefetch of tile n + Stages − 1 goes there at once, and only then does the
    /// thread wait for tile n; the second publishes tile n. With one barrier (wait for tile n, then free and prefetch) the
    /// stage of tile n − 1 stayed empty until tile n landed: Stages − 1 tiles in flight during the wait instead of Stages
    /// (2 of 3 at D ≤ 128, 1 of 2 at D = 256), and a decode step is a wait for HBM.
    /// </summary>
    private void EmitLoop()
    {
        var w = _w;
        var loop = w.NewLabel("KV_LOOP");
        var end = w.NewLabel("KV_END");
        w.Stage("Prologue: the first " + Int(Stages - 1) + " K/V tiles in flight (one commit group each, empty past the split's tiles)");
        using (w.Scope())
        {
            var t = w.Declare(RegKind.B32, "stage", "idx");
            var (stage, idx) = (t[0], t[1]);
            var skip = w.Declare1(RegKind.Pred, "skip");
            for (int st = 0; st < Stages - 1; st++)
            {
                var next = w.NewLabel("PROLOGUE_" + Int(st));
                w.Setp(Cmp.Le, S32, skip, R.Tiles, st);
                w.BranchIf(skip, next);
                w.Mov(U32, stage, st);
                w.Mov(U32, idx, st);
                EmitLoadKv(stage, idx);
                w.Place(next);
                Copies.Commit(w);
            }
        }

        EmitRotateQuery();

        w.Stage("Running state: m = -inf, l = 0, O = 0");
        for (int rr = 0; rr < 2; rr++)
        {
            w.Mov(PtxType.F32, R.M[rr], Operand.NegInf);
            w.Mov(PtxType.F32, R.L[rr], Operand.Zero);
        }

        R.O.Fill(w, Zero);
        w.Mov(U32, R.Tile, 0);
        w.Mov(U32, R.ReadStage, 0);
        w.Mov(U32, R.WriteStage, Stages - 1);
        using (w.Scope())
        {
            var none = w.Declare1(RegKind.Pred, "none");
            w.Setp(Cmp.Le, S32, none, R.Tiles, 0);
            w.BranchIf(none, end);
        }

        w.Stage("Main loop over this split's tiles");
        w.Place(loop);
        w.Comment("every warp is past tile n-1: its stage takes the prefetch of tile n+" + Int(Stages - 1) + " before anyone waits for tile n");
        Copies.Barrier(w);
        using (w.Scope())
        {
            var t = w.Declare1(RegKind.B32, "idx");
            var skip = w.Declare1(RegKind.Pred, "skip");
            var prefetched = w.NewLabel("PREFETCHED");
            w.Add(U32, t, R.Tile, Stages - 1);
            w.Setp(Cmp.Ge, S32, skip, t, R.Tiles);
            w.BranchIf(skip, prefetched);
            EmitLoadKv(R.WriteStage, t);
            w.Place(prefetched);
            Copies.Commit(w);
        }

        w.Comment("tile n landed (at most the " + Int(Stages - 1) + " newer tiles' groups still pending), then visible to every warp");
        Copies.Wait(w, Stages - 1);
        Copies.Barrier(w);

        EmitAppendTile();

        w.MadLo(U32, R.KCur, R.ReadStage, Smem.KStageBytes, R.KRing);
        w.Add(U32, R.KCur, R.KCur, R.KLd);
        w.MadLo(U32, R.VCur, R.ReadStage, Smem.VStageBytes, R.VRing);
        w.Add(U32, R.VCur, R.VCur, R.VLd);
        using (w.Scope())
        {
            var jb = w.Declare1(RegKind.B32, "jb");
            w.Comment("this lane's first key: split_begin + 64*tile + 16*warp + 2*t4 (element (nt, e) adds 8*nt + e)");
            w.Shl(B32, jb, R.Tile, TileShift);
            w.Add(U32, jb, jb, R.SplitBegin);
            w.MadLo(U32, jb, R.Warp, 16, jb);
            w.MadLo(U32, jb, R.T4, 2, jb);
            EmitScores();
            EmitScoreModifier(jb);
            EmitElementMask(jb);
        }

        EmitOnlineSoftmax();
        EmitProbabilitiesTimesV();
        w.Stage("Next tile");
        using (w.Scope())
        {
            var more = w.Declare1(RegKind.Pred, "more");
            w.Add(U32, R.Tile, R.Tile, 1);
            NextStage(R.ReadStage, more);
            NextStage(R.WriteStage, more);
            w.Setp(Cmp.Lt, S32, more, R.Tile, R.Tiles);
            w.BranchIf(more, loop);
        }

        w.Place(end);
        w.Comment("every copy landed and every warp is past its last tile: the ring is free for the merge");
        Copies.Wait(w, 0);
        Copies.Barrier(w);
    }

    /// <summary>stage = (stage + 1) mod Stages; <paramref name="scratch"/> is overwritten.</summary>
    private void NextStage(Reg stage, Reg scratch)
    {
        _w.Add(U32, stage, stage, 1);
        _w.Setp(Cmp.Eq, U32, scratch, stage, Stages);
        _w.Selp(U32, stage, 0, stage, scratch);
    }

    /// <summary>Tile <paramref name="index"/> of the split (keys split_begin + 64·index …) into ring stage <paramref name="stage"/>, K then V, through the page table; keys at or past the split's end are zero-filled.</summary>
    private void EmitLoadKv(Reg stage, Reg index)
    {
        var w = _w;
        using (w.Scope())
        {
            var t = w.Declare(RegKind.B32, "first", "at");
            var (first, at) = (t[0], t[1]);
            w.Shl(B32, first, index, TileShift);
            w.Add(U32, first, first, R.SplitBegin);
            var (k, v) = KvSources();
            w.MadLo(U32, at, stage, Smem.KStageBytes, R.KRing);
            Copies.CpAsyncTile(w, "K", k, first, R.SplitEnd, new PaddedTile(Smem.KPitchBytes), at, _gpu.BlockKV, D, Threads, R.Thread);
            w.MadLo(U32, at, stage, Smem.VStageBytes, R.VRing);
            Copies.CpAsyncTile(w, "V", v, first, R.SplitEnd, new PaddedTile(Smem.VPitchBytes), at, _gpu.BlockKV, Dv, Threads, R.Thread);
        }
    }

    /// <summary>S (16 rows × this warp's 16 keys) = Q·Kᵀ: per 16-wide head-dim step one ldmatrix.x4 of Q and one of K, two mma.</summary>
    private void EmitScores()
    {
        var w = _w;
        w.Stage(System.FormattableString.Invariant($"S = Q * K^T: {D / 16} head-dim steps x 2 key tiles of mma.m16n8k16 per warp"));
        R.S.Fill(w, Zero);
        using (w.Scope())
        {
            var a = w.DeclareArray(RegKind.B32, "a", 4);
            var b = w.DeclareArray(RegKind.B32, "b", 4);
            for (int kc = 0; kc < D / 16; kc++)
            {
                Copies.Ldmatrix4(w, a.All, R.QLd, kc * 16 * _element.Bytes);
                Copies.Ldmatrix4(w, b.All, R.KCur, kc * 16 * _element.Bytes);
                MmaSyncProducts.Mma(w, _element, R.S.Tile(0), a.All, b.Vector(0, 2));
                MmaSyncProducts.Mma(w, _element, R.S.Tile(1), a.All, b.Vector(2, 2));
            }
        }
    }

    /// <summary>
    /// Drops (−∞) the scores the sequence's band, the split's end and the mask modifier leave out. Keys past the split's
    /// end were zero-filled, so their scores are 0 until here.
    /// </summary>
    private void EmitElementMask(Reg jb)
    {
        var w = _w;
        var mask = _spec.Mask;
        w.Stage("Element mask: key < key_end (split end, band right)" + (mask.IsMasked && mask.BandLeft >= 0 ? ", key >= key_lo (window)" : string.Empty) + (_spec.MaskModifier is null ? string.Empty : ", mask modifier " + _spec.MaskModifier.MethodName));
        foreach (var (r, reg, c) in R.S.Elements())
        {
            using (w.Scope())
            {
                var kv = w.Declare1(RegKind.B32, "kv");
                var keep = w.Declare1(RegKind.Pred, "keep");
                w.Add(S32, kv, jb, c);
                w.Setp(Cmp.Lt, S32, keep, kv, R.KeyEnd[r]);
                if (mask.IsMasked && mask.BandLeft >= 0)
                {
                    w.SetpAnd(Cmp.Ge, S32, keep, kv, R.KeyLo[r], keep);
                }

                using (w.Unless(keep))
                {
                    w.Mov(PtxType.F32, reg, Operand.NegInf);
                }

                if (_spec.MaskModifier is not null)
                {
                    EmitMaskModifierElement(reg, r, kv);
                }
            }
        }
    }

    /// <summary>
    /// The online softmax of each of this thread's two rows over the warp's 16 keys (the forward's: a row with nothing kept
    /// yet uses 0 as its max, so −∞ − (−∞) never appears), then O rescaled by alpha.
    /// </summary>
    private void EmitOnlineSoftmax()
    {
        var w = _w;
        w.Stage("Online softmax: new row max, alpha = exp2((m_old - m_new)*c), p = exp2(s*c - m_new*c), l = alpha*l + sum p; O *= alpha");
        for (int rr = 0; rr < 2; rr++)
        {
            using (w.Scope())
            {
                w.Comment("row " + RowName(rr));
                OnlineSoftmax.RowStep(w, R.S.Row(rr), R.M[rr], R.L[rr], R.Alpha[rr], R.ScaleLog2);
                var alpha = R.Alpha[rr];
                foreach (var o in R.O.Row(rr))
                {
                    w.Mul(PtxType.F32, o, o, alpha);
                }
            }
        }
    }

    /// <summary>P to A fragments in registers; O += P·V, V's B fragments by ldmatrix.x4.trans (two 8-column tiles each).</summary>
    private void EmitProbabilitiesTimesV()
    {
        var w = _w;
        w.Stage(System.FormattableString.Invariant($"O += P * V: P to {_element.Ptx} A-fragments, {Dv / 8} output tiles of mma.m16n8k16 per warp"));
        R.S.ConvertToA(w, _element, R.P);
        using (w.Scope())
        {
            var b = w.DeclareArray(RegKind.B32, "b", 4);
            for (int dp = 0; dp < Dv / 16; dp++)
            {
                Copies.Ldmatrix4(w, b.All, R.VCur, dp * 16 * _element.Bytes, transpose: true);
                MmaSyncProducts.Mma(w, _element, R.O.Tile(2 * dp), R.P.All, b.Vector(0, 2));
                MmaSyncProducts.Mma(w, _element, R.O.Tile((2 * dp) + 1), R.P.All, b.Vector(2, 2));
            }
        }
    }
}
