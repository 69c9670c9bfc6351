using System;

namespace KernelDsl.Cuda;

/// <summary>
/// Which of a spec's GPU kernels runs on a device: the Hopper-family kernel (sm_90a, wgmma) on compute capability 9.x
/// when the spec has one, the sm_80-family kernel everywhere else. A block mask is built for one kernel's tiles; when
/// it fits only the other kernel's, that kernel runs (so a mask built for either family is never wasted), except that
/// the Hopper kernel runs only on 9.x. Setting the environment variable <c>KDSL_GPU_FAMILY=sm80</c> keeps every launch on
/// the sm_80-family kernel (for side-by-side measurements and tests of both families on one Hopper GPU).
/// </summary>
public static class GpuKernelSelection
{
    /// <summary>The environment variable that forces a family: "sm80" (or "sm_80"); anything else means automatic.</summary>
    public const string FamilyVariable = "KDSL_GPU_FAMILY";

    /// <summary>
    /// True when the sm_80 family is forced. Starts as the environment says (read once, when the type is first used: a
    /// launch must not read the environment, which allocates a string per call); a process may set it to switch.
    /// </summary>
    public static bool ForcedSm80 { get; set; } = ReadForcedSm80();

    /// <summary>Whether <see cref="FamilyVariable"/> currently asks for the sm_80 family.</summary>
    public static bool ReadForcedSm80()
    {
        string? value = Environment.GetEnvironmentVariable(FamilyVariable);
        return string.Equals(value, "sm80", StringComparison.OrdinalIgnoreCase) || string.Equals(value, "sm_80", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The kernel a launch on <paramref name="device"/> uses (see the class summary).</summary>
    public static GpuKernelInfo Select(GpuKernelInfo kernel, CudaDevice device, BlockMask? blockMask = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Select(kernel, device.ComputeCapabilityMajor, blockMask, ForcedSm80);
    }

    /// <summary>The kernel chosen by device alone (compute capability major version; 0 = no device: the sm_80 family).</summary>
    public static GpuKernelInfo Preferred(GpuKernelInfo kernel, int computeCapabilityMajor) => Preferred(kernel, computeCapabilityMajor, ForcedSm80);

    /// <summary>
    /// Tiles (BlockQ, BlockKV) of the kernel the device <c>Forward</c> launches on <paramref name="context"/>'s device
    /// (device 0 when null), for building a block mask; the sm_80 family's when no context is given and CUDA is not
    /// available. The generated <c>CreateGpuBlockMask</c> and <c>CreateGpuBlockMaskOnDevice</c> both use it.
    /// </summary>
    public static (int BlockQ, int BlockKV) Tiles(GpuKernelInfo kernel, CudaContext? context = null)
    {
        int major = context is not null ? context.Device.ComputeCapabilityMajor
            : Cuda.IsAvailable ? Cuda.GetDevice(0).ComputeCapabilityMajor
            : 0;
        var chosen = Preferred(kernel, major);
        return (chosen.BlockQ, chosen.BlockKV);
    }

    internal static GpuKernelInfo Select(GpuKernelInfo kernel, int computeCapabilityMajor, BlockMask? blockMask, bool forcedSm80)
    {
        var preferred = Preferred(kernel, computeCapabilityMajor, forcedSm80);
        if (blockMask is null || Fits(preferred, blockMask))
        {
            return preferred;
        }

        if (!ReferenceEquals(preferred, kernel) && Fits(kernel, blockMask))
        {
            return kernel;
        }

        if (kernel.Hopper is { } hopper && computeCapabilityMajor == 9 && !forcedSm80 && Fits(hopper, blockMask))
        {
            return hopper;
        }

        return preferred;  // the launcher's tile check then names the preferred kernel's tiles
    }

    internal static GpuKernelInfo Preferred(GpuKernelInfo kernel, int computeCapabilityMajor, bool forcedSm80)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        return kernel.Hopper is not null && computeCapabilityMajor == 9 && !forcedSm80 ? kernel.Hopper : kernel;
    }

    private static bool Fits(GpuKernelInfo kernel, BlockMask mask) => mask.BlockQ == kernel.BlockQ && mask.BlockKV == kernel.BlockKV;
}
