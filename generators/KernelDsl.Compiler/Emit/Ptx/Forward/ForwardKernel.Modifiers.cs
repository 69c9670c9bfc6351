using System.Collections.Generic;
using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

/// <summary>
/// Score and mask modifiers (issue 4), inlined per score element. With a score modifier the score registers hold
/// the modified natural score s' = ScoreMod(scale·q·k, b, h, q, kv) instead of the raw dot product, and the
/// softmax multiplier scale_log2 is log2(e) instead of scale·log2(e): the online softmax and the LSE are
/// unchanged otherwise. A mask modifier is and-ed with the band mask in the element-mask stage, which then runs
/// on every visited tile (band-skipped tiles are still skipped whole). Without modifiers nothing here emits code.
/// </summary>
internal abstract partial class ForwardKernel
{
    private Dictionary<Expr, Reg> _scoreHoisted = new();
    private Dictionary<Expr, Reg> _maskHoisted = new();

    /// <summary>The kernel-scope register of each captured buffer, by name (loaded in <see cref="EmitModifierSetup"/>).</summary>
    private System.Func<string, CapturedBufferAccess> _captured = ModifierInputs.NoCapturedBuffers;

    private Reg? _qLast;
    private Reg? _kvLast;

    private ModifierSpec? ScoreMod => Spec.ScoreModifier;

    private ModifierSpec? MaskMod => Spec.MaskModifier;

    /// <summary>What the score registers are multiplied by inside exp2: scale·log2 e for raw dot products, log2 e for modified scores.</summary>
    private double SoftmaxLog2Multiplier => ScoreMod is null ? Gpu.ScaleLog2 : Constants.Log2E;

    /// <summary>Once per thread, before the loop: the captured buffers' addresses, and the modifiers' subexpressions that depend only on (batch, head).</summary>
    private void EmitModifierSetup()
    {
        if (ScoreMod is null && MaskMod is null)
        {
            return;
        }

        var w = W;
        if (Spec.CapturedBuffers.Count > 0)
        {
            w.Stage("Captured buffers: global addresses of the read-only tensors the modifiers index");
            _captured = ModifierInputs.LoadCapturedBuffers(w, Entry, Spec.CapturedBuffers);
            w.Comment("last valid query row and key: buffer reads on the tile's padding are clamped to them (see InRangeIndices)");
            var last = w.Declare(RegKind.B32, "q_last", "kv_last");
            (_qLast, _kvLast) = (last[0], last[1]);
            w.Add(S32, _qLast, R.SeqQ, -1);
            w.Add(S32, _kvLast, R.SeqKv, -1);
        }

        var hoisting = new ModifierInputs(Score: null, R.Batch, R.Head, Query: null, Key: null);
        w.Stage("Modifiers: subexpressions that depend only on (batch, head), evaluated once per thread");
        if (ScoreMod is not null)
        {
            w.Comment("score modifier " + ScoreMod.MethodName);
            _scoreHoisted = new ExprPtxWriter(w, hoisting.Map, prefix: "%hs", bufferBase: _captured).Hoist(ScoreMod.Body);
        }

        if (MaskMod is not null)
        {
            w.Comment("mask modifier " + MaskMod.MethodName);
            _maskHoisted = new ExprPtxWriter(w, hoisting.Map, prefix: "%hm", bufferBase: _captured).Hoist(MaskMod.Body);
        }
    }

    /// <summary>
    /// s = ScoreMod(scale·s, b, h, q, kv) for every element of the tile's score fragments, one register scope per
    /// element so its temporaries die with it. Runs before the element mask: masked pairs become −inf afterwards,
    /// whatever the modifier returned for them.
    /// </summary>
    protected void EmitScoreModifier()
    {
        if (ScoreMod is null)
        {
            return;
        }

        var w = W;
        var body = ScoreMod.Body;
        w.Stage("Score modifier " + ScoreMod.MethodName + ": s = mod(scale * q.k, b, h, q, kv) per element (softmax then uses log2 e)");
        using (w.Scope())
        {
            var jb = w.Declare1(RegKind.B32, "jb");
            w.Comment("key of element (nt, e) = kv0 + 2*t4 + 8*nt + e");
            w.MadLo(U32, jb, R.T4, 2, R.Kv0);
            for (int ms = 0; ms < Shape.Slabs; ms++)
            {
                foreach (var (r, reg, c) in R.S[ms].Elements())
                {
                    using (w.Scope())
                    {
                        var score = w.Declare1(RegKind.F32, "score");
                        var kv = w.Declare1(RegKind.B32, "kv");
                        w.MulRn(PtxType.F32, score, reg, Operand.F32(Spec.EffectiveScale));
                        if (body.Reads(ModifierInput.KeyIndex))
                        {
                            w.Add(S32, kv, jb, c);
                        }

                        var (row, key) = InRangeIndices((2 * ms) + r, kv, body.Reads(ModifierInput.KeyIndex));
                        var result = new ExprPtxWriter(w, new ModifierInputs(score, R.Batch, R.Head, row, key).Map, _scoreHoisted, bufferBase: _captured).Lower(body);
                        w.Mov(PtxType.F32, reg, result);
                    }
                }
            }
        }
    }

    /// <summary>Inside the element-mask stage: drops the element when MaskMod(b, h, q, kv) is false (jb = kv0 + 2*t4 there).</summary>
    private void EmitMaskModifierElement(Reg reg, int rr, int c, Reg jb)
    {
        var w = W;
        var body = MaskMod!.Body;
        using (w.Scope())
        {
            var kv = w.Declare1(RegKind.B32, "kv");
            if (body.Reads(ModifierInput.KeyIndex))
            {
                w.Add(S32, kv, jb, c);
            }

            var (row, key) = InRangeIndices(rr, kv, body.Reads(ModifierInput.KeyIndex));
            var keep = new ExprPtxWriter(w, new ModifierInputs(null, R.Batch, R.Head, row, key).Map, _maskHoisted, bufferBase: _captured).Lower(body);
            using (w.Unless(keep))
            {
                w.Mov(PtxType.F32, reg, Operand.NegInf);
            }
        }
    }

    /// <summary>
    /// The q and kv the modifier sees. The tile's padding rows (q ≥ Sq) and columns (kv ≥ Skv) are evaluated too
    /// (their results are dropped); with captured buffers, an index built from them could read past a correctly
    /// sized buffer, so there q and kv are clamped to Sq − 1 and Skv − 1 (in-range elements are unchanged).
    /// </summary>
    private (Reg Row, Reg Key) InRangeIndices(int rr, Reg kv, bool usesKey)
    {
        if (Spec.CapturedBuffers.Count == 0)
        {
            return (R.Row[rr], kv);
        }

        // One min per index against bounds computed once per thread (EmitModifierSetup). Holding clamped rows in registers
        // instead would cost one register per row for the whole kernel: the sm_80 D = 128 kernels (4 rows) then spill.
        var w = W;
        var r = w.Declare(RegKind.B32, "q_in", "kv_in");
        var (qIn, kvIn) = (r[0], r[1]);
        w.Min(S32, qIn, R.Row[rr], _qLast!);
        if (usesKey)
        {
            w.Min(S32, kvIn, kv, _kvLast!);
        }

        return (qIn, kvIn);
    }
}
