using System.Linq;
using System.Text.RegularExpressions;
using KernelDsl.Compiler.Compilation;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;
using static KernelDsl.Compiler.Tests.Modifiers;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// Kernels as data: the plan lists a spec's GPU kernels (kind × family, in order of increasing specialisation) with the
/// decisions every emitter reads (block-mask parameters, LSE, captured buffers), and the generated descriptor holds the
/// same list in the same order.
/// </summary>
public class GpuKernelListTests
{
    [Fact]
    public void A_spec_both_families_cover_lists_the_portable_kernel_first()
    {
        var plan = Planner.Plan(Specs.Make(128, dtype: ElementType.FP16, lse: true)).Plan!;

        plan.GpuKernels.Select(k => (k.Kind, k.Family)).ShouldBe([(GpuKernelKind.Forward, GpuFamily.Sm80), (GpuKernelKind.Forward, GpuFamily.Sm90a)]);
        plan.PortableGpuKernel().ShouldBeSameAs(plan.GpuKernels[0]);
        plan.GpuKernel(GpuFamily.Sm90a).ShouldBeSameAs(plan.GpuKernels[1]);
        plan.GpuKernels.ShouldAllBe(k => k.WritesLse && !k.TakesBlockMask && k.CapturedBuffers == 0);
        plan.GpuKernels.Select(k => k.PtxTarget).ShouldBe(["sm_80", "sm_90a"]);
    }

    [Fact]
    public void Head_dims_only_one_family_covers_list_one_kernel_and_fp32_none()
    {
        Planner.Plan(Specs.Make(256, dtype: ElementType.FP16)).Plan!.GpuKernels.Select(k => k.Family).ShouldBe([GpuFamily.Sm80]);
        var fp32 = Planner.Plan(Specs.Make(64, dtype: ElementType.FP32)).Plan!;
        fp32.HasGpu.ShouldBeFalse();
        fp32.PortableGpuKernel().ShouldBeNull();
    }

    [Fact]
    public void Block_mask_parameters_and_captured_buffers_are_decided_once_for_every_kernel()
    {
        var plan = Planner.Plan(With(Specs.Make(64, dtype: ElementType.BF16, mask: Specs.CausalTopLeft), CapturedAlibi, CapturedDocuments)).Plan!;

        plan.GpuKernels.Count.ShouldBe(2);
        plan.GpuKernels.ShouldAllBe(k => k.TakesBlockMask && k.CapturedBuffers == 2 && !k.WritesLse);
        Planner.Plan(With(Specs.Make(64), CapturedAlibi, null)).Plan!.GpuKernels.ShouldAllBe(k => !k.TakesBlockMask && k.CapturedBuffers == 1);
    }

    [Fact]
    public void The_generated_descriptor_holds_the_plans_list_in_its_order()
    {
        var spec = With(Specs.Make(64, dtype: ElementType.BF16, mask: Specs.CausalTopLeft, name: "Listed"), null, PrefixLm);
        var plan = Planner.Plan(spec).Plan!;
        string host = KernelCompiler.Compile(spec).Files.Single(f => f.HintName == "Tests.Listed.g.cs").Text;

        var infos = Regex.Matches(host, @"new global::KernelDsl\.Cuda\.GpuKernelInfo\((__GpuKernel\w*)\.Ptx, [^;]*?TakesBlockMask: (\w+), Family: ""([^""]+)"", MinComputeCapability: (\d+)")
            .Select(m => (Class: m.Groups[1].Value, TakesBlockMask: bool.Parse(m.Groups[2].Value), Family: m.Groups[3].Value, Min: int.Parse(m.Groups[4].Value)))
            .ToList();
        infos.ShouldBe(plan.GpuKernels.Select(k => (PtxEmitter.KernelClassName(k), k.TakesBlockMask, k.PtxTarget, GpuFamilies.MinComputeCapability(k.Family))).ToList());
        host.ShouldContain("GpuKernels: new global::KernelDsl.GpuKernelTiles[] { " + string.Join(", ", plan.GpuKernels.Select(k => $"new(\"{k.PtxTarget}\", {k.BlockQ}, {k.BlockKV})")) + " }");
    }
}
