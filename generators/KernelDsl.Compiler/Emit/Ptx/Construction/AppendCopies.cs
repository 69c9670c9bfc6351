using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// The few instructions of the fused decode append (issue 12) that the rest of the layer has no word for: a 16-byte row chunk
/// from shared memory to a page slot in global memory, and one fp32 value rounded to a 16-bit element register.
/// </summary>
internal static class AppendCopies
{
    /// <summary>The 16 bytes at shared <paramref name="shared"/> → global <paramref name="global"/> (through four b32 registers <paramref name="words"/>).</summary>
    public static void SharedChunkToGlobal(this PtxWriter w, RegArray words, Reg shared, Reg global)
    {
        string list = "{" + words[0] + ", " + words[1] + ", " + words[2] + ", " + words[3] + "}";
        w.Ins("ld.shared.v4.b32 " + list + ", [" + shared + "]");
        w.Ins("st.global.v4.b32 [" + global + "], " + list);
    }

    /// <summary>d (one 16-bit register of <paramref name="type"/>) = <paramref name="value"/> (f32) rounded to nearest even.</summary>
    public static void FromF32(this PtxWriter w, ElementTraits type, Reg d, Reg value) => w.Ins("cvt.rn." + type.Ptx + ".f32 " + d + ", " + value);
}
