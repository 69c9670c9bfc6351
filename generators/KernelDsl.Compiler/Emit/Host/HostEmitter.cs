using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Host;

/// <summary>Emits the typed entry points (Forward overloads) and the Plan property on the user's class.</summary>
public sealed class HostEmitter : IEmitter
{
    public GeneratedFile? Emit(KernelPlan plan) => null; // written next
}
