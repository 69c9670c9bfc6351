using System.Collections.Concurrent;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Generators;

/// <summary>
/// The compiler core's output for recently seen specs, kept for as long as this assembly stays loaded. The command-line
/// compiler starts a new generator driver on every build, so the incremental pipeline's own cache never survives
/// from one build to the next; the compiler server (the default) keeps analyzer assemblies loaded, so this static
/// cache does, and a build whose specs did not change skips planning and emitting (measured in README: Generator
/// cost). Safe because the output is a pure function of the spec, whose structural equality the incremental
/// pipeline already relies on. Bounded: past <see cref="Capacity"/> specs it starts over.
/// </summary>
internal static class CompiledSpecCache
{
    internal const int Capacity = 128;

    private static readonly ConcurrentDictionary<AttentionSpec, CompilationOutput> Outputs = new();

    public static CompilationOutput Compile(AttentionSpec spec)
    {
        if (Outputs.TryGetValue(spec, out var cached))
        {
            return cached;
        }

        var output = KernelCompiler.Compile(spec);
        if (Outputs.Count >= Capacity)
        {
            Outputs.Clear();
        }

        Outputs[spec] = output;
        return output;
    }
}
