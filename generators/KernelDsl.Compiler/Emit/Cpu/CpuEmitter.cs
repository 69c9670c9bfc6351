using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Cpu;

/// <summary>Emits the fused CPU kernel (C#) for a plan.</summary>
public sealed class CpuEmitter : IEmitter
{
    public GeneratedFile? Emit(KernelPlan plan) => null; // written next
}
