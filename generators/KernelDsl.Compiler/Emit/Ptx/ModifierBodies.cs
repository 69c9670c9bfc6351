using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>Questions about a modifier body that several emitters ask (the block-mask builder kernel, the host emitter).</summary>
public static class ModifierBodies
{
    /// <summary>True when the body (a local or the result) reads <paramref name="input"/>.</summary>
    public static bool Reads(ModifierBody body, ModifierInput input) => body.Reads(input);

    /// <summary>The kernel-scope register holding the i-th captured buffer's global address (PTX names are ASCII, C# names need not be).</summary>
    internal static System.Func<string, string> CapturedRegisters(EquatableArray<CapturedBuffer> buffers) => name =>
    {
        for (int i = 0; i < buffers.Count; i++)
        {
            if (buffers[i].Name == name)
            {
                return "%captured" + PtxLiteral.I(i);
            }
        }

        throw new System.InvalidOperationException("unknown captured buffer '" + name + "'");
    };
}
