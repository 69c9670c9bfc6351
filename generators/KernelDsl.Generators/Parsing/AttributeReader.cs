using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace KernelDsl.Generators.Parsing;

/// <summary>
/// Reads one KernelDsl attribute. Values come from Roslyn's <see cref="AttributeData"/> (already converted to
/// the property types); the syntax says where each argument is and whether C# accepts it: an argument that
/// is of the wrong type, not a compile-time constant, outside its enum, unknown or repeated gets a KDSL0010 on
/// that argument and no value. Roslyn binds some wrong arguments anyway (<c>BlockQ = 1.5</c> reads as 1), so
/// the syntax checks come first.
/// </summary>
internal static class AttributeReader
{
    public static ParsedAttribute Read(
        string name,
        AttributeData data,
        Func<SyntaxTree, SemanticModel> semanticModels,
        LocationInfo fallback,
        List<LocatedDiagnostic> diagnostics,
        CancellationToken cancellationToken)
    {
        if (data.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is not AttributeSyntax syntax)
        {
            // Only attributes from metadata have no syntax; spec classes are source. Read what binding gave.
            return ReadWithoutSyntax(name, data, fallback, diagnostics);
        }

        var result = new ParsedAttribute(name, LocationInfo.From(syntax));
        int reportedBefore = diagnostics.Count;
        var model = semanticModels(syntax.SyntaxTree);
        var namedSeen = new Dictionary<string, int>();
        var constructorSeen = new HashSet<int>();
        int position = 0;

        foreach (var argument in syntax.ArgumentList?.Arguments ?? default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var location = LocationInfo.From(argument);
            if (argument.NameEquals is { } nameEquals)
            {
                string property = nameEquals.Name.Identifier.ValueText;
                var rule = ArgumentRules.Named(name, property);
                if (rule is null)
                {
                    Invalid(result, diagnostics, location, $"'{property}' is not an argument of [{name}]: {ArgumentRules.NamedChoices(name)}");
                    continue;
                }

                namedSeen.TryGetValue(property, out int occurrence);
                namedSeen[property] = occurrence + 1;
                if (occurrence > 0)
                {
                    Invalid(result, diagnostics, location, $"{property} is given more than once in [{name}]: keep one");
                    continue;
                }

                Accept(result, rule, argument, NamedValue(data, property), data.AttributeConstructor is not null, model, location, diagnostics, cancellationToken);
            }
            else
            {
                int index = argument.NameColon is { } nameColon ? ConstructorIndexOf(name, nameColon.Name.Identifier.ValueText) : position++;
                var rule = index >= 0 ? ArgumentRules.Constructor(name, index) : null;
                if (rule is null || !constructorSeen.Add(index))
                {
                    Invalid(result, diagnostics, location, ExtraArgumentMessage(name, Describe(argument)));
                    continue;
                }

                TypedConstant? value = data.AttributeConstructor is not null && index < data.ConstructorArguments.Length
                    ? data.ConstructorArguments[index]
                    : null;
                Accept(result, rule, argument, value, data.AttributeConstructor is not null, model, location, diagnostics, cancellationToken);
            }
        }

        for (int index = 0; index < ArgumentRules.ConstructorArity(name); index++)
        {
            if (!constructorSeen.Contains(index))
            {
                var rule = ArgumentRules.Constructor(name, index)!;
                Invalid(result, diagnostics, result.Location, $"[{name}] needs its {rule.Property} argument, e.g. {rule.Example}");
            }
        }

        if (data.AttributeConstructor is null && !diagnostics.Skip(reportedBefore).Any())
        {
            // Every argument looked right on its own, yet C# found no constructor (e.g. named arguments before
            // positional ones): say so once, on the attribute.
            Invalid(result, diagnostics, result.Location, $"[{name}] could not be bound to its constructor: write it as {ExampleOf(name)}");
        }

        return result;
    }

    private static void Accept(
        ParsedAttribute result,
        ArgumentRule rule,
        AttributeArgumentSyntax argument,
        TypedConstant? bound,
        bool attributeBound,
        SemanticModel model,
        LocationInfo location,
        List<LocatedDiagnostic> diagnostics,
        CancellationToken cancellationToken)
    {
        result.Mention(rule.Property);
        var expression = argument.Expression;
        string text = Describe(argument);
        var expected = ExpectedType(rule, model.Compilation);
        if (expected is null || expected.TypeKind == TypeKind.Error)
        {
            Invalid(result, diagnostics, location, $"{rule.SpecPath} cannot be read: the KernelDsl runtime assembly is missing {rule.RuntimeEnumName}");
            return;
        }

        var conversion = model.ClassifyConversion(expression, expected);
        if (!conversion.Exists || !conversion.IsImplicit)
        {
            Invalid(result, diagnostics, location, $"{text} is not {Expectation(rule)}: write e.g. {rule.Example}");
            return;
        }

        if (!model.GetConstantValue(expression, cancellationToken).HasValue)
        {
            Invalid(result, diagnostics, location, $"{text} is not a compile-time constant: write e.g. {rule.Example}");
            return;
        }

        object? value = Value(rule, bound);
        if (value is null && !attributeBound)
        {
            // This argument is fine; another one kept C# from binding the attribute at all, so there is no
            // value for any of them. That one is reported (or, if none is, the attribute as a whole).
            result.MarkInvalid();
            return;
        }

        if (value is null)
        {
            Invalid(result, diagnostics, location, $"{text} could not be read as {Expectation(rule)}: write e.g. {rule.Example}");
            return;
        }

        if (rule.Type == ArgumentType.Enum && !Enum.IsDefined(rule.MirrorEnum!, value))
        {
            Invalid(result, diagnostics, location, $"{text} is not a defined {ShortName(rule.RuntimeEnumName!)} value: use {rule.EnumChoices}");
            return;
        }

        result.Set(rule.Property, new ParsedArgument(value, location));
    }

    /// <summary>The bound value as the CLR type of its rule (enums as their int value), or null when it is not one.</summary>
    private static object? Value(ArgumentRule rule, TypedConstant? bound)
    {
        if (bound is not { } constant || constant.Kind is TypedConstantKind.Error or TypedConstantKind.Array || constant.IsNull)
        {
            return null;
        }

        return (rule.Type, constant.Value) switch
        {
            (ArgumentType.Int, int value) => value,
            (ArgumentType.Double, double value) => value,
            (ArgumentType.Bool, bool value) => value,
            (ArgumentType.Enum, int value) when constant.Kind == TypedConstantKind.Enum => value,
            _ => null,
        };
    }

    private static ITypeSymbol? ExpectedType(ArgumentRule rule, Microsoft.CodeAnalysis.Compilation compilation) => rule.Type switch
    {
        ArgumentType.Int => compilation.GetSpecialType(SpecialType.System_Int32),
        ArgumentType.Double => compilation.GetSpecialType(SpecialType.System_Double),
        ArgumentType.Bool => compilation.GetSpecialType(SpecialType.System_Boolean),
        _ => compilation.GetTypeByMetadataName(rule.RuntimeEnumName!),
    };

    private static TypedConstant? NamedValue(AttributeData data, string property)
    {
        foreach (var pair in data.NamedArguments)
        {
            if (pair.Key == property)
            {
                return pair.Value;
            }
        }

        return null;
    }

    /// <summary>A constructor argument written by name (<c>kind: MaskKind.Causal</c>): parameter names are the property names in camel case.</summary>
    private static int ConstructorIndexOf(string attribute, string parameter)
    {
        for (int index = 0; index < ArgumentRules.ConstructorArity(attribute); index++)
        {
            if (string.Equals(ArgumentRules.Constructor(attribute, index)!.Property, parameter, StringComparison.OrdinalIgnoreCase))
            {
                return index;
            }
        }

        return -1;
    }

    private static ParsedAttribute ReadWithoutSyntax(string name, AttributeData data, LocationInfo fallback, List<LocatedDiagnostic> diagnostics)
    {
        var result = new ParsedAttribute(name, fallback);
        for (int index = 0; index < ArgumentRules.ConstructorArity(name); index++)
        {
            var rule = ArgumentRules.Constructor(name, index)!;
            object? value = data.AttributeConstructor is not null && index < data.ConstructorArguments.Length ? Value(rule, data.ConstructorArguments[index]) : null;
            Store(result, rule, value, fallback, diagnostics);
        }

        foreach (var pair in data.NamedArguments)
        {
            var rule = ArgumentRules.Named(name, pair.Key);
            if (rule is null)
            {
                Invalid(result, diagnostics, fallback, $"'{pair.Key}' is not an argument of [{name}]: {ArgumentRules.NamedChoices(name)}");
                continue;
            }

            Store(result, rule, Value(rule, pair.Value), fallback, diagnostics);
        }

        return result;
    }

    private static void Store(ParsedAttribute result, ArgumentRule rule, object? value, LocationInfo location, List<LocatedDiagnostic> diagnostics)
    {
        if (value is null || (rule.Type == ArgumentType.Enum && !Enum.IsDefined(rule.MirrorEnum!, value)))
        {
            Invalid(result, diagnostics, location, $"{rule.SpecPath} could not be read: write e.g. {rule.Example}");
            return;
        }

        result.Set(rule.Property, new ParsedArgument(value, location));
    }

    private static void Invalid(ParsedAttribute result, List<LocatedDiagnostic> diagnostics, LocationInfo location, string message)
    {
        result.MarkInvalid();
        diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.InvalidArgument, location, message));
    }

    private static string ExtraArgumentMessage(string attribute, string text)
    {
        int arity = ArgumentRules.ConstructorArity(attribute);
        return arity == 0
            ? $"[{attribute}] takes only named arguments, so '{text}' is not one: write e.g. [{attribute}({ArgumentRules.All.First(rule => rule.Attribute == attribute).Example})]"
            : $"'{text}' is not an argument of [{attribute}]: write it as {ExampleOf(attribute)}";
    }

    private static string ExampleOf(string attribute)
    {
        var rule = ArgumentRules.All.FirstOrDefault(candidate => candidate.Attribute == attribute);
        if (rule is null)
        {
            return "[" + attribute + "]"; // an attribute without arguments ([Varlen])
        }

        return rule.ConstructorIndex >= 0 ? rule.Example : $"[{attribute}({rule.Example})]";
    }

    private static string Expectation(ArgumentRule rule) => rule.Type switch
    {
        ArgumentType.Int => "an int",
        ArgumentType.Double => "a number",
        ArgumentType.Bool => "true or false",
        _ => "a " + ShortName(rule.RuntimeEnumName!),
    };

    private static string ShortName(string metadataName) => metadataName.Substring(metadataName.LastIndexOf('.') + 1);

    /// <summary>The user's text, on one line and short enough for a message.</summary>
    private static string Describe(SyntaxNode node)
    {
        string text = Regex.Replace(node.ToString(), @"\s+", " ").Trim();
        return text.Length <= 60 ? text : text.Substring(0, 57) + "...";
    }
}
