using System.Collections.Generic;
using KernelDsl.Compiler.Model.Expressions;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// What a lowered modifier body reads: the registers holding its inputs (score, b, h, q, kv) at the point it is
/// inlined, and the global addresses of the buffers it captures. Every kernel that lowers a modifier (attention,
/// block-mask builder, the standalone test kernel) builds one and hands it to <see cref="ExprPtxWriter"/>.
/// </summary>
/// <remarks>An input left null is not available where the body is lowered (a mask modifier has no score; the
/// subexpressions hoisted out of the loop read b and h only): reading it is an emitter bug and throws.</remarks>
internal sealed record ModifierInputs(Reg? Score, Reg Batch, Reg Head, Reg? Query, Reg? Key)
{
    /// <summary>The map ExprPtxWriter reads.</summary>
    public System.Func<ModifierInput, Reg> Map => input => (input switch
    {
        ModifierInput.Score => Score,
        ModifierInput.Batch => Batch,
        ModifierInput.Head => Head,
        ModifierInput.QueryIndex => Query,
        _ => Key,
    }) ?? throw new System.InvalidOperationException("modifier input " + input + " is not available here");

    /// <summary>
    /// Declares one kernel-scope register per captured buffer and loads its parameter (<see cref="PtxAbi.CapturedParameter"/>,
    /// by position) as a global address; returns the buffer name → register map the lowering reads.
    /// </summary>
    public static System.Func<string, Reg> LoadCapturedBuffers(PtxWriter w, KernelEntry entry, IEnumerable<CapturedBuffer> capturedBuffers)
    {
        var registers = new Dictionary<string, Reg>(System.StringComparer.Ordinal);
        int i = 0;
        foreach (var buffer in capturedBuffers)
        {
            string name = ModifierBodies.CapturedRegisterName(i);
            w.Comment("%" + name + " = " + (buffer.ElementType == ExprType.Int ? "int" : "float") + " buffer, shape [" + string.Join(", ", buffer.Dims) + "]");
            var register = w.Declare1(RegKind.B64, name);
            entry.LoadGlobalPointer(w, register, PtxAbi.CapturedParameter(i));
            registers[buffer.Name] = register;
            i++;
        }

        return Lookup(registers);
    }

    /// <summary>The register map of a kernel without captured buffers: its modifiers read none.</summary>
    public static System.Func<string, Reg> NoCapturedBuffers { get; } = Lookup(new Dictionary<string, Reg>());

    private static System.Func<string, Reg> Lookup(Dictionary<string, Reg> registers) => name =>
        registers.TryGetValue(name, out var register) ? register : throw new System.InvalidOperationException("unknown captured buffer '" + name + "'");
}
