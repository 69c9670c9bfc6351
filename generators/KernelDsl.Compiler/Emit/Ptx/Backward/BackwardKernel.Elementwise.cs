using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Backward;

/// <summary>
/// P and dS from the recomputed scores, per element, with the forward's semantics: s = ScoreMod(scale·q·k, b, h, q, kv)
/// when the spec has one, −∞ where the band or the mask modifier drops the pair, p = exp2(s·c − lse2) (0 on a dropped
/// pair and on a row that kept no key, whose lse2 is +∞), dS = p·(dP − Δ)·∂ScoreMod/∂score — the derivative lowered from
/// the same IR as the CPU kernel's and the reference's (<see cref="ExprDerivative"/>). With a score modifier dS is set to
/// exactly 0 where p is 0, so a derivative that is infinite on a dropped pair cannot make 0·∞ = NaN.
/// </summary>
internal abstract partial class BackwardKernel
{
    private System.Func<string, CapturedBufferAccess>? _captured;
    private Reg? _qLast;
    private Reg? _kvLast;
    private ModifierBody? _scoreDerivative;

    protected ModifierSpec? ScoreMod => Spec.ScoreModifier;

    protected ModifierSpec? MaskMod => Spec.MaskModifier;

    /// <summary>Once per thread: the captured buffers' addresses and the last valid query and key (index clamps).</summary>
    protected void EmitModifierSetup()
    {
        if (Spec.CapturedBuffers.Count == 0)
        {
            return;
        }

        var w = W;
        w.Stage("Captured buffers: global addresses of the read-only tensors the modifiers index");
        _captured = ModifierInputs.LoadCapturedBuffers(w, Entry, Spec.CapturedBuffers);
        w.Comment("last valid query row and key: buffer reads on the tiles' padding are clamped to them");
        var last = w.Declare(RegKind.B32, "q_last", "kv_last");
        (_qLast, _kvLast) = (last[0], last[1]);
        w.Add(S32, _qLast, SeqQ, -1);
        w.Add(S32, _kvLast, SeqKv, -1);
    }

    /// <summary>d ScoreMod / d score as a modifier body: the body's locals, each followed by its derivative, then the derivative.</summary>
    private ModifierBody ScoreDerivative()
    {
        if (_scoreDerivative is null)
        {
            var body = ScoreMod!.Body;
            var derivative = ExprDerivative.OfScore(body);
            var locals = new List<LocalBinding>();
            foreach (var local in body.Locals)
            {
                locals.Add(local);
                if (derivative.LocalFor(local.Name) is { } dLocal)
                {
                    locals.Add(dLocal);
                }
            }

            _scoreDerivative = new ModifierBody(locals.ToEquatableArray(), derivative.Result);
        }

        return _scoreDerivative;
    }

    /// <summary>Where a row's (or a column's) statistics come from: registers per row (dQ) or shared memory per column pair (dK/dV).</summary>
    protected sealed record RowStatistics(Reg[]? NegLse2, Reg[]? Delta, Reg? ColumnAddress);

    /// <summary>
    /// Replaces S (raw q·k) by P and dP by dS, element by element. Rows are this thread's two rows
    /// (<paramref name="rows"/>: query or key indices), columns c0 + 2·t4 + 8·nt + e (<paramref name="jb"/> = c0 + 2·t4).
    /// </summary>
    protected void EmitGradients(AccumulatorFragment s, AccumulatorFragment dp, Reg[] rows, Reg jb, Reg[] relLo, Reg[] relHi, Reg head, RowStatistics statistics)
    {
        var w = W;
        w.Stage("P = exp2(s*c - lse2) and dS = P o (dP - delta)" + (ScoreMod is null ? string.Empty : " o d" + ScoreMod.MethodName + "/ds")
                + " per element (masked pairs: P = 0" + (MaskMod is null ? string.Empty : "; mask modifier " + MaskMod.MethodName) + ")");
        var pairs = s.Elements().Zip(dp.Elements(), (a, b) => (a.Row, S: a.Register, DP: b.Register, a.Column)).ToList();
        using (w.Scope())
        {
            var stat = w.Declare(RegKind.F32, "lse_a", "lse_b", "dlt_a", "dlt_b");
            for (int i = 0; i < pairs.Count; i++)
            {
                var (row, sReg, dpReg, column) = pairs[i];
                Reg negLse;
                Reg delta;
                if (statistics.ColumnAddress is { } address)
                {
                    int e = column % 8;
                    if (e == 0 && row == 0)
                    {
                        w.Comment("lse2 and delta of columns 8*nt + 2*t4, +1 (from shared memory)");
                        w.LdSharedPair(stat[0], stat[1], address, (column / 8) * 8 * 4);
                        w.LdSharedPair(stat[2], stat[3], address, (Layout.StreamRows * 4) + ((column / 8) * 8 * 4));
                        w.Neg(PtxType.F32, stat[0], stat[0]);
                        w.Neg(PtxType.F32, stat[1], stat[1]);
                    }

                    (negLse, delta) = (stat[e], stat[2 + e]);
                }
                else
                {
                    (negLse, delta) = (statistics.NegLse2![row], statistics.Delta![row]);
                }

                EmitGradientElement(sReg, dpReg, rows[row], jb, column, relLo[row], relHi[row], head, negLse, delta);
            }
        }
    }

    private void EmitGradientElement(Reg s, Reg dp, Reg row, Reg jb, int column, Reg relLo, Reg relHi, Reg head, Reg negLse, Reg delta)
    {
        var w = W;
        bool needsColumn = (ScoreMod?.Body.Reads(RowsAreQueries ? ModifierInput.KeyIndex : ModifierInput.QueryIndex) ?? false)
                           || (MaskMod?.Body.Reads(RowsAreQueries ? ModifierInput.KeyIndex : ModifierInput.QueryIndex) ?? false);
        using (w.Scope())
        {
            var f = w.Declare(RegKind.F32, "raw", "t", "ds");
            var (raw, t, ds) = (f[0], f[1], f[2]);
            var p = w.Declare(RegKind.Pred, "drop", "zero");
            var (drop, zero) = (p[0], p[1]);
            var col = w.Declare1(RegKind.B32, "col");
            if (needsColumn)
            {
                w.Add(S32, col, jb, column);
            }

            var (query, key) = InRangeIndices(RowsAreQueries ? row : col, RowsAreQueries ? col : row);
            if (ScoreMod is not null)
            {
                w.MulRn(PtxType.F32, raw, s, Operand.F32(Spec.EffectiveScale));
                var mod = new ExprPtxWriter(w, new ModifierInputs(raw, Batch, head, query, key).Map, bufferBase: Captured, prefix: "%me").Lower(ScoreMod.Body);
                w.Mov(PtxType.F32, t, mod);
            }
            else
            {
                w.Mov(PtxType.F32, t, s);
            }

            w.Setp(Cmp.Lt, S32, drop, relHi, column);
            w.SetpOr(Cmp.Gt, S32, drop, relLo, column, drop);
            using (w.When(drop))
            {
                w.Mov(PtxType.F32, t, Operand.NegInf);
            }

            if (MaskMod is not null)
            {
                var keep = new ExprPtxWriter(w, new ModifierInputs(null, Batch, head, query, key).Map, bufferBase: Captured, prefix: "%mm").Lower(MaskMod.Body);
                using (w.Unless(keep))
                {
                    w.Mov(PtxType.F32, t, Operand.NegInf);
                }
            }

            w.Fma(PtxType.F32, t, t, ScaleLog2, negLse);
            w.Ex2(t, t);
            w.Sub(PtxType.F32, ds, dp, delta);
            w.Mul(PtxType.F32, ds, ds, t);
            if (ScoreMod is not null)
            {
                var derivative = new ExprPtxWriter(w, new ModifierInputs(raw, Batch, head, query, key).Map, bufferBase: Captured, prefix: "%md").Lower(ScoreDerivative());
                w.Mul(PtxType.F32, ds, ds, derivative);
                w.Setp(Cmp.Eq, PtxType.F32, zero, t, Operand.Zero);
                w.Selp(PtxType.F32, ds, Operand.Zero, ds, zero);
            }

            w.Mov(PtxType.F32, s, t);
            w.Mov(PtxType.F32, dp, ds);
        }
    }

    private System.Func<string, CapturedBufferAccess>? Captured => _captured;

    /// <summary>The q and kv a modifier sees; with captured buffers clamped to the last valid row and key (the tiles' padding is evaluated too, its results dropped).</summary>
    private (Reg Query, Reg Key) InRangeIndices(Reg query, Reg key)
    {
        if (_qLast is null)
        {
            return (query, key);
        }

        var w = W;
        var r = w.Declare(RegKind.B32, "q_in", "kv_in");
        w.Min(S32, r[0], query, _qLast);
        w.Min(S32, r[1], key, _kvLast!);
        return (r[0], r[1]);
    }
}
