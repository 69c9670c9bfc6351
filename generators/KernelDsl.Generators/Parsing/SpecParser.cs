using System.Collections.Generic;
using System.Linq;
using System.Threading;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;
using KernelDsl.Generators.Model;
using KernelDsl.Generators.Modifiers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelDsl.Generators.Parsing;

/// <summary>
/// The parse step: one [Attention] class → <see cref="SpecModel"/>. Reads the class (TargetReader), each
/// KernelDsl attribute on any of its parts (AttributeReader), and builds the spec (SpecBuilder), recording for
/// each spec path the syntax that wrote it. Never throws for bad input: everything wrong becomes a diagnostic.
/// </summary>
internal static class SpecParser
{
    /// <returns>The model, or null when this declaration is not the one that speaks for its class.</returns>
    public static SpecModel? Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        if (context.TargetSymbol is not INamedTypeSymbol symbol
            || context.TargetNode is not TypeDeclarationSyntax declaration
            || !TargetReader.IsNamed(symbol, declaration))
        {
            return null;
        }

        var attributes = symbol.GetAttributes();
        var first = attributes.FirstOrDefault(data => ShortName(data) == ArgumentRules.Attention);
        if (first?.ApplicationSyntaxReference is not { } firstSyntax
            || firstSyntax.SyntaxTree != declaration.SyntaxTree
            || !declaration.Span.Contains(firstSyntax.Span))
        {
            // [Attention] on several parts of one class is C#'s error (CS0579); the part holding the first one
            // speaks for the class, so the class gets one model and one set of generated files.
            return null;
        }

        var diagnostics = new List<LocatedDiagnostic>();
        var locations = new LocationMap.Builder();
        var classLocation = LocationInfo.From(declaration.Identifier);
        locations.Add(SpecPaths.Class, classLocation);

        var target = TargetReader.Read(symbol, declaration, diagnostics);
        var semanticModel = context.SemanticModel;
        SemanticModel ModelFor(SyntaxTree tree) => tree == semanticModel.SyntaxTree ? semanticModel : semanticModel.Compilation.GetSemanticModel(tree);

        var parsed = new Dictionary<string, ParsedAttribute>();
        foreach (var data in attributes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ShortName(data) is not { } name)
            {
                continue;
            }

            var attribute = AttributeReader.Read(name, data, ModelFor, classLocation, diagnostics, cancellationToken);
            if (parsed.TryGetValue(name, out var earlier))
            {
                // Only [Mask] allows several (so that this message, not C#'s CS0579, explains what to write).
                // A repeated single-use attribute is C#'s error; the first one counts.
                if (name == ArgumentRules.Mask)
                {
                    string otherKind = earlier.GetOrNull<int>("Kind") is int kind ? ((MaskKind)kind).ToString() : "another";
                    diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.ConflictingMasks, attribute.Location, otherKind));
                }

                continue;
            }

            parsed[name] = attribute;
            locations.Add(name, attribute.Location);
            foreach (var argument in attribute.Arguments)
            {
                locations.Add(name + "." + argument.Key, argument.Value.Location);
            }
        }

        var spec = SpecBuilder.Build(target, parsed[ArgumentRules.Attention], parsed, diagnostics);
        var (scoreModifier, maskModifier) = ModifierReader.Read(symbol, ModelFor, diagnostics, cancellationToken, parsed.ContainsKey(ArgumentRules.Backward));
        AddModifierLocation(locations, symbol, scoreModifier, SpecPaths.ScoreModifier);
        AddModifierLocation(locations, symbol, maskModifier, SpecPaths.MaskModifier);
        if (spec is not null)
        {
            spec = spec with { ScoreModifier = scoreModifier, MaskModifier = maskModifier };
        }

        bool canEmit = spec is not null && !diagnostics.Any(diagnostic => diagnostic.Descriptor.Severity == Severity.Error);
        return new SpecModel(spec, canEmit, locations.Build(), diagnostics.ToEquatableArray());
    }

    /// <summary>"Mask" for KernelDsl.MaskAttribute; null for any other attribute (or one whose type did not resolve).</summary>
    public static string? ShortName(AttributeData data)
    {
        if (data.AttributeClass is not { TypeKind: not TypeKind.Error } type || type.ContainingNamespace?.ToDisplayString() != "KernelDsl")
        {
            return null;
        }

        foreach (var name in ArgumentRules.Attributes)
        {
            if (type.MetadataName == name + "Attribute")
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>Lets compiler diagnostics about a modifier (e.g. no GPU kernel) point at the method's name.</summary>
    private static void AddModifierLocation(LocationMap.Builder locations, INamedTypeSymbol symbol, Compiler.Model.Expressions.ModifierSpec? modifier, string path)
    {
        if (modifier is null)
        {
            return;
        }

        foreach (var method in symbol.GetMembers(modifier.MethodName).OfType<IMethodSymbol>())
        {
            if (ModifierReader.Identifier(method) is { } location)
            {
                locations.Add(path, location);
                return;
            }
        }
    }
}
