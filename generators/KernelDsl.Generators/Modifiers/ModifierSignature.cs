using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelDsl.Generators.Modifiers;

/// <summary>
/// The signature rules of modifier methods (KDSL0023): static, not generic, a body, the right return type, and
/// parameters drawn from score/b/h/q/kv by name (any subset, any order), each of its fixed type, passed by value,
/// plus any number of captured buffers (CapturedParameters).
/// </summary>
internal static class ModifierSignature
{
    private static readonly (string Name, ModifierInput Input, SpecialType Type)[] Parameters =
    {
        ("score", ModifierInput.Score, SpecialType.System_Single),
        ("b", ModifierInput.Batch, SpecialType.System_Int32),
        ("h", ModifierInput.Head, SpecialType.System_Int32),
        ("q", ModifierInput.QueryIndex, SpecialType.System_Int32),
        ("kv", ModifierInput.KeyIndex, SpecialType.System_Int32),
    };

    /// <summary>The canonical declaration, as the message shows it.</summary>
    public static string Canonical(ModifierKind kind, string name) => kind == ModifierKind.Score
        ? $"static float {name}(float score, int b, int h, int q, int kv)"
        : $"static bool {name}(int b, int h, int q, int kv)";

    /// <returns>Parameter → input, or null after reporting what is wrong; <paramref name="buffers"/> gets the captured buffers.</returns>
    public static Dictionary<IParameterSymbol, ModifierInput>? Check(
        IMethodSymbol method, MethodDeclarationSyntax? declaration, ModifierKind kind, List<LocatedDiagnostic> diagnostics,
        out Dictionary<IParameterSymbol, CapturedBuffer> buffers)
    {
        buffers = new Dictionary<IParameterSymbol, CapturedBuffer>(SymbolEqualityComparer.Default);
        int before = diagnostics.Count;
        var identifier = declaration is null ? null : LocationInfo.From(declaration.Identifier);
        void Report(LocationInfo? at, string problem) => diagnostics.Add(LocatedDiagnostic.Create(
            DiagnosticCatalog.ModifierSignatureInvalid, at ?? identifier, kind == ModifierKind.Score ? ModifierReader.ScoreAttribute : ModifierReader.MaskAttribute,
            method.Name, problem, Canonical(kind, method.Name)));

        if (!method.IsStatic)
        {
            Report(identifier, "must be static (modifiers cannot read instance state)");
        }

        if (method.IsGenericMethod)
        {
            Report(identifier, "must not be generic");
        }

        if (method.IsAsync)
        {
            Report(identifier, "must not be async");
        }

        if (declaration is null || (declaration.Body is null && declaration.ExpressionBody is null))
        {
            Report(identifier, "has no body to compile");
        }

        var returnType = kind == ModifierKind.Score ? SpecialType.System_Single : SpecialType.System_Boolean;
        if (method.ReturnType.SpecialType != returnType || method.ReturnsByRef || method.ReturnsByRefReadonly)
        {
            Report(declaration is null ? null : LocationInfo.From(declaration.ReturnType), "must return " + (kind == ModifierKind.Score ? "float" : "bool"));
        }

        var inputs = new Dictionary<IParameterSymbol, ModifierInput>(SymbolEqualityComparer.Default);
        foreach (var parameter in method.Parameters)
        {
            var at = parameter.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax() is { } syntax ? LocationInfo.From(syntax) : identifier;
            var match = Parameters.FirstOrDefault(p => p.Name == parameter.Name && (kind == ModifierKind.Score || p.Input != ModifierInput.Score));
            if (match.Name is null && CapturedParameters.IsCandidate(parameter))
            {
                if (CapturedParameters.Read(parameter, method.Name, at, diagnostics) is { } buffer)
                {
                    buffers[parameter] = buffer;
                }
            }
            else if (match.Name is null)
            {
                Report(at, $"has a parameter '{parameter.Name}' that is not one of " + (kind == ModifierKind.Score ? "score, b, h, q, kv" : "b, h, q, kv") + " nor a [Captured] ReadOnlySpan buffer");
            }
            else if (parameter.Type.SpecialType != match.Type || parameter.RefKind != RefKind.None || parameter.IsParams)
            {
                Report(at, $"declares '{parameter.Name}' as '{parameter.ToDisplayString()}', not as a plain {(match.Type == SpecialType.System_Single ? "float" : "int")}");
            }
            else
            {
                inputs[parameter] = match.Input;
            }
        }

        return diagnostics.Count == before ? inputs : null;
    }
}
