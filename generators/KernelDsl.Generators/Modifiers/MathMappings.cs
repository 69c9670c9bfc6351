using KernelDsl.Compiler.Model.Expressions;
using Microsoft.CodeAnalysis;

namespace KernelDsl.Generators.Modifiers;

/// <summary>
/// The Math/MathF methods a modifier may call, by name and arity: the IR's <see cref="MathFunction"/>s. Any other
/// overload (Math.Log(a, newBase), Math.Round(x, digits), ...) or method is reported as unsupported.
/// Argument types are checked like every other value (int, float, double).
/// </summary>
internal static class MathMappings
{
    private static readonly (string Name, int Arity, MathFunction Function)[] Table =
    {
        ("Abs", 1, MathFunction.Abs),
        ("Min", 2, MathFunction.Min),
        ("Max", 2, MathFunction.Max),
        ("Exp", 1, MathFunction.Exp),
        ("Log", 1, MathFunction.Log),
        ("Tanh", 1, MathFunction.Tanh),
        ("Sqrt", 1, MathFunction.Sqrt),
        ("Floor", 1, MathFunction.Floor),
        ("Ceiling", 1, MathFunction.Ceiling),
        ("Pow", 2, MathFunction.Pow),
    };

    /// <summary>The supported functions, as messages list them.</summary>
    public const string Supported = "Abs, Min, Max, Exp, Log, Tanh, Sqrt, Floor, Ceiling and Pow (with a constant exponent)";

    public static MathFunction? Find(IMethodSymbol method)
    {
        if (!IsMath(method.ContainingType))
        {
            return null;
        }

        foreach (var (name, arity, function) in Table)
        {
            if (method.Name == name && method.Parameters.Length == arity)
            {
                return function;
            }
        }

        return null;
    }

    public static bool IsMath(INamedTypeSymbol? type) =>
        type is not null && type.ContainingNamespace?.ToDisplayString() == "System" && type.Name is "Math" or "MathF";
}
