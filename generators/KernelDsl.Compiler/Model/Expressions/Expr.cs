namespace KernelDsl.Compiler.Model.Expressions;

// The typed expression IR that score and mask modifiers are lowered into (issue 4). The Roslyn adapter builds
// it from a modifier method's body; the CPU (C#) and PTX emitters both consume it, so the two backends agree by
// construction. Plain immutable records: equatable, no Roslyn types.

/// <summary>Value types of the IR. C# semantics: float is IEEE binary32, double binary64, int 32-bit wrapping.</summary>
public enum ExprType
{
    Bool,
    Int,
    Float,
    Double,
}

/// <summary>A typed, side-effect-free expression.</summary>
public abstract record Expr(ExprType Type);

/// <summary>A literal or a folded <c>const</c>. Bool is 0/1, Int an integral double.</summary>
public sealed record ConstantExpr(ExprType ConstantType, double Value) : Expr(ConstantType);

/// <summary>One of the modifier's inputs.</summary>
public sealed record ParameterExpr(ModifierInput Input) : Expr(Input == ModifierInput.Score ? ExprType.Float : ExprType.Int);

/// <summary>A local declared earlier in the modifier body (see <see cref="ModifierBody.Locals"/>).</summary>
public sealed record LocalExpr(string Name, ExprType LocalType) : Expr(LocalType);

public sealed record UnaryExpr(UnaryOperator Operator, Expr Operand, ExprType ResultType) : Expr(ResultType);

/// <summary>Both operands already have the type C# promotion gives them (the adapter inserts conversions).</summary>
public sealed record BinaryExpr(BinaryOperator Operator, Expr Left, Expr Right, ExprType ResultType) : Expr(ResultType);

public sealed record ConditionalExpr(Expr Condition, Expr WhenTrue, Expr WhenFalse, ExprType ResultType) : Expr(ResultType);

/// <summary>An explicit or implicit numeric conversion (C# rules: float→int truncates toward zero).</summary>
public sealed record ConvertExpr(Expr Operand, ExprType TargetType) : Expr(TargetType);

/// <summary>
/// <c>buffer[index]</c>: an element of a captured buffer (a read-only tensor the caller passes to <c>Forward</c>),
/// flattened row-major; <paramref name="Index"/> is an int expression. Out-of-range indices are not checked by
/// the kernels (the float64 reference throws).
/// </summary>
public sealed record BufferReadExpr(string Buffer, Expr Index, ExprType ElementType) : Expr(ElementType);

/// <summary>A Math/MathF function with arguments of the function's type.</summary>
public sealed record CallExpr(MathFunction Function, EquatableArray<Expr> Arguments, ExprType ResultType) : Expr(ResultType);

/// <summary>What a modifier reads: the score (score modifiers only), batch, head, query index, key index.</summary>
public enum ModifierInput
{
    Score,
    Batch,
    Head,
    QueryIndex,
    KeyIndex,
}

public enum UnaryOperator
{
    Negate,
    Not,
}

public enum BinaryOperator
{
    Add,
    Subtract,
    Multiply,
    Divide,
    Remainder,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
    NotEqual,
    And,
    Or,
}

/// <summary>Supported Math/MathF functions. Pow requires a constant exponent.</summary>
public enum MathFunction
{
    Abs,
    Min,
    Max,
    Exp,
    Log,
    Tanh,
    Sqrt,
    Floor,
    Ceiling,
    Pow,
}

/// <summary>A local declaration in a modifier's block body, in order.</summary>
public sealed record LocalBinding(string Name, Expr Value);

/// <summary>A modifier's body: locals in declaration order, then the returned expression.</summary>
public sealed record ModifierBody(EquatableArray<LocalBinding> Locals, Expr Result);

public enum ModifierKind
{
    /// <summary><c>float (float score, int b, int h, int q, int kv)</c>, parameters optional by name.</summary>
    Score,

    /// <summary><c>bool (int b, int h, int q, int kv)</c>, parameters optional by name.</summary>
    Mask,
}

/// <summary>A translated modifier method, with the buffers it captures (its extra [Captured] parameters, in order).</summary>
public sealed record ModifierSpec(ModifierKind Kind, string MethodName, ModifierBody Body)
{
    public EquatableArray<CapturedBuffer> Buffers { get; init; } = EquatableArray<CapturedBuffer>.Empty;
}

/// <summary>
/// A read-only tensor a modifier indexes: its parameter name, element type (Int or Float) and row-major shape, each
/// dim a <see cref="CapturedDims"/> name (B, Hq, Hkv, Sq, Skv) or a positive integer literal.
/// </summary>
public sealed record CapturedBuffer(string Name, ExprType ElementType, EquatableArray<string> Dims)
{
    /// <summary>
    /// <c>[Captured(…, Learnable = true)]</c> (issue 10): a float buffer the score modifier reads whose gradient the
    /// generated Backward returns.
    /// </summary>
    public bool Learnable { get; init; }
}

/// <summary>The dimension names a [Captured] shape may use, and what they mean at a call.</summary>
public static class CapturedDims
{
    public static readonly string[] Names = { "B", "Hq", "Hkv", "Sq", "Skv" };

    /// <summary>The C# expression (over an <c>AttentionShape shape</c>) that a dim stands for.</summary>
    public static string ShapeExpression(string dim) => dim switch
    {
        "B" => "shape.Batch",
        "Hq" => "shape.HeadsQ",
        "Hkv" => "shape.HeadsKv",
        "Sq" => "shape.SeqQ",
        "Skv" => "shape.SeqKv",
        _ => dim,
    };

    public static bool IsValid(string dim) =>
        System.Array.IndexOf(Names, dim) >= 0
        || (int.TryParse(dim, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n > 0);
}
