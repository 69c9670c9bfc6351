using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Generators.Model;

/// <summary>
/// A diagnostic ready to report: a catalog entry, where it goes (null: no location) and its message
/// arguments as strings. Plain data, so the models that carry it stay equatable.
/// </summary>
internal sealed record LocatedDiagnostic(DiagnosticDescriptorInfo Descriptor, LocationInfo? Location, EquatableArray<string> Arguments)
{
    public static LocatedDiagnostic Create(DiagnosticDescriptorInfo descriptor, LocationInfo? location, params string[] arguments) =>
        new(descriptor, location, new EquatableArray<string>(arguments));
}
