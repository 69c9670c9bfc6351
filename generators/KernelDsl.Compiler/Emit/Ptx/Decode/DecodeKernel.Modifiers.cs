using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model.Expressions;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;

namespace KernelDsl.Compiler.Emit.Ptx.Decode;

/// <summary>
/// Score and mask modifiers, lowered by the forward's lowering (<see cref="ExprPtxWriter"/>) per score element, with the
/// serving meaning of their inputs: b = the sequence, h = the row's query head, q = the row's query index within the
/// sequence, kv = the key's position in the sequence. Nothing is hoisted (h differs between a thread's two rows). With
/// captured buffers, padding keys are clamped to L − 1 (padding rows already are to the last real row) so an index built
/// from them stays inside a correctly sized buffer; their results are dropped.
/// </summary>
internal sealed partial class DecodeKernel
{
    private System.Func<string, CapturedBufferAccess> _captured = ModifierInputs.NoCapturedBuffers;

    private void EmitModifierSetup()
    {
        if (_spec.CapturedBuffers.Count == 0)
        {
            return;
        }

        _w.Stage("Captured buffers: global addresses of the read-only tensors the modifiers index");
        _captured = ModifierInputs.LoadCapturedBuffers(_w, _entry, _spec.CapturedBuffers);
    }

    /// <summary>s = ScoreMod(scale·s, b, h, q, kv) on every element of the warp's scores (before the element mask).</summary>
    private void EmitScoreModifier(Reg jb)
    {
        var mod = _spec.ScoreModifier;
        if (mod is null)
        {
            return;
        }

        var w = _w;
        w.Stage("Score modifier " + mod.MethodName + ": s = mod(scale * q.k, b = sequence, h, q = query in sequence, kv = position)");
        foreach (var (r, reg, c) in R.S.Elements())
        {
            using (w.Scope())
            {
                var score = w.Declare1(RegKind.F32, "score");
                var kv = w.Declare1(RegKind.B32, "kv");
                w.MulRn(PtxType.F32, score, reg, Operand.F32(_spec.EffectiveScale));
                w.Add(S32, kv, jb, c);
                var key = InRangeKey(kv);
                var result = new ExprPtxWriter(w, new ModifierInputs(score, R.Seq, R.RowHead[r], R.RowQuery[r], key).Map, bufferBase: _captured).Lower(mod.Body);
                w.Mov(PtxType.F32, reg, result);
            }
        }
    }

    /// <summary>Drops the element when MaskMod(b, h, q, kv) is false.</summary>
    private void EmitMaskModifierElement(Reg reg, int r, Reg kv)
    {
        var w = _w;
        using (w.Scope())
        {
            var key = InRangeKey(kv);
            var keep = new ExprPtxWriter(w, new ModifierInputs(null, R.Seq, R.RowHead[r], R.RowQuery[r], key).Map, bufferBase: _captured).Lower(_spec.MaskModifier!.Body);
            using (w.Unless(keep))
            {
                w.Mov(PtxType.F32, reg, Operand.NegInf);
            }
        }
    }

    /// <summary>kv, or min(kv, L − 1) when the modifiers read captured buffers.</summary>
    private Reg InRangeKey(Reg kv)
    {
        if (_spec.CapturedBuffers.Count == 0)
        {
            return kv;
        }

        var clamped = _w.Declare1(RegKind.B32, "kv_in");
        _w.Min(S32, clamped, kv, R.KvLast);
        return clamped;
    }
}
