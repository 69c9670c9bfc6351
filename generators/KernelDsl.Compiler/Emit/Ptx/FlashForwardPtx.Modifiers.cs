using System.Collections.Generic;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// Score and mask modifiers (issue 4), inlined per score element. With a score modifier the score registers hold
/// the modified natural score s' = ScoreMod(scale·q·k, b, h, q, kv) instead of the raw dot product, and the
/// softmax multiplier %scale_log2 is log2(e) instead of scale·log2(e): the online softmax and the LSE are
/// unchanged otherwise. A mask modifier is and-ed with the band mask in the element-mask stage, which then runs
/// on every visited tile (band-skipped tiles are still skipped whole). Without modifiers nothing here emits code.
/// </summary>
internal sealed partial class FlashForwardPtx
{
    private Dictionary<Expr, string> _scoreHoisted = new();
    private Dictionary<Expr, string> _maskHoisted = new();

    private ModifierSpec? ScoreMod => _spec.ScoreModifier;

    private ModifierSpec? MaskMod => _spec.MaskModifier;

    /// <summary>What the score registers are multiplied by inside exp2: scale·log2 e for raw dot products, log2 e for modified scores.</summary>
    private double SoftmaxLog2Multiplier => ScoreMod is null ? _gpu.ScaleLog2 : Constants.Log2E;

    /// <summary>Once per thread, before the loop: the modifiers' subexpressions that depend only on (batch, head).</summary>
    private void EmitModifierSetup()
    {
        if (ScoreMod is null && MaskMod is null)
        {
            return;
        }

        var w = _w;
        var buffers = _spec.CapturedBuffers;
        if (buffers.Count > 0)
        {
            w.Stage("Captured buffers: global addresses of the read-only tensors the modifiers index");
            for (int i = 0; i < buffers.Count; i++)
            {
                w.Comment(CapturedRegister(buffers[i].Name) + " = " + (buffers[i].ElementType == ExprType.Int ? "int" : "float") + " buffer, shape [" + string.Join(", ", buffers[i].Dims) + "]");
                w.Ins(".reg .b64 " + CapturedRegister(buffers[i].Name));
                w.Ins("ld.param.u64 " + CapturedRegister(buffers[i].Name) + ", [" + P(PtxAbi.CapturedParameter(i)) + "]");
                w.Ins("cvta.to.global.u64 " + CapturedRegister(buffers[i].Name) + ", " + CapturedRegister(buffers[i].Name));
            }

            w.Comment("last valid query row and key: buffer reads on the tile's padding are clamped to them (see InRangeIndices)");
            w.Ins(".reg .b32 %q_last, %kv_last");
            w.Ins("add.s32 %q_last, %seq_q, -1");
            w.Ins("add.s32 %kv_last, %seq_kv, -1");
        }

        w.Stage("Modifiers: subexpressions that depend only on (batch, head), evaluated once per thread");
        if (ScoreMod is not null)
        {
            w.Comment("score modifier " + ScoreMod.MethodName);
            _scoreHoisted = new ExprPtxWriter(w, ModifierInputs(string.Empty, string.Empty), prefix: "%hs", bufferBase: CapturedRegister).Hoist(ScoreMod.Body);
        }

        if (MaskMod is not null)
        {
            w.Comment("mask modifier " + MaskMod.MethodName);
            _maskHoisted = new ExprPtxWriter(w, ModifierInputs(string.Empty, string.Empty), prefix: "%hm", bufferBase: CapturedRegister).Hoist(MaskMod.Body);
        }
    }

    /// <summary>
    /// s = ScoreMod(scale·s, b, h, q, kv) for every element of the tile's score fragment, one register scope per
    /// element so its temporaries die with it. Runs before the element mask: masked pairs become −inf afterwards,
    /// whatever the modifier returned for them.
    /// </summary>
    private void EmitScoreModifier(string acc = "%s")
    {
        if (ScoreMod is null)
        {
            return;
        }

        var w = _w;
        var body = ScoreMod.Body;
        w.Stage("Score modifier " + ScoreMod.MethodName + ": s = mod(scale * q.k, b, h, q, kv) per element (softmax then uses log2 e)");
        using (w.Scope())
        {
            w.Ins(".reg .b32 %jb");
            w.Comment("key of element (nt, e) = kv0 + 2*t4 + 8*nt + e");
            w.Ins("mad.lo.u32 %jb, %t4, 2, %kv0");
            ForEachElement((ms, rr, reg, c) =>
            {
                using (w.Scope())
                {
                    w.Ins(".reg .f32 %score");
                    w.Ins(".reg .b32 %kv");
                    w.Ins("mul.rn.f32 %score, " + reg + ", " + F32(_spec.EffectiveScale));
                    if (body.Reads(ModifierInput.KeyIndex))
                    {
                        w.Ins("add.s32 %kv, %jb, " + I(c));
                    }

                    var (row, key) = InRangeIndices(rr, body.Reads(ModifierInput.KeyIndex));
                    string result = new ExprPtxWriter(w, ModifierInputs(row, key), _scoreHoisted, bufferBase: CapturedRegister).Lower(body);
                    w.Ins("mov.f32 " + reg + ", " + result);
                }
            }, acc);
        }
    }

    /// <summary>Inside the element-mask stage: drops the element when MaskMod(b, h, q, kv) is false (%jb = kv0 + 2*t4 there).</summary>
    private void EmitMaskModifierElement(string reg, int rr, int c)
    {
        var w = _w;
        var body = MaskMod!.Body;
        using (w.Scope())
        {
            w.Ins(".reg .b32 %kv");
            if (body.Reads(ModifierInput.KeyIndex))
            {
                w.Ins("add.s32 %kv, %jb, " + I(c));
            }

            var (row, key) = InRangeIndices(rr, body.Reads(ModifierInput.KeyIndex));
            string keep = new ExprPtxWriter(w, ModifierInputs(row, key), _maskHoisted, bufferBase: CapturedRegister).Lower(body);
            w.Ins("@!" + keep + " mov.f32 " + reg + ", " + NegInf);
        }
    }

    /// <summary>
    /// The q and kv the modifier sees. The tile's padding rows (q ≥ Sq) and columns (kv ≥ Skv) are evaluated too
    /// (their results are dropped); with captured buffers, an index built from them could read past a correctly
    /// sized buffer, so there q and kv are clamped to Sq − 1 and Skv − 1 (in-range elements are unchanged).
    /// </summary>
    private (string Row, string Key) InRangeIndices(int rr, bool usesKey)
    {
        if (_spec.CapturedBuffers.Count == 0)
        {
            return ("%row" + I(rr), "%kv");
        }

        // One min per index against bounds computed once per thread (EmitModifierSetup). Holding clamped rows in registers
        // instead would cost one register per row for the whole kernel: the sm_80 D = 128 kernels (4 rows) then spill.
        var w = _w;
        w.Ins(".reg .b32 %q_in, %kv_in");
        w.Ins("min.s32 %q_in, %row" + I(rr) + ", %q_last");
        if (usesKey)
        {
            w.Ins("min.s32 %kv_in, %kv, %kv_last");
        }

        return ("%q_in", "%kv_in");
    }

    /// <summary>The kernel-scope register holding a captured buffer's global address (named by position: PTX names are ASCII).</summary>
    private string CapturedRegister(string buffer) => ModifierBodies.CapturedRegisters(_spec.CapturedBuffers)(buffer);

    /// <summary>Calls <paramref name="element"/>(slab, row index rr, register, column offset from %jb) for each score element of this thread.</summary>
    private void ForEachElement(System.Action<int, int, string, int> element, string acc)
    {
        for (int ms = 0; ms < Slabs; ms++)
        {
            for (int nt = 0; nt < Bkv / 8; nt++)
            {
                for (int r = 0; r < 2; r++)
                {
                    for (int e = 0; e < 2; e++)
                    {
                        element(ms, (2 * ms) + r, Slab(acc, ms) + I((4 * nt) + (2 * r) + e), (8 * nt) + e);
                    }
                }
            }
        }
    }

    private static System.Func<ModifierInput, string> ModifierInputs(string row, string kv) => input => input switch
    {
        ModifierInput.Score => "%score",
        ModifierInput.Batch => "%batch",
        ModifierInput.Head => "%head",
        ModifierInput.QueryIndex => row,
        _ => kv,
    };

}
