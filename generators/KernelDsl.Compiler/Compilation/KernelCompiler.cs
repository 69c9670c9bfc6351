using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Emit;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Compilation;

/// <summary>
/// The compiler core's one entry point: spec → validation → plan → emitted sources. Pure and
/// deterministic: the same spec always gives byte-identical files. Never throws for a bad spec; it returns
/// diagnostics and no files instead.
/// </summary>
public static class KernelCompiler
{
    public static CompilationOutput Compile(AttentionSpec spec)
    {
        var diagnostics = SpecValidator.Validate(spec);
        if (diagnostics.Count > 0)
        {
            return new CompilationOutput(diagnostics.ToEquatableArray(), EquatableArray<GeneratedFile>.Empty);
        }

        var planning = Planner.Plan(spec);
        if (planning.Plan is null)
        {
            return new CompilationOutput(planning.Diagnostics, EquatableArray<GeneratedFile>.Empty);
        }

        var files = Emitters.All.Select(emitter => emitter.Emit(planning.Plan)).Where(file => file is not null).Select(file => file!);
        return new CompilationOutput(planning.Diagnostics, files.ToEquatableArray());
    }
}

/// <summary>A generated source file: Roslyn hint name (ends in .g.cs) and text.</summary>
public sealed record GeneratedFile(string HintName, string Text);

/// <summary>What one spec compiles to. Equatable, so the generator's output step is cached on it.</summary>
public sealed record CompilationOutput(EquatableArray<SpecDiagnostic> Diagnostics, EquatableArray<GeneratedFile> Files);
