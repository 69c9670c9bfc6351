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
/// Captured buffers (issue 4): modifier parameters typed <c>ReadOnlySpan&lt;float&gt;</c>/<c>ReadOnlySpan&lt;int&gt;</c> and
/// marked <c>[Captured(dims…)]</c>. Checks each (KDSL0028 at the parameter, or at the offending attribute argument)
/// and reads it into the model's <see cref="CapturedBuffer"/>.
/// </summary>
internal static class CapturedParameters
{
    private const string AttributeName = "CapturedAttribute";

    /// <summary>Names a buffer cannot take: they are parameters of the generated Forward and CreateBlockMask methods.</summary>
    private static readonly string[] Reserved = { "q", "k", "v", "output", "lse", "shape", "stream", "blockMask", "context", "problem", "qData", "kData", "vData", "outputData", "lseData", "dOutput", "dq", "dk", "dv", "dOutputData", "dqData", "dkData", "dvData" };

    /// <summary>True when the parameter is a buffer candidate: a ReadOnlySpan or a [Captured] parameter.</summary>
    public static bool IsCandidate(IParameterSymbol parameter) => SpanElement(parameter.Type) is not null || Attribute(parameter) is not null;

    /// <returns>The buffer, or null after reporting KDSL0028.</returns>
    public static CapturedBuffer? Read(IParameterSymbol parameter, string method, LocationInfo? fallback, List<LocatedDiagnostic> diagnostics)
    {
        var syntax = parameter.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax() as ParameterSyntax;
        var at = syntax is null ? fallback : LocationInfo.From(syntax);
        void Report(LocationInfo? where, string problem) =>
            diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.CapturedBufferInvalid, where ?? at, parameter.Name, method, problem));

        var attribute = Attribute(parameter);
        var element = SpanElement(parameter.Type);
        int before = diagnostics.Count;
        if (attribute is null)
        {
            Report(at, "has no [Captured(…)] shape");
            return null;
        }

        if (element is null || parameter.RefKind != RefKind.None || parameter.IsParams)
        {
            Report(syntax?.Type is { } type ? LocationInfo.From(type) : at, $"is declared as '{parameter.Type.ToDisplayString()}', not as ReadOnlySpan<float> or ReadOnlySpan<int>");
        }

        if (System.Array.IndexOf(Reserved, parameter.Name) >= 0 || parameter.Name.StartsWith("__", System.StringComparison.Ordinal))
        {
            Report(syntax is null ? at : LocationInfo.From(syntax.Identifier), "has a name that the generated Forward uses itself (q, k, v, output, lse, shape, stream, blockMask, context, problem, dOutput, dq, dk, dv, *Data, __*); rename it");
        }

        var dims = Dims(attribute);
        var arguments = (attribute.ApplicationSyntaxReference?.GetSyntax() as AttributeSyntax)?.ArgumentList?.Arguments;
        if (dims.Count == 0)
        {
            Report(attribute.ApplicationSyntaxReference is { } reference ? LocationInfo.From(reference.GetSyntax()) : at, "has no dims in [Captured(…)]");
        }

        for (int i = 0; i < dims.Count; i++)
        {
            if (dims[i] is not { } dim || !CapturedDims.IsValid(dim))
            {
                var argument = arguments is { } list && i < list.Count ? LocationInfo.From(list[i]) : at;
                Report(argument, $"has the dim '{dims[i] ?? "null"}', which is neither B, Hq, Hkv, Sq, Skv nor a positive integer literal");
            }
        }

        if (diagnostics.Count == before && LiteralProduct(dims) > int.MaxValue)
        {
            // A span holds at most int.MaxValue elements and the modifier indexes it with an int, so no call could pass
            // a buffer this large; and the run-time length check must never see a product that wraps.
            Report(attribute.ApplicationSyntaxReference is { } tooLarge ? LocationInfo.From(tooLarge.GetSyntax()) : at,
                $"has literal dims whose product exceeds {int.MaxValue} elements, the most a ReadOnlySpan or an int index can reach");
        }

        bool learnable = attribute.NamedArguments.Any(named => named.Key == "Learnable" && named.Value.Value is true);
        if (learnable && element == ExprType.Int)
        {
            diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.LearnableBufferNotFloat, LearnableLocation(parameter) ?? at, parameter.Name, method));
        }

        return diagnostics.Count != before || element is null
            ? null
            : new CapturedBuffer(parameter.Name, element.Value, dims.Select(d => d!).ToEquatableArray()) { Learnable = learnable };
    }

    /// <summary>Where <c>Learnable = true</c> is written in the parameter's [Captured], or null.</summary>
    public static LocationInfo? LearnableLocation(IParameterSymbol parameter) =>
        (Attribute(parameter)?.ApplicationSyntaxReference?.GetSyntax() as AttributeSyntax)?.ArgumentList?.Arguments
            .FirstOrDefault(argument => argument.NameEquals?.Name.Identifier.ValueText == "Learnable") is { } syntax
            ? LocationInfo.From(syntax)
            : null;

    /// <summary>"float[Hq, 32]", for messages.</summary>
    public static string Describe(CapturedBuffer buffer) =>
        (buffer.ElementType == ExprType.Int ? "int" : "float") + "[" + string.Join(", ", buffer.Dims) + "]" + (buffer.Learnable ? " learnable" : string.Empty);

    /// <summary>The product of the integer-literal dims (the named ones left out), saturating at long.MaxValue.</summary>
    private static long LiteralProduct(List<string?> dims)
    {
        long product = 1;
        foreach (string? dim in dims)
        {
            if (long.TryParse(dim, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n))
            {
                product = n != 0 && product > long.MaxValue / n ? long.MaxValue : product * n;
            }
        }

        return product;
    }

    private static AttributeData? Attribute(IParameterSymbol parameter) =>
        parameter.GetAttributes().FirstOrDefault(data =>
            data.AttributeClass is { TypeKind: not TypeKind.Error } type
            && type.MetadataName == AttributeName
            && type.ContainingNamespace?.ToDisplayString() == "KernelDsl");

    private static List<string?> Dims(AttributeData attribute)
    {
        var dims = new List<string?>();
        foreach (var argument in attribute.ConstructorArguments)
        {
            if (argument.Kind == TypedConstantKind.Array && argument.IsNull)
            {
                dims.Add(null); // [Captured(null)]: the params array itself is null; reported as a null dim at that argument
            }
            else if (argument.Kind == TypedConstantKind.Array)
            {
                dims.AddRange(argument.Values.Select(value => value.Value as string));
            }
            else
            {
                dims.Add(argument.Value as string);
            }
        }

        return dims;
    }

    private static ExprType? SpanElement(ITypeSymbol type) =>
        type is INamedTypeSymbol { Name: "ReadOnlySpan", Arity: 1 } span && span.ContainingNamespace?.ToDisplayString() == "System"
            ? span.TypeArguments[0].SpecialType switch
            {
                SpecialType.System_Single => ExprType.Float,
                SpecialType.System_Int32 => ExprType.Int,
                _ => null,
            }
            : null;
}
