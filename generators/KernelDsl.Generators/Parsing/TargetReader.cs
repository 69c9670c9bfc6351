using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelDsl.Generators.Parsing;

/// <summary>
/// The user's class as the emitters need it (namespace, containing types, name, keyword, static), and the
/// checks that decide whether generated members can be added to it at all: partial (KDSL0001), not generic
/// (KDSL0013), containing types partial (KDSL0014).
/// </summary>
internal static class TargetReader
{
    private static readonly SymbolDisplayFormat NamespaceFormat = new(
        globalNamespaceStyle: SymbolDisplayGlobalNamespaceStyle.Omitted,
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers);

    public static TargetType Read(INamedTypeSymbol symbol, TypeDeclarationSyntax declaration, List<LocatedDiagnostic> diagnostics)
    {
        if (!IsPartial(declaration))
        {
            diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.ClassNotPartial, LocationInfo.From(declaration.Identifier), symbol.Name));
        }

        if (declaration.TypeParameterList is { } typeParameters)
        {
            diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.GenericSpecUnsupported, LocationInfo.From(typeParameters), symbol.Name));
        }

        // Syntax ancestors, innermost first: the declarations the generated file must reopen.
        foreach (var outer in declaration.Ancestors().OfType<TypeDeclarationSyntax>())
        {
            if (!IsPartial(outer))
            {
                diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.ContainingTypeNotPartial, LocationInfo.From(outer.Identifier), outer.Identifier.ValueText, symbol.Name));
            }
        }

        // A file-local type (or one nested in a file-local type) cannot be reopened from the generated file.
        foreach (var type in declaration.AncestorsAndSelf().OfType<TypeDeclarationSyntax>())
        {
            var file = type.Modifiers.FirstOrDefault(modifier => modifier.IsKind(SyntaxKind.FileKeyword));
            if (file.IsKind(SyntaxKind.FileKeyword))
            {
                diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.FileLocalSpecUnsupported, LocationInfo.From(file), type.Identifier.ValueText, symbol.Name));
            }
        }

        var containing = new List<ContainingType>();
        for (var outer = symbol.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            containing.Insert(0, new ContainingType(Keyword(outer), NameWithTypeParameters(outer), outer.IsStatic));
        }

        string? ns = symbol.ContainingNamespace is { IsGlobalNamespace: false } containingNamespace
            ? containingNamespace.ToDisplayString(NamespaceFormat)
            : null;
        return new TargetType(ns, containing.ToEquatableArray(), Escape(symbol.Name), Keyword(symbol), symbol.IsStatic);
    }

    /// <summary>
    /// False when the class's name or namespace is missing from the syntax (<c>partial class { }</c>, a bare
    /// <c>namespace</c>): C# already reports that, and there is nothing to name a generated file after.
    /// </summary>
    public static bool IsNamed(INamedTypeSymbol symbol, TypeDeclarationSyntax declaration)
    {
        if (declaration.Identifier.IsMissing || declaration.Ancestors().OfType<TypeDeclarationSyntax>().Any(outer => outer.Identifier.IsMissing))
        {
            return false;
        }

        for (var ns = symbol.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
        {
            if (ns.Name.Length == 0)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsPartial(TypeDeclarationSyntax declaration) => declaration.Modifiers.Any(SyntaxKind.PartialKeyword);

    /// <summary>The keyword that reopens the type: class, struct, interface, record, record struct.</summary>
    private static string Keyword(INamedTypeSymbol type) => type switch
    {
        { IsRecord: true, IsValueType: true } => "record struct",
        { IsRecord: true } => "record",
        { TypeKind: TypeKind.Struct } => "struct",
        { TypeKind: TypeKind.Interface } => "interface",
        _ => "class",
    };

    private static string NameWithTypeParameters(INamedTypeSymbol type) =>
        type.TypeParameters.Length == 0
            ? Escape(type.Name)
            : Escape(type.Name) + "<" + string.Join(", ", type.TypeParameters.Select(parameter => Escape(parameter.Name))) + ">";

    /// <summary>A type named like a keyword (<c>@class</c>) must keep its '@' in generated code.</summary>
    private static string Escape(string name) =>
        SyntaxFacts.IsReservedKeyword(SyntaxFacts.GetKeywordKind(name)) ? "@" + name : name;
}
