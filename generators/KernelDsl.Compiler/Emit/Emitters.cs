using System.Collections.Generic;
using KernelDsl.Compiler.Emit.Cpu;
using KernelDsl.Compiler.Emit.Host;

namespace KernelDsl.Compiler.Emit;

/// <summary>The emitters run for every spec, in a fixed order (the order of the generated files).</summary>
public static class Emitters
{
    public static IReadOnlyList<IEmitter> All { get; } = new IEmitter[]
    {
        new HostEmitter(),
        new CpuEmitter(),
        new Ptx.PtxEmitter(),
        new ModifierReferenceEmitter(),
        new BlockMaskEmitter(),
        new BackwardEmitter(),
        new ServingEmitter(),
    };
}
