using System.Collections.Concurrent;
using KernelDsl.Compiler.Diagnostics;
using Microsoft.CodeAnalysis;

namespace KernelDsl.Generators.Reporting;

/// <summary>
/// The compiler core's catalog entries as Roslyn descriptors, created once per entry (descriptors are
/// compared by reference in places, and rebuilding them per report is waste).
/// </summary>
internal static class DescriptorCache
{
    public const string Category = "KernelDsl";

    private static readonly ConcurrentDictionary<DiagnosticDescriptorInfo, DiagnosticDescriptor> Descriptors = new();

    public static DiagnosticDescriptor Get(DiagnosticDescriptorInfo info) => Descriptors.GetOrAdd(info, Create);

    private static DiagnosticDescriptor Create(DiagnosticDescriptorInfo info) => new(
        info.Id,
        info.Title,
        info.MessageFormat,
        Category,
        info.Severity == Severity.Error ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
        isEnabledByDefault: true);
}
