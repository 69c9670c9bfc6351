using System.Collections.Generic;
using System.Linq;

namespace KernelDsl.Compiler.Model.Expressions;

/// <summary>Questions about modifier expressions that the planners and emitters ask (pure queries over the IR).</summary>
public static class ExprQueries
{
    /// <summary>True when <paramref name="e"/> or any subexpression reads <paramref name="input"/>.</summary>
    public static bool Uses(Expr e, ModifierInput input) =>
        (e is ParameterExpr p && p.Input == input) || Children(e).Any(c => Uses(c, input));

    /// <summary>True when the body (a local or the result) reads <paramref name="input"/>.</summary>
    public static bool Reads(this ModifierBody body, ModifierInput input) =>
        body.Locals.Any(local => Uses(local.Value, input)) || Uses(body.Result, input);

    /// <summary>The direct subexpressions of <paramref name="e"/>: listed once here, so every walk over the IR sees a new node kind.</summary>
    public static IEnumerable<Expr> Children(Expr e) => e switch
    {
        UnaryExpr u => new[] { u.Operand },
        BinaryExpr b => new[] { b.Left, b.Right },
        ConditionalExpr c => new[] { c.Condition, c.WhenTrue, c.WhenFalse },
        ConvertExpr c => new[] { c.Operand },
        CallExpr c => c.Arguments,
        BufferReadExpr r => new[] { r.Index },
        _ => System.Array.Empty<Expr>(),
    };
}
