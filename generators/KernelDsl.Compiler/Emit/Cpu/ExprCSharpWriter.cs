using System.Collections.Generic;
using System.Globalization;
using KernelDsl.Compiler.Model.Expressions;

namespace KernelDsl.Compiler.Emit.Cpu;

/// <summary>
/// Writes the expression IR as C#: the CPU kernel's modifier methods (float, exactly the user's C# semantics) and,
/// with <see cref="Reference"/>, the float64 reference ones (every float value widened to double, int math kept).
/// Every compound expression is parenthesised, so the output never depends on C# precedence.
/// </summary>
public sealed class ExprCSharpWriter
{
    /// <summary>C# semantics of the user's method (float stays float).</summary>
    public static ExprCSharpWriter Kernel { get; } = new(false);

    /// <summary>The same expression with float evaluated in double: the reference for numeric tests.</summary>
    public static ExprCSharpWriter Reference { get; } = new(true);

    private readonly bool _wide;

    private ExprCSharpWriter(bool wide) => _wide = wide;

    /// <summary>
    /// The C# parameter list of a modifier, in canonical order (unused inputs are still declared), then its captured
    /// buffers: pointers in the kernel, <c>ReadOnlySpan</c>s (bounds-checked) in the reference.
    /// </summary>
    public string Parameters(ModifierSpec modifier)
    {
        string list = (modifier.Kind == ModifierKind.Score ? Type(ExprType.Float) + " score, " : string.Empty) + "int b, int h, int q, int kv";
        foreach (var buffer in modifier.Buffers)
        {
            list += ", " + BufferType(buffer) + " " + buffer.Name;
        }

        return list;
    }

    /// <summary>
    /// How a buffer parameter is declared: <c>KernelDsl.CapturedSpan&lt;float&gt;</c> in the kernel (pinned, every read
    /// bounds-checked: an index outside the buffer throws an ArgumentException naming it), <c>ReadOnlySpan&lt;float&gt;</c>
    /// in the reference.
    /// </summary>
    public string BufferType(CapturedBuffer buffer)
    {
        string element = buffer.ElementType == ExprType.Int ? "int" : "float";
        return _wide ? "global::System.ReadOnlySpan<" + element + ">" : "global::KernelDsl.CapturedSpan<" + element + ">";
    }

    public string Type(ExprType type) => type switch
    {
        ExprType.Bool => "bool",
        ExprType.Int => "int",
        ExprType.Float => _wide ? "double" : "float",
        _ => "double",
    };

    /// <summary>The body's statements: the locals the result needs (unused ones are dropped: CS0219), then the return.</summary>
    public void Body(CodeWriter w, ModifierBody body)
    {
        var used = UsedLocals(body);
        foreach (var local in body.Locals)
        {
            if (used.Contains(local.Name))
            {
                w.Line(Type(local.Value.Type) + " " + LocalName(local.Name) + " = " + Write(local.Value) + ";");
            }
        }

        w.Line("return " + Write(body.Result) + ";");
    }

    public string Write(Expr expr) => expr switch
    {
        ConstantExpr constant => Constant(constant),
        ParameterExpr parameter => Parameter(parameter.Input),
        LocalExpr local => LocalName(local.Name),
        UnaryExpr unary => "(" + (unary.Operator == UnaryOperator.Negate ? "-" : "!") + Write(unary.Operand) + ")",
        BinaryExpr binary => "(" + Write(binary.Left) + " " + Operator(binary.Operator) + " " + Write(binary.Right) + ")",
        ConditionalExpr conditional => "(" + Write(conditional.Condition) + " ? " + Write(conditional.WhenTrue) + " : " + Write(conditional.WhenFalse) + ")",
        ConvertExpr convert => "((" + Type(convert.TargetType) + ")" + Write(convert.Operand) + ")",
        CallExpr call => Call(call),
        BufferReadExpr read => _wide && read.ElementType == ExprType.Float
            ? "((double)" + read.Buffer + "[" + Write(read.Index) + "])"
            : read.Buffer + "[" + Write(read.Index) + "]",
        _ => throw new System.ArgumentOutOfRangeException(nameof(expr), expr.GetType().Name),
    };

    /// <summary>User locals get a prefix, so that none can shadow a canonical parameter name (b, h, q, kv, score).</summary>
    public static string LocalName(string name) => "local_" + name;

    public static string Parameter(ModifierInput input) => input switch
    {
        ModifierInput.Score => "score",
        ModifierInput.Batch => "b",
        ModifierInput.Head => "h",
        ModifierInput.QueryIndex => "q",
        _ => "kv",
    };

    private string Call(CallExpr call)
    {
        // MathF for float (C# semantics); Math for double, int, and for float widened in the reference.
        string type = call.ResultType == ExprType.Float && !_wide ? "global::System.MathF." : "global::System.Math.";
        var arguments = new List<string>();
        foreach (var argument in call.Arguments)
        {
            arguments.Add(Write(argument));
        }

        return type + call.Function + "(" + string.Join(", ", arguments) + ")";
    }

    private string Constant(ConstantExpr constant)
    {
        double value = constant.Value;
        switch (constant.ConstantType)
        {
            case ExprType.Bool:
                return value != 0 ? "true" : "false";
            case ExprType.Int:
                return "(" + ((int)value).ToString(CultureInfo.InvariantCulture) + ")";
            case ExprType.Float when !_wide:
                return Special(value, "float") ?? "(" + ((float)value).ToString("R", CultureInfo.InvariantCulture) + "f)";
            case ExprType.Float:
                // The float literal's shortest spelling, read as a double: 0.1f means 0.1 in the reference.
                return Special(value, "double") ?? "(" + ((float)value).ToString("R", CultureInfo.InvariantCulture) + "d)";
            default:
                return Special(value, "double") ?? "(" + value.ToString("R", CultureInfo.InvariantCulture) + "d)";
        }
    }

    private static string? Special(double value, string type) =>
        double.IsNaN(value) ? type + ".NaN"
        : double.IsPositiveInfinity(value) ? type + ".PositiveInfinity"
        : double.IsNegativeInfinity(value) ? type + ".NegativeInfinity"
        : null;

    private static string Operator(BinaryOperator op) => op switch
    {
        BinaryOperator.Add => "+",
        BinaryOperator.Subtract => "-",
        BinaryOperator.Multiply => "*",
        BinaryOperator.Divide => "/",
        BinaryOperator.Remainder => "%",
        BinaryOperator.Less => "<",
        BinaryOperator.LessOrEqual => "<=",
        BinaryOperator.Greater => ">",
        BinaryOperator.GreaterOrEqual => ">=",
        BinaryOperator.Equal => "==",
        BinaryOperator.NotEqual => "!=",
        BinaryOperator.And => "&&",
        _ => "||",
    };

    private static HashSet<string> UsedLocals(ModifierBody body)
    {
        // Walk back from the result: a local is used when the result, or a used local declared after it, reads it.
        var used = new HashSet<string>();
        Collect(body.Result, used);
        for (int i = body.Locals.Count - 1; i >= 0; i--)
        {
            if (used.Contains(body.Locals[i].Name))
            {
                Collect(body.Locals[i].Value, used);
            }
        }

        return used;
    }

    private static void Collect(Expr expr, HashSet<string> used)
    {
        switch (expr)
        {
            case LocalExpr local:
                used.Add(local.Name);
                break;
            case UnaryExpr unary:
                Collect(unary.Operand, used);
                break;
            case BinaryExpr binary:
                Collect(binary.Left, used);
                Collect(binary.Right, used);
                break;
            case ConditionalExpr conditional:
                Collect(conditional.Condition, used);
                Collect(conditional.WhenTrue, used);
                Collect(conditional.WhenFalse, used);
                break;
            case ConvertExpr convert:
                Collect(convert.Operand, used);
                break;
            case CallExpr call:
                foreach (var argument in call.Arguments)
                {
                    Collect(argument, used);
                }

                break;
            case BufferReadExpr read:
                Collect(read.Index, used);
                break;
        }
    }
}
