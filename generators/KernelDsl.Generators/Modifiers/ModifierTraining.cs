using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Emit.Cpu;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;

namespace KernelDsl.Generators.Modifiers;

/// <summary>
/// The training checks of a translated modifier (issue 10): learnable buffers only with [Backward] (KDSL0035) and only
/// in the score modifier (KDSL0036); with [Backward], the score modifier's derivative must be defined (KDSL0037, at
/// the exact expression that is not differentiable, found through the translator's origins).
/// </summary>
internal sealed class ModifierTraining
{
    private readonly string _spec;
    private readonly bool _backward;
    private readonly List<LocatedDiagnostic> _diagnostics;

    public ModifierTraining(string spec, bool backward, List<LocatedDiagnostic> diagnostics)
    {
        _spec = spec;
        _backward = backward;
        _diagnostics = diagnostics;
    }

    /// <returns>False after reporting: the modifier then counts as failed.</returns>
    public bool Check(IMethodSymbol method, ModifierSpec modifier, IReadOnlyDictionary<Expr, SyntaxNode> origins)
    {
        int before = _diagnostics.Count;
        foreach (var buffer in modifier.Buffers.Where(b => b.Learnable))
        {
            var parameter = method.Parameters.First(p => p.Name == buffer.Name);
            var at = CapturedParameters.LearnableLocation(parameter) ?? ModifierReader.Identifier(method);
            if (modifier.Kind == ModifierKind.Mask)
            {
                _diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.LearnableInMaskModifier, at, buffer.Name, method.Name));
            }
            else if (!_backward)
            {
                _diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.LearnableWithoutBackward, at, buffer.Name, _spec));
            }

            // Backward names the gradient parameter "<buffer>Gradient": another buffer of that name would be a duplicate parameter.
            foreach (var clash in modifier.Buffers.Where(other => other.Name == ModifierBackwardWriter.GradientName(buffer)))
            {
                var other = method.Parameters.First(p => p.Name == clash.Name);
                var where = other.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax() is Microsoft.CodeAnalysis.CSharp.Syntax.ParameterSyntax syntax
                    ? LocationInfo.From(syntax.Identifier)
                    : at;
                _diagnostics.Add(LocatedDiagnostic.Create(DiagnosticCatalog.CapturedBufferInvalid, where, clash.Name, method.Name,
                    "has the name Backward gives the gradient of the learnable buffer '" + buffer.Name + "'; rename it"));
            }
        }

        if (_backward && modifier.Kind == ModifierKind.Score)
        {
            foreach (var failure in ModifierBackwardWriter.Failures(modifier))
            {
                var syntax = origins.TryGetValue(failure.Node, out var node) ? node : null;
                _diagnostics.Add(LocatedDiagnostic.Create(
                    DiagnosticCatalog.ModifierNotDifferentiable,
                    syntax is null ? ModifierReader.Identifier(method) : LocationInfo.From(syntax),
                    syntax?.ToString() ?? method.Name,
                    method.Name,
                    failure.Reason.Replace("the variable", "the score" + (modifier.Buffers.Any(b => b.Learnable) ? " or a learnable buffer" : string.Empty))));
            }
        }

        return _diagnostics.Count == before;
    }
}
