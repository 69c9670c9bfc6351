using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>Conversions between the fp32 accumulators and an element type's registers.</summary>
internal static class Conversions
{
    /// <summary>Converts two fp32 registers to one packed register of <paramref name="type"/> (<c>hi</c> to the upper half, as PTX orders the operands).</summary>
    public static string PackPair(this ElementTraits type, Reg packed, Reg hi, Reg lo) => "cvt.rn." + type.Ptx + "x2.f32 " + packed + ", " + hi + ", " + lo;

    /// <summary>d (f32) = the element in <paramref name="element"/> (one 16-bit register of <paramref name="type"/>), exactly.</summary>
    public static void ToF32(this PtxWriter w, ElementTraits type, Reg d, Reg element) => w.Ins("cvt.f32." + type.Ptx + " " + d + ", " + element);

    /// <summary>Writes <see cref="PackPair(ElementTraits, Reg, Reg, Reg)"/>: packed = {hi, lo} converted to <paramref name="type"/>.</summary>
    public static void PackPair(this PtxWriter w, ElementTraits type, Reg packed, Reg hi, Reg lo) => w.Ins(type.PackPair(packed, hi, lo));
}
