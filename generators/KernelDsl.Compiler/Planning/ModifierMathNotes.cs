using System.Collections.Generic;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// The plan-text lines that say how a modifier's math is lowered to PTX and how far it can be from C#'s result
/// (issue 4: "the PTX approximations used are named in the plan with their error bound"). One line per function
/// or operator that is not exact IEEE arithmetic; the lowering itself is Emit/Ptx/ExprPtxWriter.cs.
/// Error bounds are the PTX ISA's for the approximate instructions (sm_80/sm_90), plus the rounding of the
/// folded constant multiply.
/// </summary>
public static class ModifierMathNotes
{
    private static readonly Dictionary<MathFunction, string> Lowering = new()
    {
        [MathFunction.Exp] = "Exp: ex2.approx.f32(x*log2 e); max 2 ulp for the ex2 plus |x*log2 e|*2^-24 relative from rounding the product (~1e-5 at |x| = 80)",
        [MathFunction.Log] = "Log: lg2.approx.f32(x)*ln 2; lg2 max abs error 2^-22 on [0.5, 2], 2^-22.6 relative elsewhere",
        [MathFunction.Tanh] = "Tanh: tanh.approx.f32 (sm_75+); max relative error 2^-10.987 (~5e-4): the largest approximation here",
        [MathFunction.Pow] = "Pow: constant integer exponent |n| <= 64 by square-and-multiply (exact to ~log2|n| ulp); constant base b by ex2.approx(y*log2 b); else ex2.approx(y*lg2.approx(x)) (NaN for x < 0)",
        [MathFunction.Sqrt] = "Sqrt: sqrt.rn (IEEE, exact rounding)",
        [MathFunction.Min] = "Min/Max: min/max.NaN.f32 (NaN if either is NaN, as .NET); f64 via setp.nan",
        [MathFunction.Max] = "Min/Max: min/max.NaN.f32 (NaN if either is NaN, as .NET); f64 via setp.nan",
    };

    /// <summary>Lines for the modifiers of a spec; empty when it has none.</summary>
    public static EquatableArray<string> For(AttentionSpec spec)
    {
        var lines = new List<string>();
        if (spec.ScoreModifier is null && spec.MaskModifier is null)
        {
            return EquatableArray<string>.Empty;
        }

        if (spec.ScoreModifier is not null)
        {
            lines.Add("score modifier " + spec.ScoreModifier.MethodName + " applied per element to scale*q.k before the online softmax (fp32)");
        }

        if (spec.MaskModifier is not null)
        {
            lines.Add("mask modifier " + spec.MaskModifier.MethodName + " and-ed with the band per element on every visited tile (band-skipped tiles still skipped; no full-tile fast path)");
        }

        var seen = new HashSet<string>(System.StringComparer.Ordinal);
        bool doubleMath = false;
        foreach (var modifier in new[] { spec.ScoreModifier, spec.MaskModifier })
        {
            if (modifier is null)
            {
                continue;
            }

            foreach (var e in Walk(modifier.Body))
            {
                if (e is CallExpr call && Lowering.TryGetValue(call.Function, out var line) && seen.Add(line))
                {
                    lines.Add(line);
                }

                if (e is CallExpr { Type: ExprType.Double, Function: MathFunction.Exp or MathFunction.Log or MathFunction.Tanh or MathFunction.Pow })
                {
                    doubleMath = true;
                }

                if (e is BinaryExpr { Operator: BinaryOperator.Remainder, Type: ExprType.Float or ExprType.Double } && seen.Add("%"))
                {
                    lines.Add("float %: fmod in f64 (one fma), exact while |x/y| < 2^52");
                }
            }
        }

        if (doubleMath)
        {
            lines.Add("double Exp/Log/Tanh/Pow are evaluated in f32 (no f64 approximations in PTX): ~2^-22 relative on top of the f32 bounds");
        }

        lines.Add("exact: + - * / (.rn, no fma contraction), int / % (div/rem.s32; no exception on division by zero), casts (cvt.rzi: truncation, saturating, NaN -> 0 as .NET 9), Floor/Ceiling/Abs");
        return lines.ToEquatableArray();
    }

    private static IEnumerable<Expr> Walk(ModifierBody body)
    {
        var stack = new Stack<Expr>();
        foreach (var local in body.Locals)
        {
            stack.Push(local.Value);
        }

        stack.Push(body.Result);
        while (stack.Count > 0)
        {
            var e = stack.Pop();
            yield return e;
            switch (e)
            {
                case UnaryExpr u:
                    stack.Push(u.Operand);
                    break;
                case BinaryExpr b:
                    stack.Push(b.Left);
                    stack.Push(b.Right);
                    break;
                case ConditionalExpr c:
                    stack.Push(c.Condition);
                    stack.Push(c.WhenTrue);
                    stack.Push(c.WhenFalse);
                    break;
                case ConvertExpr c:
                    stack.Push(c.Operand);
                    break;
                case CallExpr c:
                    foreach (var a in c.Arguments)
                    {
                        stack.Push(a);
                    }

                    break;
                case BufferReadExpr r:
                    stack.Push(r.Index);
                    break;
            }
        }
    }
}
