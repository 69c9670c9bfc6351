using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// PTX naming shared by the kernels that lower modifiers (attention and block-mask builder). Questions about the IR
/// itself (what a body reads) are <see cref="ExprQueries"/>.
/// </summary>
public static class ModifierBodies
{
    /// <summary>The kernel-scope register holding the i-th captured buffer's global address (PTX names are ASCII, C# names need not be).</summary>
    internal static System.Func<string, string> CapturedRegisters(System.Collections.Generic.IEnumerable<CapturedBuffer> buffers) => name =>
    {
        int i = 0;
        foreach (var buffer in buffers)
        {
            if (buffer.Name == name)
            {
                return "%captured" + PtxLiteral.I(i);
            }

            i++;
        }

        throw new System.InvalidOperationException("unknown captured buffer '" + name + "'");
    };
}
