using System.Collections.Generic;
using System.Collections.Immutable;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Compiler.Model;
using KernelDsl.Generators.Model;

namespace KernelDsl.Generators;

/// <summary>The two steps after parsing: compile a spec, and place the compiler's diagnostics on the syntax.</summary>
internal static class SpecCompilation
{
    /// <summary>Runs the compiler core. A spec that could not be read compiles to nothing.</summary>
    public static CompilationOutput Compile(CompileInput input)
    {
        if (input.Spec is null)
        {
            return new CompilationOutput(EquatableArray<SpecDiagnostic>.Empty, EquatableArray<GeneratedFile>.Empty);
        }

        var output = CompiledSpecCache.Compile(input.Spec);
        return input.CanEmit ? output : output with { Files = EquatableArray<GeneratedFile>.Empty };
    }

    /// <summary>
    /// Every spec's diagnostics: the parser's, then the compiler's at the syntax their spec paths name.
    /// <paramref name="outputs"/> is <paramref name="models"/> mapped one to one (a Select keeps count and order).
    /// </summary>
    public static EquatableArray<LocatedDiagnostic> Locate(ImmutableArray<SpecModel> models, ImmutableArray<CompilationOutput> outputs)
    {
        var diagnostics = new List<LocatedDiagnostic>();
        for (int i = 0; i < models.Length; i++)
        {
            diagnostics.AddRange(models[i].Diagnostics);
            if (i < outputs.Length)
            {
                foreach (var diagnostic in outputs[i].Diagnostics)
                {
                    diagnostics.Add(new LocatedDiagnostic(diagnostic.Descriptor, models[i].Locations.Find(diagnostic.SpecPath), diagnostic.Arguments));
                }
            }
        }

        return diagnostics.ToEquatableArray();
    }
}
