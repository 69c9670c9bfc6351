using System;
using System.Collections.Generic;
using KernelDsl.Compiler.Model.Expressions;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// Evaluates modifier IR in double (ints as C# ints, floats widened), as the float64 reference does: the tests'
/// independent way to differentiate a body numerically. Buffers are double arrays so finite differences can perturb them.
/// </summary>
internal sealed class ExprEvaluator
{
    private readonly Dictionary<string, double> _locals = new();

    public double Score { get; init; }

    public int B { get; init; }

    public int H { get; init; }

    public int Q { get; init; }

    public int Kv { get; init; }

    public Dictionary<string, double[]> Buffers { get; init; } = new();

    /// <summary>The body's value: its locals in order, then its result.</summary>
    public double Run(ModifierBody body)
    {
        _locals.Clear();
        foreach (var local in body.Locals)
        {
            _locals[local.Name] = Eval(local.Value);
        }

        return Eval(body.Result);
    }

    /// <summary>A derivative's value: the body's locals interleaved with the derivative's, then its result.</summary>
    public double Run(ModifierBody body, DerivativeResult derivative)
    {
        _locals.Clear();
        foreach (var local in body.Locals)
        {
            _locals[local.Name] = Eval(local.Value);
            if (derivative.LocalFor(local.Name) is { } d)
            {
                _locals[d.Name] = Eval(d.Value);
            }
        }

        return Eval(derivative.Result);
    }

    public double Eval(Expr e) => e switch
    {
        ConstantExpr c => c.Value,
        ParameterExpr p => p.Input switch
        {
            ModifierInput.Score => Score,
            ModifierInput.Batch => B,
            ModifierInput.Head => H,
            ModifierInput.QueryIndex => Q,
            _ => Kv,
        },
        LocalExpr l => _locals[l.Name],
        UnaryExpr { Operator: UnaryOperator.Negate } u => -Eval(u.Operand),
        UnaryExpr u => Eval(u.Operand) != 0 ? 0 : 1,
        BinaryExpr b => Binary(b),
        ConditionalExpr c => Eval(c.Condition) != 0 ? Eval(c.WhenTrue) : Eval(c.WhenFalse),
        ConvertExpr c => c.TargetType == ExprType.Int ? Math.Truncate(Eval(c.Operand)) : Eval(c.Operand),
        BufferReadExpr r => Buffers[r.Buffer][(int)Eval(r.Index)],
        CallExpr c => Call(c),
        _ => throw new ArgumentOutOfRangeException(nameof(e)),
    };

    private double Binary(BinaryExpr b)
    {
        double l = Eval(b.Left), r = Eval(b.Right);
        bool ints = b.Left.Type == ExprType.Int;
        return b.Operator switch
        {
            BinaryOperator.Add => l + r,
            BinaryOperator.Subtract => l - r,
            BinaryOperator.Multiply => l * r,
            BinaryOperator.Divide => ints ? Math.Truncate(l / r) : l / r,
            BinaryOperator.Remainder => l % r,
            BinaryOperator.Less => l < r ? 1 : 0,
            BinaryOperator.LessOrEqual => l <= r ? 1 : 0,
            BinaryOperator.Greater => l > r ? 1 : 0,
            BinaryOperator.GreaterOrEqual => l >= r ? 1 : 0,
            BinaryOperator.Equal => l == r ? 1 : 0,
            BinaryOperator.NotEqual => l != r ? 1 : 0,
            BinaryOperator.And => l != 0 && r != 0 ? 1 : 0,
            _ => l != 0 || r != 0 ? 1 : 0,
        };
    }

    private double Call(CallExpr c)
    {
        double x = Eval(c.Arguments[0]);
        return c.Function switch
        {
            MathFunction.Abs => Math.Abs(x),
            MathFunction.Min => Math.Min(x, Eval(c.Arguments[1])),
            MathFunction.Max => Math.Max(x, Eval(c.Arguments[1])),
            MathFunction.Exp => Math.Exp(x),
            MathFunction.Log => Math.Log(x),
            MathFunction.Tanh => Math.Tanh(x),
            MathFunction.Sqrt => Math.Sqrt(x),
            MathFunction.Floor => Math.Floor(x),
            MathFunction.Ceiling => Math.Ceiling(x),
            _ => Math.Pow(x, Eval(c.Arguments[1])),
        };
    }
}
