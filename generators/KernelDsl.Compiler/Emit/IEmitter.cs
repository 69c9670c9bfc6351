using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit;

/// <summary>One emitter writes one generated file from a plan (or nothing, when its target does not apply).</summary>
public interface IEmitter
{
    GeneratedFile? Emit(KernelPlan plan);
}
