using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// PTX naming shared by the kernels that lower modifiers (attention and block-mask builder). Questions about the IR
/// itself (what a body reads) are <see cref="ExprQueries"/>.
/// </summary>
public static class ModifierBodies
{
    /// <summary>
    /// The name (without %) of the kernel-scope register holding the i-th captured buffer's global address: by
    /// position, because PTX names are ASCII and C# names need not be. Declared by
    /// <see cref="Construction.ModifierInputs.LoadCapturedBuffers"/>.
    /// </summary>
    internal static string CapturedRegisterName(int index) => "captured" + PtxLiteral.I(index);
}
