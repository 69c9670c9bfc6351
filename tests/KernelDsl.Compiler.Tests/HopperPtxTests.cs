using System.Linq;
using System.Text.RegularExpressions;
using KernelDsl.Compiler.Emit.Ptx;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using Shouldly;
using Xunit;

namespace KernelDsl.Compiler.Tests;

/// <summary>
/// The Hopper family (sm_90a, wgmma): which specs get it, its plan, and the shape of its PTX. Whether the PTX is right
/// is decided on the GPU (tests/KernelDsl.Gpu.Tests run it on an H100/H200 against the float64 reference) and by the
/// sm_90a ptxas gate (PtxAssemblyTests, with a CUDA 12+ ptxas); these tests pin the structure those runs verified.
/// </summary>
public sealed class HopperPtxTests
{
    [Theory]
    [InlineData(64, 64, true)]
    [InlineData(128, 128, true)]
    [InlineData(64, 128, true)]
    [InlineData(128, 64, true)]
    [InlineData(32, 32, false)]
    [InlineData(96, 96, false)]
    [InlineData(256, 256, false)]
    [InlineData(80, 80, false)]
    public void Hopper_kernel_covers_head_dims_64_and_128(int headDim, int valueHeadDim, bool covered)
    {
        var plan = Planner.Plan(Specs.Make(headDim, dtype: ElementType.BF16, valueHeadDim: valueHeadDim)).Plan!;
        (plan.GpuKernel(GpuFamily.Sm90a) is not null).ShouldBe(covered);
        if (headDim % 16 == 0)
        {
            plan.PortableGpuKernel().ShouldNotBeNull("the sm_80 kernel stays: it runs on every other GPU");
        }
    }

    [Theory]
    [InlineData(100, 0, false)]
    [InlineData(37, 50, false)]
    [InlineData(200, 55, true)]
    [InlineData(1024, 0, true)]
    [InlineData(64, -1, true)]
    public void Narrow_windows_keep_the_sm80_kernel_on_hopper(int left, int right, bool hopper)
    {
        var mask = new MaskSpec(MaskKind.SlidingWindow, MaskAlignment.BottomRight, left, right);
        var plan = Planner.Plan(Specs.Make(128, dtype: ElementType.FP16, mask: mask)).Plan!;
        (plan.GpuKernel(GpuFamily.Sm90a) is not null).ShouldBe(hopper);
        if (!hopper)
        {
            Emit.Host.PlanTextRenderer.Render(plan).ShouldContain("no sm_90a kernel: a window narrower than 256 keys");
            GpuPlanner.Plan(plan.Spec, new System.Collections.Generic.List<Diagnostics.SpecDiagnostic>(), new GpuTuning(Family: GpuFamily.Sm90a))
                .ShouldNotBeNull("a tuning that asks for the family still gets it, for measurements");
        }
    }

    [Fact]
    public void Causal_specs_get_the_hopper_kernel()
    {
        Planner.Plan(Specs.Make(128, dtype: ElementType.FP16, mask: Specs.CausalBottomRight)).Plan!.GpuKernel(GpuFamily.Sm90a).ShouldNotBeNull();
    }

    [Fact]
    public void Fp32_specs_get_no_hopper_kernel()
    {
        Planner.Plan(Specs.Make(128, dtype: ElementType.FP32)).Plan!.GpuKernel(GpuFamily.Sm90a).ShouldBeNull();
    }

    [Theory]
    [InlineData(64)]
    [InlineData(128)]
    public void Hopper_plan_fits_sm90_and_keeps_two_tiles_resident_plus_a_prefetch(int headDim)
    {
        var gpu = Planner.Plan(Specs.Make(headDim, dtype: ElementType.FP16)).Plan!.GpuKernel(GpuFamily.Sm90a)!;
        gpu.Family.ShouldBe(GpuFamily.Sm90a);
        gpu.Warps.ShouldBe(8, "two warpgroups");
        gpu.BlockQ.ShouldBe(128, "64 rows per warpgroup");
        gpu.Slabs.ShouldBe(1);
        gpu.Stages.ShouldBeGreaterThanOrEqualTo(3, "V of tile n-1 and K of tile n are in use while the next tile lands");
        gpu.Smem.TotalBytes.ShouldBeLessThanOrEqualTo(GpuPlanner.Sm90.SmemPerBlock);
        gpu.Smem.PaddingBytes.ShouldBe(0, "the swizzle replaces the padding");
        (gpu.Smem.QBytes % 1024).ShouldBe(0, "every tile starts on a swizzle atom");
        (gpu.Smem.KStageBytes % 1024).ShouldBe(0);
        (gpu.Smem.VStageBytes % 1024).ShouldBe(0);
        gpu.Smem.TotalBytes.ShouldBe(gpu.Smem.QBytes + (gpu.Stages * (gpu.Smem.KStageBytes + gpu.Smem.VStageBytes)));
        gpu.EstimatedRegisters.ShouldBeLessThanOrEqualTo(GpuPlanner.MaxRegistersPerThread);
        gpu.EntryName.ShouldEndWith("_sm90a");
    }

    [Theory]
    [InlineData(64, ElementType.FP16)]
    [InlineData(128, ElementType.BF16)]
    public void Hopper_ptx_issues_wgmma_and_no_warp_level_mma(int headDim, ElementType dtype)
    {
        var plan = Planner.Plan(Specs.Make(headDim, dtype: dtype, mask: Specs.CausalBottomRight)).Plan!;
        var gpu = plan.GpuKernel(GpuFamily.Sm90a)!;
        string ptx = PtxEmitter.PtxFor(plan, plan.GpuKernel(GpuFamily.Sm90a)!);
        string t = dtype == ElementType.BF16 ? "bf16" : "f16";
        ptx.ShouldContain(".version 8.0\n.target sm_90a\n");
        ptx.ShouldContain(".extern .shared .align 1024 .b8 kdsl_smem[];");
        ptx.ShouldNotContain("mma.sync");
        ptx.ShouldNotContain("ldmatrix");
        int scores = Regex.Matches(ptx, $@"wgmma\.mma_async\.sync\.aligned\.m64n{gpu.BlockKV}k16\.f32\.{t}\.{t} \{{[^}}]+\}}, %qd, %kd, ").Count;
        int pv = Regex.Matches(ptx, $@"wgmma\.mma_async\.sync\.aligned\.m64n{headDim}k16\.f32\.{t}\.{t} \{{[^}}]+\}}, \{{%pa\d+, %pa\d+, %pa\d+, %pa\d+\}}, %vd, %p_acc, 1, 1, 1;").Count;
        scores.ShouldBe(2 * (headDim / 16), "Q*K^T: D/16 k-steps, in the first tile and in the loop");
        pv.ShouldBe(2 * (gpu.BlockKV / 16), "P*V: BlockKV/16 k-steps, in the loop and after it");
        Regex.Matches(ptx, @"wgmma\.wait_group\.sync\.aligned 1;").Count.ShouldBe(1, "the loop waits for S only, P*V stays in flight");
        ptx.ShouldContain("fence.proxy.async.shared::cta;\n    bar.sync 0;");
    }

    [Fact]
    public void Hopper_descriptors_encode_the_128_byte_swizzle_and_the_atom_strides()
    {
        var plan = Planner.Plan(Specs.Make(128, dtype: ElementType.BF16)).Plan!;
        string ptx = PtxEmitter.PtxFor(plan, plan.GpuKernel(GpuFamily.Sm90a)!);
        // hi word: stride byte offset 1024 >> 4 = 64, swizzle mode 1 at bit 62 (bit 30 of the high word)
        ptx.ShouldContain("mov.u32 %hi, " + (64 | (1 << 30)) + ";");
        // V: leading byte offset = one 64-column block = BlockKV rows of 128 bytes
        int vLeading = (plan.GpuKernel(GpuFamily.Sm90a)!.BlockKV * 128) >> 4;
        ptx.ShouldContain("or.b32 %lo, %lo, " + (vLeading << 16) + ";");
    }

    [Fact]
    public void Hopper_kernels_of_modifier_and_captured_buffer_specs_are_emitted_with_the_same_stages()
    {
        foreach (var spec in Modifiers.PtxMatrix().Concat(Modifiers.CapturedPtxMatrix()))
        {
            var plan = Planner.Plan(spec).Plan!;
            if (plan.GpuKernel(GpuFamily.Sm90a) is null)
            {
                continue;
            }

            string ptx = PtxEmitter.PtxFor(plan, plan.GpuKernel(GpuFamily.Sm90a)!);
            ptx.ShouldContain("wgmma.mma_async", customMessage: spec.Target.Name);
            if (spec.MaskModifier is not null)
            {
                ptx.ShouldContain("Element mask: band (past Skv or outside the band) and mask modifier", customMessage: spec.Target.Name);
            }

            if (spec.ScoreModifier is not null)
            {
                ptx.ShouldContain("==== Score modifier", customMessage: spec.Target.Name);
            }
        }
    }

    [Fact]
    public void Plan_text_says_when_the_sm80_kernel_also_runs_on_hopper()
    {
        var plan = Planner.Plan(Specs.Make(96, dtype: ElementType.BF16)).Plan!;
        Emit.Host.PlanTextRenderer.Render(plan).ShouldContain("gpu family   the sm_80 kernel runs on every GPU, Hopper included");
    }

    [Fact]
    public void Plan_text_names_both_families()
    {
        var plan = Planner.Plan(Specs.Make(128, dtype: ElementType.BF16)).Plan!;
        string text = Emit.Host.PlanTextRenderer.Render(plan);
        text.ShouldContain("gpu kernel   sm_80 PTX");
        text.ShouldContain("gpu family   Hopper (compute capability 9.x) runs the sm_90a kernel");
        text.ShouldContain("gpu sm_90a   PTX (ISA 8.0), FlashAttention-2 forward on wgmma: 128 query rows x 128 keys per tile");
    }
}
