using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>Which family's kernel a launch uses (no GPU needed: the device is its compute capability).</summary>
public class GpuKernelSelectionTests
{
    private static readonly GpuKernelInfo Sm80 = new("ptx80", "k_fwd", 128, 128, 69632, BlockKV: 32, TakesBlockMask: true);

    private static readonly GpuKernelInfo WithHopper = Sm80 with
    {
        Hopper = new GpuKernelInfo("ptx90a", "k_fwd_sm90a", 256, 128, 229376, BlockKV: 128, TakesBlockMask: true),
    };

    private static BlockMask MaskFor(GpuKernelInfo kernel)
    {
        int qBlocks = (300 + kernel.BlockQ - 1) / kernel.BlockQ;
        int kvBlocks = (300 + kernel.BlockKV - 1) / kernel.BlockKV;
        return new BlockMask(300, 300, kernel.BlockQ, kernel.BlockKV, 1, 1, new int[2 * qBlocks], new int[qBlocks * kvBlocks]);
    }

    [Theory]
    [InlineData(8, false)]
    [InlineData(9, true)]
    [InlineData(10, false)]
    [InlineData(12, false)]
    [InlineData(0, false)]
    public void Hopper_kernel_runs_on_compute_capability_9_only(int major, bool hopper)
    {
        var chosen = GpuKernelSelection.Select(WithHopper, major, null, forcedSm80: false);
        chosen.EntryName.ShouldBe(hopper ? "k_fwd_sm90a" : "k_fwd");
    }

    [Fact]
    public void Specs_without_a_hopper_kernel_run_the_sm80_kernel_on_hopper()
    {
        GpuKernelSelection.Select(Sm80, 9, null, forcedSm80: false).ShouldBeSameAs(Sm80);
    }

    [Fact]
    public void Forcing_sm80_keeps_hopper_on_the_sm80_kernel_even_for_a_hopper_tiled_mask()
    {
        GpuKernelSelection.Select(WithHopper, 9, null, forcedSm80: true).ShouldBeSameAs(WithHopper);
        GpuKernelSelection.Select(WithHopper, 9, MaskFor(WithHopper.Hopper!), forcedSm80: true).ShouldBeSameAs(WithHopper);
    }

    [Fact]
    public void A_mask_built_for_the_other_family_selects_the_kernel_it_fits()
    {
        GpuKernelSelection.Select(WithHopper, 9, MaskFor(Sm80), forcedSm80: false).ShouldBeSameAs(WithHopper, "sm_80 tiles run the sm_80 kernel, on Hopper too");
        GpuKernelSelection.Select(WithHopper, 9, MaskFor(WithHopper.Hopper!), forcedSm80: false).ShouldBeSameAs(WithHopper.Hopper);
    }

    [Fact]
    public void A_hopper_tiled_mask_never_sends_the_hopper_kernel_to_another_gpu()
    {
        // The launcher's tile check then rejects the mask, naming the sm_80 kernel's tiles.
        GpuKernelSelection.Select(WithHopper, 8, MaskFor(WithHopper.Hopper!), forcedSm80: false).ShouldBeSameAs(WithHopper);
    }

    [Fact]
    public void Without_a_gpu_block_masks_get_the_sm80_tiles()
    {
        TestSupport.RequireNoGpu();
        GpuKernelSelection.Tiles(WithHopper).ShouldBe((128, 32));
    }
}
