using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>Which of a spec's kernels a launch uses (no GPU needed: the device is its compute capability).</summary>
public class GpuKernelSelectionTests
{
    private static readonly GpuKernelInfo Sm80 = new("ptx80", "k_fwd", 128, 128, 69632, BlockKV: 32, TakesBlockMask: true);

    private static readonly GpuKernelInfo Sm90a = new("ptx90a", "k_fwd_sm90a", 256, 128, 229376, BlockKV: 128, TakesBlockMask: true,
        Family: "sm_90a", MinComputeCapability: 90, MaxComputeCapability: 99);

    private static readonly GpuKernelSet Portable = new(Sm80);

    private static readonly GpuKernelSet BothFamilies = new(Sm80, Sm90a);

    private static BlockMask MaskFor(GpuKernelInfo kernel, int blockQ = 0)
    {
        blockQ = blockQ == 0 ? kernel.BlockQ : blockQ;
        int qBlocks = (300 + blockQ - 1) / blockQ;
        int kvBlocks = (300 + kernel.BlockKV - 1) / kernel.BlockKV;
        return new BlockMask(300, 300, blockQ, kernel.BlockKV, 1, 1, new int[2 * qBlocks], new int[qBlocks * kvBlocks]);
    }

    [Theory]
    [InlineData(80, false)]
    [InlineData(86, false)]
    [InlineData(89, false)]
    [InlineData(90, true)]
    [InlineData(100, false)]
    [InlineData(120, false)]
    [InlineData(0, false)]
    public void The_sm90a_kernel_runs_on_compute_capability_9_only(int computeCapability, bool sm90a)
    {
        var chosen = GpuKernelSelection.Select(BothFamilies, computeCapability, null, forcedFamily: null);
        chosen.ShouldBeSameAs(sm90a ? Sm90a : Sm80);
    }

    [Fact]
    public void The_rule_prefers_the_most_specialised_kernel_the_device_runs_wherever_it_is_in_the_list()
    {
        var reversed = new GpuKernelSet(Sm90a, Sm80);
        GpuKernelSelection.Select(reversed, 90, null, null).ShouldBeSameAs(Sm90a);
        GpuKernelSelection.Select(reversed, 80, null, null).ShouldBeSameAs(Sm80);
        GpuKernelSelection.Select(reversed, 0, null, null).ShouldBeSameAs(Sm90a, "no device: the list's first kernel");
    }

    [Fact]
    public void Specs_without_an_sm90a_kernel_run_the_portable_kernel_on_hopper()
    {
        GpuKernelSelection.Select(Portable, 90, null, null).ShouldBeSameAs(Sm80);
    }

    [Fact]
    public void Forcing_a_family_keeps_every_launch_on_it_even_for_a_mask_of_another_familys_tiles()
    {
        GpuKernelSelection.Select(BothFamilies, 90, null, "sm_80").ShouldBeSameAs(Sm80);
        GpuKernelSelection.Select(BothFamilies, 90, MaskFor(Sm90a), "sm_80").ShouldBeSameAs(Sm80);
        GpuKernelSelection.Select(BothFamilies, 90, MaskFor(Sm80), "sm_90a").ShouldBeSameAs(Sm90a);
    }

    [Fact]
    public void Forcing_a_family_the_device_does_not_run_falls_back_to_the_automatic_choice()
    {
        GpuKernelSelection.Select(BothFamilies, 80, null, "sm_90a").ShouldBeSameAs(Sm80);
        GpuKernelSelection.Select(Portable, 90, null, "sm_90a").ShouldBeSameAs(Sm80);
    }

    [Fact]
    public void A_mask_built_for_another_kernel_selects_the_kernel_it_fits()
    {
        GpuKernelSelection.Select(BothFamilies, 90, MaskFor(Sm80), null).ShouldBeSameAs(Sm80, "sm_80 tiles run the sm_80 kernel, on Hopper too");
        GpuKernelSelection.Select(BothFamilies, 90, MaskFor(Sm90a), null).ShouldBeSameAs(Sm90a);
    }

    [Fact]
    public void A_mask_no_kernel_fits_leaves_the_preferred_kernel_for_the_launchers_tile_check()
    {
        GpuKernelSelection.Select(BothFamilies, 90, MaskFor(Sm80, blockQ: 64), null).ShouldBeSameAs(Sm90a);
    }

    [Fact]
    public void A_mask_of_sm90a_tiles_never_sends_the_sm90a_kernel_to_another_gpu()
    {
        // The launcher's tile check then rejects the mask, naming the sm_80 kernel's tiles.
        GpuKernelSelection.Select(BothFamilies, 80, MaskFor(Sm90a), null).ShouldBeSameAs(Sm80);
    }

    [Theory]
    [InlineData("sm80", "sm_80")]
    [InlineData("SM_80", "sm_80")]
    [InlineData(" sm90a ", "sm_90a")]
    [InlineData("sm_90a", "sm_90a")]
    [InlineData("auto", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    [InlineData("sm", null)]
    [InlineData("smx", null)]
    public void Family_names_are_normalised_to_ptx_targets(string? value, string? family)
    {
        GpuKernelSelection.NormalizeFamily(value).ShouldBe(family);
    }

    [Fact]
    public void Without_a_gpu_block_masks_get_the_portable_kernels_tiles()
    {
        TestSupport.RequireNoGpu();
        GpuKernelSelection.Tiles(BothFamilies).ShouldBe((128, 32));
    }
}
