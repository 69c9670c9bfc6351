using System.Collections.Generic;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.PtxDump;

/// <summary>
/// The specs whose kernels the device harness checks and times: the benchmark grid's (D 64/128 × fp16/bf16 ×
/// causal or not) plus variants for correctness (window, top-left alignment, LSE, fp32 output, other head dims).
/// Layout and GQA are run-time strides and head counts, so they need no separate kernels.
/// </summary>
public static class SpecMatrix
{
    public static IEnumerable<AttentionSpec> All()
    {
        foreach (int d in new[] { 64, 128 })
        {
            foreach (var dtype in new[] { ElementType.FP16, ElementType.BF16 })
            {
                yield return Spec(d, dtype, MaskSpec.None, lse: false, output: null);
                yield return Spec(d, dtype, Causal(MaskAlignment.BottomRight), lse: false, output: null);
            }
        }

        yield return Spec(128, ElementType.BF16, Causal(MaskAlignment.BottomRight), lse: true, output: null);
        yield return Spec(128, ElementType.FP16, Causal(MaskAlignment.TopLeft), lse: true, output: null);
        yield return Spec(64, ElementType.BF16, new MaskSpec(MaskKind.SlidingWindow, MaskAlignment.BottomRight, 100, 0), lse: true, output: null);
        yield return Spec(128, ElementType.FP16, new MaskSpec(MaskKind.SlidingWindow, MaskAlignment.TopLeft, 37, 50), lse: true, output: null);
        yield return Spec(128, ElementType.BF16, MaskSpec.None, lse: true, output: ElementType.FP32);
        yield return Spec(32, ElementType.FP16, Causal(MaskAlignment.BottomRight), lse: true, output: null);
        yield return Spec(96, ElementType.BF16, MaskSpec.None, lse: true, output: null);
        yield return Spec(256, ElementType.BF16, Causal(MaskAlignment.BottomRight), lse: true, output: null);
        yield return Spec(256, ElementType.FP16, MaskSpec.None, lse: false, output: null);
        yield return Spec(64, ElementType.BF16, Causal(MaskAlignment.BottomRight), lse: true, output: null, valueHeadDim: 128);
        yield return Spec(128, ElementType.FP16, new MaskSpec(MaskKind.SlidingWindow, MaskAlignment.BottomRight, 64, 16), lse: true, output: ElementType.FP32, valueHeadDim: 64);
    }

    /// <summary>Alternative tile choices for the same specs, timed side by side with the defaults on the device.</summary>
    public static IEnumerable<(AttentionSpec Spec, GpuTuning Tuning)> Variants()
    {
        foreach (var mask in new[] { MaskSpec.None, Causal(MaskAlignment.BottomRight) })
        {
            var d64 = Spec(64, ElementType.BF16, mask, lse: false, output: null);
            yield return (d64, new GpuTuning(SkipUnchangedRescale: true, NameSuffix: "_v4"));
            var d128 = Spec(128, ElementType.BF16, mask, lse: false, output: null);
            yield return (d128, new GpuTuning(SkipUnchangedRescale: true, NameSuffix: "_v4"));

            // 64-row query tiles (4 warps x 1 slab): not in the product; measures whether grids that do not fill the
            // GPU would run faster with twice the CTAs (run_ptx.py --small-grids; compiler README, "Not built").
            yield return (d64, new GpuTuning(Slabs: 1, NameSuffix: "_q64"));
            yield return (d128, new GpuTuning(Slabs: 1, NameSuffix: "_q64"));
        }
    }

    /// <summary>
    /// The Hopper (sm_90a, wgmma) kernel of every matrix spec it covers, named with the suffix "_sm90a", so the
    /// device harness checks each against the float64 reference and times it against the sm_80 kernel of the same spec;
    /// plus 64-key tiles ("_sm90a_kv64") for the grid specs.
    /// </summary>
    public static IEnumerable<(AttentionSpec Spec, GpuTuning? Tuning)> HopperVariants()
    {
        foreach (var spec in All())
        {
            yield return (spec, new GpuTuning(Family: GpuFamily.Sm90a, NameSuffix: "_sm90a"));
        }

        foreach (int d in new[] { 64, 128 })
        {
            foreach (var mask in new[] { MaskSpec.None, Causal(MaskAlignment.BottomRight) })
            {
                yield return (Spec(d, ElementType.BF16, mask, lse: false, output: null), new GpuTuning(Family: GpuFamily.Sm90a, BlockKV: 64, NameSuffix: "_sm90a_kv64"));
            }
        }
    }

    public static MaskSpec Causal(MaskAlignment alignment) => new(MaskKind.Causal, alignment, null, null);

    public static AttentionSpec Spec(int d, ElementType dtype, MaskSpec mask, bool lse, ElementType? output, int? valueHeadDim = null)
    {
        string name = "D" + d + (valueHeadDim is { } dv ? "_Dv" + dv : string.Empty) + "_" + dtype + "_" + MaskName(mask) + (lse ? "_Lse" : string.Empty) + (output is { } o ? "_Out" + o : string.Empty);
        var target = new TargetType("Bench", EquatableArray<ContainingType>.Empty, name, "class", true);
        return new AttentionSpec(target, d, valueHeadDim ?? d, null, dtype, TensorLayout.BSHD, mask, TilingSpec.Auto, new EpilogueSpec(output, lse));
    }

    private static string MaskName(MaskSpec mask) => mask.Kind switch
    {
        MaskKind.None => "Dense",
        MaskKind.Causal => "Causal" + (mask.Alignment == MaskAlignment.TopLeft ? "TL" : "BR"),
        _ => "Window" + mask.BandLeft + "x" + mask.BandRight + (mask.Alignment == MaskAlignment.TopLeft ? "TL" : "BR"),
    };
}
