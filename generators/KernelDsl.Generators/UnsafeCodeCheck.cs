using System.Collections.Immutable;
using System.Linq;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace KernelDsl.Generators;

/// <summary>
/// KDSL0031: the generated kernels use pointers, so a project without AllowUnsafeBlocks would get CS0227 inside
/// files under obj/. Instead each spec gets one error at its [Attention] attribute, and no source is added (the
/// generated files would add nothing but those errors).
/// </summary>
internal static class UnsafeCodeCheck
{
    /// <summary>Whether the compilation allows unsafe code; a bool, so edits that keep it do not re-run later steps.</summary>
    public static IncrementalValueProvider<bool> Allowed(IncrementalGeneratorInitializationContext context) =>
        context.CompilationProvider.Select(static (compilation, _) =>
            compilation.Options is CSharpCompilationOptions { AllowUnsafe: true });

    /// <summary>One KDSL0031 per spec that would have generated source, when unsafe code is off.</summary>
    public static EquatableArray<LocatedDiagnostic> Find(ImmutableArray<SpecModel> models, bool allowed)
    {
        if (allowed)
        {
            return EquatableArray<LocatedDiagnostic>.Empty;
        }

        return models
            .Where(static model => model.Spec is not null && model.CanEmit)
            .Select(static model => LocatedDiagnostic.Create(
                DiagnosticCatalog.UnsafeCodeDisabled,
                model.Locations.Find(SpecPaths.Attention),
                model.Spec!.Target.Name))
            .ToEquatableArray();
    }
}
