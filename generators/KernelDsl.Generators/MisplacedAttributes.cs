using System.Linq;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;
using KernelDsl.Generators.Model;
using KernelDsl.Generators.Parsing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelDsl.Generators;

/// <summary>
/// KDSL0017: a spec attribute ([Precision], [Mask], ...) on a class without [Attention] does nothing, which is
/// almost certainly a forgotten [Attention]. Warned at each such attribute.
/// </summary>
internal static class MisplacedAttributes
{
    public static EquatableArray<LocatedDiagnostic> Find(GeneratorAttributeSyntaxContext context, string attribute)
    {
        if (context.TargetSymbol is not INamedTypeSymbol symbol
            || context.TargetNode is not TypeDeclarationSyntax declaration
            || symbol.GetAttributes().Any(data => SpecParser.ShortName(data) == ArgumentRules.Attention))
        {
            return EquatableArray<LocatedDiagnostic>.Empty;
        }

        return context.Attributes
            .Select(data => data.ApplicationSyntaxReference)
            .Where(reference => reference is not null && reference.SyntaxTree == declaration.SyntaxTree)
            .Select(reference => LocatedDiagnostic.Create(
                DiagnosticCatalog.SpecAttributeMisplaced,
                LocationInfo.From(reference!.GetSyntax()),
                attribute,
                symbol.Name))
            .ToEquatableArray();
    }
}
