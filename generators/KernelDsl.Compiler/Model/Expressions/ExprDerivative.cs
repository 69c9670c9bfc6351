using System;
using System.Collections.Generic;
using System.Linq;

namespace KernelDsl.Compiler.Model.Expressions;

/// <summary>
/// Symbolic differentiation of a modifier body (issue 10): d(body)/d(variable), where the variable is the score or
/// one element read of a learnable captured buffer, by the chain rule over the IR. The result is again IR — locals
/// and an expression — so the CPU kernel, the PTX and the float64 reference all evaluate the same derivative.
/// <para>Rules at kinks (subgradients, chosen once here):</para>
/// <list type="bullet">
/// <item><c>Abs'(0) = 0</c>: <c>x &gt; 0 ? dx : x &lt; 0 ? −dx : 0</c>.</item>
/// <item><c>Min(a, b)</c> follows <c>a</c> when <c>a ≤ b</c> (ties pick the first argument), else <c>b</c>; <c>Max</c> follows <c>a</c> when <c>a ≥ b</c>.</item>
/// <item><c>c ? x : y</c> differentiates the branch taken; the condition contributes nothing (it is piecewise constant).</item>
/// <item><c>Sqrt'(0)</c>, <c>Log'(0)</c>, <c>Pow(0, c &lt; 1)'</c> follow the formulas (±∞), as IEEE arithmetic gives them.</item>
/// </list>
/// Not differentiable (reported, the caller turns them into a build error at the node's syntax): a value that flows
/// into the result through <c>Floor</c>/<c>Ceiling</c>, a conversion to int, a buffer index, or the divisor of a
/// float <c>%</c>, when that value depends on the variable — each is piecewise constant or undefined in it, so its
/// gradient would silently be zero. Int and bool values carry no derivative; comparisons of the variable are fine.
/// </summary>
public sealed class ExprDerivative
{
    private readonly Func<Expr, bool> _isVariable;
    private readonly Dictionary<string, string> _derivativeNames = new();
    private readonly HashSet<string> _dependentLocals = new();
    private readonly List<DerivativeFailure> _failures = new();
    private readonly string _suffix;

    private ExprDerivative(Func<Expr, bool> isVariable, string suffix)
    {
        _isVariable = isVariable;
        _suffix = suffix;
    }

    /// <summary>d(body.Result)/d(score).</summary>
    public static DerivativeResult OfScore(ModifierBody body) =>
        Of(body, e => e is ParameterExpr { Input: ModifierInput.Score }, "d");

    /// <summary>
    /// d(body.Result)/d(read) for one element read of a captured buffer (every structurally equal read is the same
    /// element, so it counts once). <paramref name="suffix"/> names this derivative's locals apart from others'.
    /// </summary>
    public static DerivativeResult OfRead(ModifierBody body, BufferReadExpr read, string suffix) =>
        Of(body, e => e is BufferReadExpr r && r == read, suffix);

    /// <summary>The distinct element reads of <paramref name="buffer"/> anywhere in the body (locals and result), in order of appearance.</summary>
    public static IReadOnlyList<BufferReadExpr> ReadsOf(ModifierBody body, string buffer)
    {
        var reads = new List<BufferReadExpr>();
        void Walk(Expr e)
        {
            if (e is BufferReadExpr r && r.Buffer == buffer && !reads.Contains(r))
            {
                reads.Add(r);
            }

            foreach (var child in ExprQueries.Children(e))
            {
                Walk(child);
            }
        }

        foreach (var local in body.Locals)
        {
            Walk(local.Value);
        }

        Walk(body.Result);
        return reads;
    }

    private static DerivativeResult Of(ModifierBody body, Func<Expr, bool> isVariable, string suffix)
    {
        var d = new ExprDerivative(isVariable, "__" + suffix);
        var locals = new List<LocalBinding>();
        var differentiates = new List<string>();
        foreach (var local in body.Locals)
        {
            if (d.Depends(local.Value))
            {
                d._dependentLocals.Add(local.Name);
            }

            var derivative = d.Differentiate(local.Value);
            if (derivative is not null)
            {
                string name = d.DerivativeName(local.Name, body);
                d._derivativeNames[local.Name] = name;
                locals.Add(new LocalBinding(name, derivative));
                differentiates.Add(local.Name);
            }
        }

        var result = d.Differentiate(body.Result) ?? Zero(body.Result.Type == ExprType.Double ? ExprType.Double : ExprType.Float);
        return new DerivativeResult(locals.ToEquatableArray(), differentiates.ToEquatableArray(), result, d._failures.ToEquatableArray());
    }

    /// <summary>The name of a local's derivative: the local's name and the suffix, lengthened until no user local has it.</summary>
    private string DerivativeName(string local, ModifierBody body)
    {
        string name = local + _suffix;
        while (body.Locals.Any(l => l.Name == name))
        {
            name += "_";
        }

        return name;
    }

    /// <summary>True when <paramref name="e"/>'s value changes with the variable (through any path, conditions included).</summary>
    private bool Depends(Expr e) =>
        _isVariable(e) || (e is LocalExpr local && _dependentLocals.Contains(local.Name)) || ExprQueries.Children(e).Any(Depends);

    /// <summary>The derivative of a float/double expression, or null when it is identically zero.</summary>
    private Expr? Differentiate(Expr e)
    {
        if (e.Type is ExprType.Int or ExprType.Bool)
        {
            return null;
        }

        if (_isVariable(e))
        {
            return One(e.Type);
        }

        switch (e)
        {
            case ConstantExpr:
            case ParameterExpr:
                return null;
            case LocalExpr local:
                return _derivativeNames.TryGetValue(local.Name, out var name) ? new LocalExpr(name, local.Type) : null;
            case BufferReadExpr read:
                if (Depends(read.Index))
                {
                    Fail(read, "reads a buffer at an index that depends on the variable (piecewise constant: its gradient would be zero)");
                }

                return null;
            case UnaryExpr { Operator: UnaryOperator.Negate } negate:
                return Differentiate(negate.Operand) is { } dn ? new UnaryExpr(UnaryOperator.Negate, dn, e.Type) : null;
            case BinaryExpr binary:
                return Binary(binary);
            case ConditionalExpr conditional:
            {
                var dt = Differentiate(conditional.WhenTrue);
                var df = Differentiate(conditional.WhenFalse);
                return dt is null && df is null ? null : new ConditionalExpr(conditional.Condition, dt ?? Zero(e.Type), df ?? Zero(e.Type), e.Type);
            }

            case ConvertExpr convert:
                if (convert.Operand.Type is ExprType.Int)
                {
                    if (Depends(convert.Operand))
                    {
                        Fail(convert, "converts a value that depends on the variable to int (piecewise constant: its gradient would be zero)");
                    }

                    return null;
                }

                return Differentiate(convert.Operand) is { } dc ? (dc.Type == e.Type ? dc : new ConvertExpr(dc, e.Type)) : null;
            case CallExpr call:
                return Call(call);
            default:
                return null;
        }
    }

    private Expr? Binary(BinaryExpr e)
    {
        var t = e.Type;
        var l = e.Left;
        var r = e.Right;
        var dl = Differentiate(l);
        var dr = Differentiate(r);
        switch (e.Operator)
        {
            case BinaryOperator.Add:
                return Add(dl, dr, t);
            case BinaryOperator.Subtract:
                return dr is null ? dl : dl is null ? new UnaryExpr(UnaryOperator.Negate, dr, t) : Bin(BinaryOperator.Subtract, dl, dr, t);
            case BinaryOperator.Multiply:
                return Add(dl is null ? null : Mul(dl, r, t), dr is null ? null : Mul(l, dr, t), t);
            case BinaryOperator.Divide:
                // d(l/r) = (dl − (l/r)·dr) / r
                if (dl is null && dr is null)
                {
                    return null;
                }

                var numerator = dr is null ? dl! : dl is null
                    ? new UnaryExpr(UnaryOperator.Negate, Mul(Bin(BinaryOperator.Divide, l, r, t), dr, t), t)
                    : Bin(BinaryOperator.Subtract, dl, Mul(Bin(BinaryOperator.Divide, l, r, t), dr, t), t);
                return Bin(BinaryOperator.Divide, numerator, r, t);
            case BinaryOperator.Remainder:
                // l % r = l − r·trunc(l/r): dl when r does not depend on the variable.
                if (dr is not null)
                {
                    Fail(e, "takes a float remainder whose divisor depends on the variable");
                }

                return dl;
            default:
                return null;
        }
    }

    private Expr? Call(CallExpr e)
    {
        var t = e.Type;
        var x = e.Arguments[0];
        var dx = Differentiate(x);
        switch (e.Function)
        {
            case MathFunction.Abs:
                // Abs'(0) = 0.
                return dx is null ? null : new ConditionalExpr(
                    Bin(BinaryOperator.Greater, x, Zero(t), ExprType.Bool),
                    dx,
                    new ConditionalExpr(Bin(BinaryOperator.Less, x, Zero(t), ExprType.Bool), new UnaryExpr(UnaryOperator.Negate, dx, t), Zero(t), t),
                    t);
            case MathFunction.Min:
            case MathFunction.Max:
            {
                // Ties follow the first argument.
                var y = e.Arguments[1];
                var dy = Differentiate(y);
                if (dx is null && dy is null)
                {
                    return null;
                }

                var op = e.Function == MathFunction.Min ? BinaryOperator.LessOrEqual : BinaryOperator.GreaterOrEqual;
                return new ConditionalExpr(Bin(op, x, y, ExprType.Bool), dx ?? Zero(t), dy ?? Zero(t), t);
            }

            case MathFunction.Exp:
                return dx is null ? null : Mul(e, dx, t);
            case MathFunction.Log:
                return dx is null ? null : Bin(BinaryOperator.Divide, dx, x, t);
            case MathFunction.Tanh:
                return dx is null ? null : Mul(Bin(BinaryOperator.Subtract, One(t), Bin(BinaryOperator.Multiply, e, e, t), t), dx, t);
            case MathFunction.Sqrt:
                return dx is null ? null : Bin(BinaryOperator.Divide, dx, Bin(BinaryOperator.Multiply, Constant(t, 2), e, t), t);
            case MathFunction.Pow:
            {
                // d(x^y) = y·x^(y−1)·dx + x^y·ln(x)·dy.
                var y = e.Arguments[1];
                var dy = Differentiate(y);
                var exponentMinusOne = y is ConstantExpr c ? Constant(t, c.Value - 1) : Bin(BinaryOperator.Subtract, y, One(t), t);
                var viaBase = dx is null ? null : Mul(Mul(y, new CallExpr(MathFunction.Pow, new[] { x, exponentMinusOne }.ToEquatableArray(), t), t), dx, t);
                var viaExponent = dy is null ? null : Mul(Mul(e, new CallExpr(MathFunction.Log, new[] { x }.ToEquatableArray(), t), t), dy, t);
                return Add(viaBase, viaExponent, t);
            }

            case MathFunction.Floor:
            case MathFunction.Ceiling:
                if (dx is not null)
                {
                    Fail(e, "rounds (" + e.Function + ") a value that depends on the variable (piecewise constant: its gradient would be zero)");
                }

                return null;
            default:
                return null;
        }
    }

    private void Fail(Expr node, string reason)
    {
        if (!_failures.Any(f => ReferenceEquals(f.Node, node)))
        {
            _failures.Add(new DerivativeFailure(node, reason));
        }
    }

    private static Expr? Add(Expr? a, Expr? b, ExprType t) => a is null ? b : b is null ? a : Bin(BinaryOperator.Add, a, b, t);

    /// <summary>a·b, dropping a factor that is the constant 1.</summary>
    private static Expr Mul(Expr a, Expr b, ExprType t) =>
        a is ConstantExpr { Value: 1 } ? b : b is ConstantExpr { Value: 1 } ? a : Bin(BinaryOperator.Multiply, a, b, t);

    private static Expr Bin(BinaryOperator op, Expr l, Expr r, ExprType t) => new BinaryExpr(op, l, r, t);

    private static Expr Constant(ExprType t, double value) => new ConstantExpr(t, value);

    private static Expr Zero(ExprType t) => Constant(t, 0);

    private static Expr One(ExprType t) => Constant(t, 1);
}

/// <summary>
/// A derivative as IR: <see cref="Locals"/> are the derivatives of the body's locals named in <see cref="Differentiates"/>
/// (they read the body's own locals, so a writer declares each right after the local it differentiates), then
/// <see cref="Result"/>. <see cref="Failures"/> lists the nodes that cannot be differentiated (empty when it is defined).
/// </summary>
public sealed record DerivativeResult(EquatableArray<LocalBinding> Locals, EquatableArray<string> Differentiates, Expr Result, EquatableArray<DerivativeFailure> Failures)
{
    /// <summary>The derivative local of the body's local <paramref name="name"/>, or null when that local's derivative is zero.</summary>
    public LocalBinding? LocalFor(string name)
    {
        for (int i = 0; i < Differentiates.Count; i++)
        {
            if (Differentiates[i] == name)
            {
                return Locals[i];
            }
        }

        return null;
    }

    public bool IsDefined => Failures.Count == 0;
}

/// <summary>A node whose derivative is not defined by the rules, and why.</summary>
public sealed record DerivativeFailure(Expr Node, string Reason);
