using System.Collections.Generic;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Tests;

/// <summary>The [Varlen] specs whose varlen forward kernels the ptxas gate assembles (VarlenPtxTests).</summary>
internal static class VarlenSpecs
{
    public static AttentionSpec Varlen(AttentionSpec spec) => spec with { Varlen = VarlenSpec.Default };

    /// <summary>
    /// Head dims × masks (both alignments), with fp16/bf16, LSE and fp32 output spread over them (fp16 and bf16 differ in two
    /// conversion instructions, not in register use: one of each per mask keeps the gate short), Dv ≠ D, plus modifiers.
    /// </summary>
    public static IEnumerable<AttentionSpec> Matrix()
    {
        var masks = new[] { ("Dense", MaskSpec.None), ("CausalBR", Specs.CausalBottomRight), ("CausalTL", Specs.CausalTopLeft), ("WindowBR", Specs.WindowBottomRight) };
        int i = 0;
        foreach (int d in new[] { 64, 128, 256 })
        {
            foreach (var (maskName, mask) in masks)
            {
                i++;
                var dtype = i % 2 == 0 ? ElementType.FP16 : ElementType.BF16;
                yield return Varlen(Specs.Make(d, null, dtype, mask, lse: i % 3 != 0, output: i % 5 == 0 ? ElementType.FP32 : null, name: $"Varlen_D{d}_{dtype}_{maskName}"));
            }
        }

        // Both element types on the D = 128 shapes most used in serving.
        yield return Varlen(Specs.Make(128, null, ElementType.FP16, Specs.CausalBottomRight, lse: true, name: "Varlen_D128_FP16_CausalBR_Lse"));
        yield return Varlen(Specs.Make(128, null, ElementType.BF16, Specs.WindowBottomRight, lse: true, name: "Varlen_D128_BF16_WindowBR_Lse"));

        yield return Varlen(Specs.Make(128, 64, ElementType.BF16, Specs.CausalBottomRight, lse: true, name: "Varlen_D128_Dv64"));
        yield return Varlen(Modifiers.With(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true, name: "Varlen_Softcap_D128"), Modifiers.Softcap, null));
        yield return Varlen(Modifiers.With(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true, name: "Varlen_CapturedAlibi_D128"), Modifiers.CapturedAlibi, null));
        yield return Varlen(Modifiers.With(Specs.Make(64, null, ElementType.FP16, MaskSpec.None, true, name: "Varlen_PrefixLm_D64"), null, Modifiers.PrefixLm));
    }
}
