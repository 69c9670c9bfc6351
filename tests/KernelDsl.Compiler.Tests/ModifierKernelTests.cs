using System.Linq;
using System.Text.RegularExpressions;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;
using static KernelDsl.Compiler.Tests.Modifiers;

namespace KernelDsl.Compiler.Tests;

/// <summary>How the attention kernel inlines score and mask modifiers (the no-modifier kernel is pinned by the snapshot test).</summary>
public sealed class ModifierKernelTests
{
    private static (string Ptx, GpuKernelPlan Gpu) Kernel(AttentionSpec spec)
    {
        var plan = Planner.Plan(spec).Plan!;
        return (PtxEmitter.PtxFor(plan)!, plan.PortableGpuKernel()!);
    }

    /// <summary>PTX's hex spelling of a float (written here independently of the emitter's helper).</summary>
    private static string F32(double v) => "0f" + System.BitConverter.SingleToInt32Bits((float)v).ToString("X8", System.Globalization.CultureInfo.InvariantCulture);

    private static string Loop(string ptx) => ptx.Substring(ptx.IndexOf("KV_LOOP:", System.StringComparison.Ordinal));

    private static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;

    [Fact]
    public void Score_modifier_runs_on_every_score_element_of_the_scaled_score_and_softmax_uses_log2e()
    {
        var spec = With(Specs.Make(64, dtype: ElementType.FP16), score: Softcap);
        var (ptx, gpu) = Kernel(spec);
        int elements = gpu.Slabs * gpu.BlockKV / 2;
        string loop = Loop(ptx);
        Count(loop, "tanh.approx.f32").ShouldBe(elements);
        loop.ShouldContain("mul.rn.f32 %score, %s0, " + F32(spec.EffectiveScale));
        ptx.ShouldContain("mov.f32 %scale_log2, " + F32(Constants.Log2E));
        ptx.ShouldNotContain("mov.f32 %scale_log2, " + F32(gpu.ScaleLog2));
        // the modifier precedes the element mask, so masked pairs end as -inf whatever the modifier returned
        loop.IndexOf("Score modifier Softcap", System.StringComparison.Ordinal).ShouldBeLessThan(loop.IndexOf("Element mask", System.StringComparison.Ordinal));
        // without a mask modifier the element mask keeps its full-tile fast path
        loop.ShouldContain("@!%partial bra MASK_DONE");
    }

    [Fact]
    public void Mask_modifier_is_evaluated_on_every_visited_tile_and_drops_elements_to_minus_infinity()
    {
        var (ptx, gpu) = Kernel(With(Specs.Make(128, mask: Specs.CausalBottomRight), mask: PrefixLm));
        string loop = Loop(ptx);
        loop.ShouldNotContain("@!%partial bra");
        int elements = gpu.Slabs * gpu.BlockKV / 2;
        Regex.Matches(loop, @"@!%me\d+ mov\.f32 %sb?\d+, 0fFF800000").Count.ShouldBe(elements);
        Count(loop, "@%drop mov.f32").ShouldBe(elements, "the band (and the end of the keys) still masks");
        ptx.ShouldContain("mov.f32 %scale_log2, " + F32(gpu.ScaleLog2), Case.Sensitive, "no score modifier: softmax multiplier unchanged");
    }

    [Fact]
    public void Batch_and_head_subexpressions_are_hoisted_out_of_the_loop()
    {
        var (ptx, _) = Kernel(With(Specs.Make(64), score: Alibi));
        string before = ptx.Substring(0, ptx.IndexOf("KV_LOOP:", System.StringComparison.Ordinal));
        before.ShouldContain("Modifiers: subexpressions that depend only on (batch, head)");
        Regex.IsMatch(before, @"ex2\.approx\.f32 %hs\d+").ShouldBeTrue("the ALiBi slope 2^(-8(h+1)/16) is computed once per thread");
        string loop = Loop(ptx);
        Regex.IsMatch(loop, @"ex2\.approx\.f32 %me").ShouldBeFalse("no per-element ex2 for the slope");
        Regex.IsMatch(loop, @"mul\.rn\.f32 %me\d+, %hs\d+, %me\d+").ShouldBeTrue("each element reads the hoisted slope");
        loop.ShouldContain("abs.s32");
    }

    [Fact]
    public void Plan_text_names_the_approximations_and_their_error_bounds()
    {
        var gpu = Planner.Plan(With(Specs.Make(64), score: Softcap, mask: PrefixLm)).Plan!.PortableGpuKernel()!;
        string text = gpu.Describe();
        text.ShouldContain("gpu mods     score modifier Softcap");
        text.ShouldContain("mask modifier PrefixLm");
        text.ShouldContain("tanh.approx.f32");
        text.ShouldContain("2^-10.987");
        Planner.Plan(Specs.Make(64)).Plan!.PortableGpuKernel()!.Describe().ShouldNotContain("gpu mods");
        var alibi = Planner.Plan(With(Specs.Make(64), score: Alibi)).Plan!.PortableGpuKernel()!.Describe();
        alibi.ShouldContain("Pow:");
        alibi.ShouldNotContain("Tanh:");
    }

    [Fact]
    public void Modifier_kernels_are_deterministic_and_ascii()
    {
        foreach (var spec in Modifiers.PtxMatrix().Take(5))
        {
            var (a, _) = Kernel(spec);
            var (b, _) = Kernel(spec);
            a.ShouldBe(b);
            a.ShouldAllBe(c => c < 128);
        }
    }
}
