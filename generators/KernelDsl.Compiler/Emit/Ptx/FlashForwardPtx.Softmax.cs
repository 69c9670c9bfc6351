using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

internal sealed partial class FlashForwardPtx
{
    /// <summary>
    /// Sets S to −inf where the band (or the end of the keys) drops the pair. Runs only on tiles that are not
    /// fully kept; a block-uniform branch skips it everywhere else. Element (nt, e) of row r holds key
    /// kv0 + 8·nt + 2·t4 + e, so each comparison is against an immediate column offset.
    /// </summary>
    private void EmitBoundaryMask(string acc = "%s", string tag = "")
    {
        var w = _w;
        bool hasLeft = _spec.Mask.BandLeft >= 0;
        w.Stage(MaskMod is null
            ? "Element mask, boundary tiles only (past Skv or crossing the band's edge)"
            : "Element mask: band (past Skv or outside the band) and mask modifier " + MaskMod.MethodName + ", on every visited tile");
        using (w.Scope())
        {
            w.Ins(".reg .pred %partial, %drop");
            w.Ins(".reg .b32 %kv_end, %jb");
            w.Ins(".reg .b32 %rel_hi<" + I(RowsPerThread) + ">, %rel_lo<" + I(RowsPerThread) + ">");
            if (MaskMod is null)
            {
                w.Ins("add.s32 %kv_end, %kv0, " + I(Bkv));
                w.Ins("setp.gt.s32 %partial, %kv_end, %full_hi");
                if (hasLeft)
                {
                    w.Ins("setp.lt.or.s32 %partial, %kv0, %full_lo, %partial");
                }

                w.Ins("@!%partial bra MASK_DONE" + tag);
            }
            else
            {
                EmitSkipMaskOnFullBlocks(tag);
            }

            w.Comment("relative bounds: key kv0 + 2*t4 + c is kept for row r when rel_lo_r <= c <= rel_hi_r");
            w.Ins("mad.lo.u32 %jb, %t4, 2, %kv0");
            for (int rr = 0; rr < RowsPerThread; rr++)
            {
                w.Ins("sub.s32 %rel_hi" + I(rr) + ", %hi" + I(rr) + ", %jb");
                if (hasLeft)
                {
                    w.Ins("sub.s32 %rel_lo" + I(rr) + ", %lo" + I(rr) + ", %jb");
                }
            }

            for (int ms = 0; ms < Slabs; ms++)
            {
                for (int nt = 0; nt < Bkv / 8; nt++)
                {
                    for (int r = 0; r < 2; r++)
                    {
                        string rr = I((2 * ms) + r);
                        for (int e = 0; e < 2; e++)
                        {
                            int c = (8 * nt) + e;
                            w.Ins("setp.lt.s32 %drop, %rel_hi" + rr + ", " + I(c));
                            if (hasLeft)
                            {
                                w.Ins("setp.gt.or.s32 %drop, %rel_lo" + rr + ", " + I(c) + ", %drop");
                            }

                            w.Ins("@%drop mov.f32 " + Slab(acc, ms) + I((4 * nt) + (2 * r) + e) + ", " + NegInf);
                            if (MaskMod is not null)
                            {
                                EmitMaskModifierElement(Slab(acc, ms) + I((4 * nt) + (2 * r) + e), (2 * ms) + r, c);
                            }
                        }
                    }
                }
            }

            w.Label("MASK_DONE" + tag);
        }
    }

    /// <summary>
    /// Online softmax for this thread's rows g (r = 0) and g+8 (r = 1): the tile's row max (quad shuffle, the
    /// four lanes of a quad share a row), the rescale factor alpha = exp2((m_old − m_new)·c) applied to O and l,
    /// and p = exp2(s·c − m_new·c) in place of s. A row with nothing kept yet uses 0 as its max so that
    /// −inf − (−inf) never appears; its p and alpha are then exactly 0.
    /// </summary>
    /// <param name="rescaleO">False: leave O alone (the Hopper loop rescales it after the P·V still in flight has landed).</param>
    private void EmitOnlineSoftmax(string acc = "%s", string tag = "", bool rescaleO = true)
    {
        var w = _w;
        w.Stage("Online softmax: new row max, rescale O and l, p = exp2(s*c - m*c) (c = scale*log2 e)");
        for (int rr = 0; rr < RowsPerThread; rr++)
        {
            int ms = rr / 2;
            int r = rr % 2;
            using (w.Scope())
            {
                w.Comment("slab " + I(ms) + ", row " + (r == 0 ? "g" : "g+8"));
                w.Ins(".reg .f32 %mx, %other, %m_new, %neg_mc, %sum");
                w.Ins(".reg .pred %none");
                var scores = RowRegisters(Slab(acc, ms), Bkv, r);
                w.Ins("max.f32 %mx, " + scores[0] + ", " + scores[1]);
                for (int i = 2; i < scores.Length; i++)
                {
                    w.Ins("max.f32 %mx, %mx, " + scores[i]);
                }

                w.Ins("shfl.sync.bfly.b32 %other, %mx, 1, 31, 0xffffffff");
                w.Ins("max.f32 %mx, %mx, %other");
                w.Ins("shfl.sync.bfly.b32 %other, %mx, 2, 31, 0xffffffff");
                w.Ins("max.f32 %mx, %mx, %other");
                w.Ins("max.f32 %m_new, %m" + I(rr) + ", %mx");
                w.Ins("setp.eq.f32 %none, %m_new, " + NegInf);
                w.Ins("selp.f32 %neg_mc, " + Zero + ", %m_new, %none");
                w.Ins("mul.f32 %neg_mc, %neg_mc, %scale_log2");
                w.Ins("neg.f32 %neg_mc, %neg_mc");
                string alpha = "%alpha" + I(rr);
                w.Ins("fma.rn.f32 " + alpha + ", %m" + I(rr) + ", %scale_log2, %neg_mc");
                w.Ins("ex2.approx.ftz.f32 " + alpha + ", " + alpha);
                w.Ins("mov.f32 %m" + I(rr) + ", %m_new");
                foreach (var s in scores)
                {
                    w.Ins("fma.rn.f32 " + s + ", " + s + ", %scale_log2, %neg_mc");
                    w.Ins("ex2.approx.ftz.f32 " + s + ", " + s);
                }

                w.Ins("add.f32 %sum, " + scores[0] + ", " + scores[1]);
                for (int i = 2; i < scores.Length; i++)
                {
                    w.Ins("add.f32 %sum, %sum, " + scores[i]);
                }

                w.Comment("l = alpha*l + sum (per-thread partial; the quad's partials are added once, at the end)");
                w.Ins("fma.rn.f32 %l" + I(rr) + ", %l" + I(rr) + ", " + alpha + ", %sum");
            }
        }

        if (rescaleO)
        {
            EmitRescaleO(tag);
        }
    }

    /// <summary>
    /// O *= alpha per row, after all rows' softmax. With plan.SkipUnchangedRescale the multiplies are skipped,
    /// exactly, when no row of the warp changed its max (every alpha is 1.0): a warp vote and one uniform branch
    /// instead of Dv/4 multiplies per row and slab (measured slower on the H100, so off by default).
    /// </summary>
    private void EmitRescaleO(string tag)
    {
        var w = _w;
        w.Comment(_gpu.SkipUnchangedRescale ? "rescale O by alpha, unless no row of this warp changed its max (then every alpha is exactly 1)" : "rescale O by alpha");
        using (w.Scope())
        {
            if (_gpu.SkipUnchangedRescale)
            {
                w.Ins(".reg .pred %changed, %any");
                w.Ins("setp.neu.f32 %changed, %alpha0, 0f3F800000");
                for (int rr = 1; rr < RowsPerThread; rr++)
                {
                    w.Ins("setp.neu.or.f32 %changed, %alpha" + I(rr) + ", 0f3F800000, %changed");
                }

                w.Ins("vote.sync.any.pred %any, %changed, 0xffffffff");
                w.Ins("@!%any bra RESCALE_DONE" + tag);
            }

            for (int rr = 0; rr < RowsPerThread; rr++)
            {
                foreach (var o in RowRegisters(Slab("%o", rr / 2), Dv, rr % 2))
                {
                    w.Ins("mul.f32 " + o + ", " + o + ", %alpha" + I(rr));
                }
            }

            if (_gpu.SkipUnchangedRescale)
            {
                w.Label("RESCALE_DONE" + tag);
            }
        }
    }

    /// <summary>
    /// Packs P into mma A fragments: the C layout of two adjacent 8-key tiles is exactly the A layout of one
    /// 16-key step (a0/a1 from tile 2k, a2/a3 from tile 2k+1), so no data moves between lanes.
    /// </summary>
    private void EmitProbabilitiesToFragments(string acc = "%s")
    {
        var w = _w;
        w.Stage("P to " + In16 + " A-fragments, in registers (cvt packs hi, lo)");
        string cvt = "cvt.rn." + In16 + "x2.f32 ";
        for (int ms = 0; ms < Slabs; ms++)
        {
            string s = Slab(acc, ms);
            string pa = Slab("%pa", ms);
            for (int kc = 0; kc < Bkv / 16; kc++)
            {
                int t0 = 4 * (2 * kc);
                int t1 = 4 * ((2 * kc) + 1);
                w.Ins(cvt + pa + I((4 * kc) + 0) + ", " + s + I(t0 + 1) + ", " + s + I(t0));
                w.Ins(cvt + pa + I((4 * kc) + 1) + ", " + s + I(t0 + 3) + ", " + s + I(t0 + 2));
                w.Ins(cvt + pa + I((4 * kc) + 2) + ", " + s + I(t1 + 1) + ", " + s + I(t1));
                w.Ins(cvt + pa + I((4 * kc) + 3) + ", " + s + I(t1 + 3) + ", " + s + I(t1 + 2));
            }
        }
    }

    /// <summary>The accumulator registers of row r (0: g, 1: g+8) across all 8-column tiles of a width.</summary>
    private static string[] RowRegisters(string prefix, int width, int r)
    {
        var names = new string[width / 4];
        for (int nt = 0; nt < width / 8; nt++)
        {
            names[2 * nt] = prefix + I((4 * nt) + (2 * r));
            names[(2 * nt) + 1] = prefix + I((4 * nt) + (2 * r) + 1);
        }

        return names;
    }
}
