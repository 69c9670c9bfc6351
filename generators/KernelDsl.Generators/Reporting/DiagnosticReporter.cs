using KernelDsl.Compiler.Model;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;

namespace KernelDsl.Generators.Reporting;

/// <summary>Reports located diagnostics to Roslyn.</summary>
internal static class DiagnosticReporter
{
    public static void Report(SourceProductionContext context, EquatableArray<LocatedDiagnostic> diagnostics)
    {
        foreach (var diagnostic in diagnostics)
        {
            context.ReportDiagnostic(Diagnostic.Create(
                DescriptorCache.Get(diagnostic.Descriptor),
                diagnostic.Location?.ToLocation() ?? Location.None,
                System.Linq.Enumerable.ToArray<object>(diagnostic.Arguments)));
        }
    }
}
