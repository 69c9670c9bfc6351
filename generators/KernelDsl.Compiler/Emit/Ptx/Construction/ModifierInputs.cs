using System.Collections.Generic;
using KernelDsl.Compiler.Model;
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
    /// by position) as a global address; returns the buffer name → buffer map the lowering reads. The buffer's last
    /// index stays in parameter space (<see cref="CapturedBufferAccess.LastIndexParameter"/>): each read loads it where it clamps.
    /// </summary>
    public static System.Func<string, CapturedBufferAccess> LoadCapturedBuffers(PtxWriter w, KernelEntry entry, IEnumerable<CapturedBuffer> capturedBuffers)
    {
        var buffers = new Dictionary<string, CapturedBufferAccess>(System.StringComparer.Ordinal);
        int i = 0;
        foreach (var buffer in capturedBuffers)
        {
            string name = ModifierBodies.CapturedRegisterName(i);
            w.Comment("%" + name + " = " + (buffer.ElementType == ExprType.Int ? "int" : "float") + " buffer, shape [" + string.Join(", ", buffer.Dims) + "]");
            var register = w.Declare1(RegKind.B64, name);
            entry.LoadGlobalPointer(w, register, PtxAbi.CapturedParameter(i));
            buffers[buffer.Name] = new CapturedBufferAccess(register, entry, PtxAbi.CapturedLastIndexParameter(i), buffer.Dims);
            i++;
        }

        return Lookup(buffers);
    }

    /// <summary>The buffer map of a kernel without captured buffers: its modifiers read none.</summary>
    public static System.Func<string, CapturedBufferAccess> NoCapturedBuffers { get; } = Lookup(new Dictionary<string, CapturedBufferAccess>());

    private static System.Func<string, CapturedBufferAccess> Lookup(Dictionary<string, CapturedBufferAccess> buffers) => name =>
        buffers.TryGetValue(name, out var buffer) ? buffer : throw new System.InvalidOperationException("unknown captured buffer '" + name + "'");
}

/// <summary>
/// One captured buffer as a lowered modifier reads it: the kernel-scope register holding its global address, and the
/// kernel parameter holding its last valid index (<c>AbiValue.CapturedLastIndex</c>, element count − 1).
/// </summary>
/// <remarks>
/// The last index is loaded next to each clamp, never held in a register for the whole kernel: ptxas then reads it
/// from the constant bank as the min's operand (the parameter is constant for the launch), so the guard costs no live
/// register.
/// </remarks>
internal sealed record CapturedBufferAccess(Reg Address, KernelEntry Entry, string LastIndexParameter, EquatableArray<string> Dims)
{
    /// <summary>
    /// True when <paramref name="index"/> lies inside the buffer by construction, so its read needs no clamp: b into a
    /// [B] buffer, h into a [Hq] buffer (every kernel runs b over the call's batch or sequences and h over its query
    /// heads, and the host requires the buffer's length to be exactly its dims' product). ALiBi's slopes[h] is this case.
    /// </summary>
    public bool InRangeByConstruction(Expr index) =>
        Dims.Count == 1 && index is ParameterExpr p &&
        ((p.Input == ModifierInput.Batch && Dims[0] == "B") || (p.Input == ModifierInput.Head && Dims[0] == "Hq"));

    /// <summary><c>ld.param.u32</c> of the buffer's last valid index into <paramref name="destination"/>.</summary>
    public void LoadLastIndex(PtxWriter w, Reg destination) => Entry.Load(w, destination, LastIndexParameter);
}
