using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelDsl.Generators.Modifiers;

/// <summary>
/// Finds the spec class's [ScoreMod] and [MaskMod] methods (at most one of each, KDSL0022), checks each
/// signature (ModifierSignature) and lowers each body into the expression IR (ModifierTranslator).
/// A modifier with any diagnostic translates to null; its errors keep the spec from emitting.
/// </summary>
internal static class ModifierReader
{
    public const string ScoreAttribute = "ScoreMod";
    public const string MaskAttribute = "MaskMod";

    public static (ModifierSpec? Score, ModifierSpec? Mask) Read(
        INamedTypeSymbol type,
        Func<SyntaxTree, SemanticModel> modelFor,
        List<LocatedDiagnostic> diagnostics,
        CancellationToken cancellationToken,
        bool backward = false)
    {
        var score = Find(type, ScoreAttribute, diagnostics);
        var mask = Find(type, MaskAttribute, diagnostics);
        var training = new ModifierTraining(type.Name, backward, diagnostics);
        var scoreSpec = score is null ? null : Translate(score, ModifierKind.Score, modelFor, diagnostics, cancellationToken, training);
        var maskSpec = mask is null ? null : Translate(mask, ModifierKind.Mask, modelFor, diagnostics, cancellationToken, training);
        if (scoreSpec is not null && maskSpec is not null && !BuffersAgree(scoreSpec, maskSpec, mask!, diagnostics))
        {
            return (scoreSpec, null);
        }

        return (scoreSpec, maskSpec);
    }

    /// <summary>A buffer name captured by both modifiers must mean one buffer: same element type and shape (KDSL0029 otherwise).</summary>
    private static bool BuffersAgree(ModifierSpec score, ModifierSpec mask, IMethodSymbol maskMethod, List<LocatedDiagnostic> diagnostics)
    {
        bool agree = true;
        foreach (var buffer in mask.Buffers)
        {
            foreach (var other in score.Buffers)
            {
                if (other.Name == buffer.Name && other != buffer)
                {
                    var parameter = maskMethod.Parameters.FirstOrDefault(p => p.Name == buffer.Name);
                    var at = parameter?.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax() is { } syntax ? LocationInfo.From(syntax) : Identifier(maskMethod);
                    diagnostics.Add(LocatedDiagnostic.Create(
                        DiagnosticCatalog.CapturedBufferConflict, at, buffer.Name, CapturedParameters.Describe(other), CapturedParameters.Describe(buffer)));
                    agree = false;
                }
            }
        }

        return agree;
    }

    private static IMethodSymbol? Find(INamedTypeSymbol type, string attribute, List<LocatedDiagnostic> diagnostics)
    {
        var marked = type.GetMembers().OfType<IMethodSymbol>().Where(method => HasAttribute(method, attribute)).ToList();
        for (int i = 1; i < marked.Count; i++)
        {
            diagnostics.Add(LocatedDiagnostic.Create(
                DiagnosticCatalog.ModifierDuplicate, Identifier(marked[i]), type.Name, attribute, marked[0].Name, marked[i].Name));
        }

        return marked.Count > 0 ? marked[0] : null;
    }

    private static ModifierSpec? Translate(
        IMethodSymbol method,
        ModifierKind kind,
        Func<SyntaxTree, SemanticModel> modelFor,
        List<LocatedDiagnostic> diagnostics,
        CancellationToken cancellationToken,
        ModifierTraining training)
    {
        var declaration = Declaration(method);
        var inputs = ModifierSignature.Check(method, declaration, kind, diagnostics, out var buffers);
        if (inputs is null || declaration is null)
        {
            return null;
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (!ModifierSize.Check(declaration, diagnostics))
        {
            return null;
        }

        var translator = new ModifierTranslator(modelFor(declaration.SyntaxTree), method.Name, inputs, buffers, diagnostics);
        var body = translator.Translate(declaration);
        var captured = method.Parameters.Where(buffers.ContainsKey).Select(p => buffers[p]).ToEquatableArray();
        var spec = body is null ? null : new ModifierSpec(kind, method.Name, body) { Buffers = captured };
        return spec is not null && training.Check(method, spec, translator.Origins) ? spec : null;
    }

    /// <summary>The declaration that has the body (a partial method's implementation part).</summary>
    internal static MethodDeclarationSyntax? Declaration(IMethodSymbol method)
    {
        var part = method.PartialImplementationPart ?? method;
        return part.DeclaringSyntaxReferences.Select(reference => reference.GetSyntax()).OfType<MethodDeclarationSyntax>().FirstOrDefault();
    }

    internal static LocationInfo? Identifier(IMethodSymbol method) =>
        Declaration(method) is { } declaration ? LocationInfo.From(declaration.Identifier) : null;

    private static bool HasAttribute(IMethodSymbol method, string attribute) =>
        method.GetAttributes().Any(data =>
            data.AttributeClass is { TypeKind: not TypeKind.Error } type
            && type.MetadataName == attribute + "Attribute"
            && type.ContainingNamespace?.ToDisplayString() == "KernelDsl");
}
