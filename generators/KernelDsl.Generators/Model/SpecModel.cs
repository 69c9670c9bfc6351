using KernelDsl.Compiler.Model;

namespace KernelDsl.Generators.Model;

/// <summary>
/// What the parse step makes of one [Attention] class. Contract: immutable, structural equality, and no
/// Roslyn symbols, syntax or compilations inside (a test walks it by reflection) — the incremental
/// pipeline caches on it, and anything compared by reference would re-run every later step on every edit.
/// </summary>
/// <param name="Spec">The spec, or null when an argument could not be read (the diagnostics say which).</param>
/// <param name="CanEmit">False when the class cannot receive generated members (not partial, generic, ...):
/// the spec is still compiled so its own diagnostics show, but no source is added.</param>
/// <param name="Locations">Spec path → syntax, for the compiler's diagnostics.</param>
/// <param name="Diagnostics">What the parser itself found wrong.</param>
internal sealed record SpecModel(
    AttentionSpec? Spec,
    bool CanEmit,
    LocationMap Locations,
    EquatableArray<LocatedDiagnostic> Diagnostics);

/// <summary>The part of a <see cref="SpecModel"/> that decides the generated source: no locations, so moving
/// the class in its file does not recompile it.</summary>
internal sealed record CompileInput(AttentionSpec? Spec, bool CanEmit);
