using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Tests;

/// <summary>Spec builders and the matrix of specs whose kernels the ptxas gate assembles.</summary>
internal static class Specs
{
    public static AttentionSpec Make(
        int headDim = 128,
        int? valueHeadDim = null,
        ElementType dtype = ElementType.BF16,
        MaskSpec? mask = null,
        bool lse = false,
        ElementType? output = null,
        TensorLayout layout = TensorLayout.BSHD,
        string name = "Spec")
    {
        var target = new TargetType("Tests", EquatableArray<ContainingType>.Empty, name, "class", true);
        return new AttentionSpec(target, headDim, valueHeadDim ?? headDim, null, dtype, layout, mask ?? MaskSpec.None,
            TilingSpec.Auto, new EpilogueSpec(output, lse));
    }

    public static readonly MaskSpec CausalBottomRight = new(MaskKind.Causal, MaskAlignment.BottomRight, null, null);
    public static readonly MaskSpec CausalTopLeft = new(MaskKind.Causal, MaskAlignment.TopLeft, null, null);
    public static readonly MaskSpec WindowBottomRight = new(MaskKind.SlidingWindow, MaskAlignment.BottomRight, 256, 0);
    public static readonly MaskSpec WindowTopLeft = new(MaskKind.SlidingWindow, MaskAlignment.TopLeft, 37, 50);

    /// <summary>
    /// head dims × dtypes × masks, with LSE, fp32 output and BHSD spread over the combinations (layout is a
    /// run-time stride, so it does not change the kernel; it is still compiled to prove that).
    /// </summary>
    public static IEnumerable<AttentionSpec> PtxMatrix()
    {
        var masks = new[] { ("Dense", MaskSpec.None), ("CausalBR", CausalBottomRight), ("CausalTL", CausalTopLeft), ("WindowBR", WindowBottomRight), ("WindowTL", WindowTopLeft) };
        int i = 0;
        foreach (int d in new[] { 32, 64, 96, 128, 256 })
        {
            foreach (var dtype in new[] { ElementType.FP16, ElementType.BF16 })
            {
                foreach (var (maskName, mask) in masks)
                {
                    bool lse = i % 2 == 0;
                    ElementType? output = i % 5 == 3 ? ElementType.FP32 : null;
                    var layout = i % 3 == 1 ? TensorLayout.BHSD : TensorLayout.BSHD;
                    string name = $"D{d}_{dtype}_{maskName}{(lse ? "_Lse" : string.Empty)}{(output is null ? string.Empty : "_OutFP32")}_{layout}";
                    yield return Make(d, null, dtype, mask, lse, output, layout, name);
                    i++;
                }
            }
        }

        // Different key and value head dims.
        yield return Make(64, 128, ElementType.BF16, CausalBottomRight, true, null, TensorLayout.BSHD, "D64_Dv128_BF16_CausalBR");
        yield return Make(128, 64, ElementType.FP16, MaskSpec.None, false, null, TensorLayout.BSHD, "D128_Dv64_FP16_Dense");
    }

    /// <summary>A spec of the matrix with [Backward(Deterministic = true)].</summary>
    public static AttentionSpec Trainable(AttentionSpec spec) => spec with { Backward = new BackwardSpec(Deterministic: true) };

    /// <summary>
    /// The backward's kernels (preprocess, dK/dV, dQ) for: head dims 32–128 × fp16/bf16 × dense, causal (both
    /// alignments) and a sliding window; different key and value head dims; BHSD; softcap, ALiBi (constant and captured
    /// slopes), prefix-LM and a captured document mask.
    /// </summary>
    public static IEnumerable<AttentionSpec> BackwardMatrix()
    {
        var masks = new[] { ("Dense", MaskSpec.None), ("CausalBR", CausalBottomRight), ("WindowTL", WindowTopLeft) };
        foreach (var (d, dtypes) in new[] { (32, new[] { ElementType.BF16 }), (64, new[] { ElementType.FP16, ElementType.BF16 }), (96, new[] { ElementType.FP16 }), (128, new[] { ElementType.FP16, ElementType.BF16 }) })
        {
            foreach (var dtype in dtypes)
            {
                foreach (var (maskName, mask) in masks)
                {
                    yield return Trainable(Make(d, null, dtype, mask, true, null, TensorLayout.BSHD, $"Bwd_D{d}_{dtype}_{maskName}"));
                }
            }
        }

        yield return Trainable(Make(64, 128, ElementType.BF16, CausalTopLeft, true, null, TensorLayout.BSHD, "Bwd_D64_Dv128_BF16_CausalTL"));
        yield return Trainable(Make(128, 64, ElementType.FP16, MaskSpec.None, true, null, TensorLayout.BHSD, "Bwd_D128_Dv64_FP16_Dense"));
        foreach (int d in new[] { 64, 128 })
        {
            yield return Trainable(Modifiers.With(Make(d, null, ElementType.FP16, CausalBottomRight, true, name: $"Bwd_Softcap_D{d}_FP16"), Modifiers.Softcap, null));
            yield return Trainable(Modifiers.With(Make(d, null, ElementType.BF16, MaskSpec.None, true, name: $"Bwd_Alibi_D{d}_BF16"), Modifiers.Alibi, null));
            yield return Trainable(Modifiers.With(Make(d, null, ElementType.FP16, CausalTopLeft, true, name: $"Bwd_CapturedBoth_D{d}_FP16"), Modifiers.CapturedAlibi, Modifiers.CapturedDocuments));
            yield return Trainable(Modifiers.With(Make(d, null, ElementType.BF16, MaskSpec.None, true, name: $"Bwd_PrefixLm_D{d}_BF16"), Modifiers.Softcap, Modifiers.PrefixLm));
        }
    }

    /// <summary>The backward matrix built without Deterministic (so with the atomic-dQ kernels), plus head dim 80 causal.</summary>
    public static IEnumerable<AttentionSpec> AtomicBackwardMatrix() =>
        BackwardMatrix().Select(s => s with { Backward = new BackwardSpec(Deterministic: false), Target = s.Target with { Name = s.Target.Name + "_Atomic" } })
            .Append(Make(80, null, ElementType.FP16, CausalBottomRight, true, null, TensorLayout.BSHD, "Bwd_D80_FP16_CausalBR_Atomic") with { Backward = new BackwardSpec(Deterministic: false) });
}
