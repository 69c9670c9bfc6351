using System.Collections.Generic;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Tests;

/// <summary>The [PagedKv] specs whose decode and merge kernels the ptxas gate assembles (DecodePtxTests) and samples/PtxDump --all writes.</summary>
internal static class DecodeSpecs
{
    public static AttentionSpec Paged(AttentionSpec spec, int maxQueries = 16) => spec with { PagedKv = new PagedKvSpec(maxQueries, null) };

    /// <summary>Head dims × dtypes × masks, LSE and fp32 output and Dv ≠ D spread over them, plus modifiers with and without captured buffers.</summary>
    public static IEnumerable<AttentionSpec> Matrix()
    {
        var masks = new[] { ("Dense", MaskSpec.None), ("CausalBR", Specs.CausalBottomRight), ("WindowBR", Specs.WindowBottomRight) };
        int i = 0;
        foreach (int d in new[] { 64, 128, 256 })
        {
            foreach (var dtype in new[] { ElementType.FP16, ElementType.BF16 })
            {
                foreach (var (maskName, mask) in masks)
                {
                    i++;
                    yield return Paged(Specs.Make(d, null, dtype, mask, lse: i % 2 == 0, output: i % 5 == 0 ? ElementType.FP32 : null, name: $"Decode_D{d}_{dtype}_{maskName}"));
                }
            }
        }

        yield return Paged(Specs.Make(128, 64, ElementType.BF16, Specs.CausalBottomRight, lse: true, name: "Decode_D128_Dv64"));
        yield return Paged(Modifiers.With(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true, name: "Decode_Softcap_D128"), Modifiers.Softcap, null));
        yield return Paged(Modifiers.With(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true, name: "Decode_CapturedBoth_D128"), Modifiers.CapturedAlibi, Modifiers.CapturedDocuments));
        yield return Paged(Modifiers.With(Specs.Make(64, null, ElementType.FP16, MaskSpec.None, true, name: "Decode_PrefixLm_D64"), null, Modifiers.PrefixLm));

        // The fused rotary + append step (issue 12): both conventions, partial rotary, no rotary, every head dim, a window, modifiers.
        yield return Append(Specs.Make(64, null, ElementType.BF16, Specs.CausalBottomRight, true, name: "Append_D64_Half"), RotaryConvention.HalfSplit, null);
        yield return Append(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true, name: "Append_D128_HalfPartial"), RotaryConvention.HalfSplit, 64);
        yield return Append(Specs.Make(128, null, ElementType.FP16, MaskSpec.None, false, name: "Append_D128_Interleaved"), RotaryConvention.Interleaved, null);
        yield return Append(Specs.Make(256, null, ElementType.BF16, Specs.WindowBottomRight, true, name: "Append_D256_InterleavedPartial"), RotaryConvention.Interleaved, 96);
        yield return Append(Specs.Make(128, 64, ElementType.FP16, Specs.CausalBottomRight, true, name: "Append_D128_Dv64_NoRotary"), null, null);
        yield return Append(Modifiers.With(Specs.Make(128, null, ElementType.BF16, Specs.CausalBottomRight, true, name: "Append_CapturedBoth_D128"), Modifiers.CapturedAlibi, Modifiers.CapturedDocuments), RotaryConvention.HalfSplit, null);
    }

    /// <summary>A paged spec with [Fusion(AppendKv = true, Rotary = …, RotaryDim = …)].</summary>
    public static AttentionSpec Append(AttentionSpec spec, RotaryConvention? rotary, int? rotaryDim) =>
        Paged(spec) with { Prologue = new PrologueSpec(true, rotary, rotaryDim, rotary is null ? null : 500000.0) };
}
