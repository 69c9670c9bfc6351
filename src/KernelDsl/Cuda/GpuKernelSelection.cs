using System;

namespace KernelDsl.Cuda;

/// <summary>
/// Which of a spec's GPU kernels (a <see cref="GpuKernelSet"/>, in the plan's order) runs on a device. One rule over
/// the list: of the kernels the device runs (its compute capability within the kernel's range), the most specialised
/// (highest minimum compute capability; on a tie, the later one). A block mask is built for one kernel's tiles: when it
/// does not fit the preferred kernel, the most specialised kernel the device runs that it does fit runs instead (so a
/// mask built for any family is never wasted); when none fits, the preferred one is returned and the launcher's tile
/// check names its tiles. The environment variable <c>KDSL_GPU_FAMILY</c> (a PTX target: "sm80"/"sm_80",
/// "sm90a"/"sm_90a") restricts the choice to that family's kernels where the device runs one (for side-by-side
/// measurements and tests of each family on one GPU); anything else means automatic.
/// </summary>
public static class GpuKernelSelection
{
    /// <summary>The environment variable that forces a family: a PTX target name, with or without the underscore.</summary>
    public const string FamilyVariable = "KDSL_GPU_FAMILY";

    /// <summary>
    /// The family every launch is restricted to (a PTX target name such as "sm_80"), or null for automatic. Starts as
    /// <see cref="FamilyVariable"/> says (read once, when the type is first used: a launch must not read the
    /// environment, which allocates a string per call); a process may set it to switch.
    /// </summary>
    public static string? ForcedFamily { get; set; } = ReadForcedFamily();

    /// <summary>The family <see cref="FamilyVariable"/> currently names ("sm_80", "sm_90a"), or null.</summary>
    public static string? ReadForcedFamily() => NormalizeFamily(Environment.GetEnvironmentVariable(FamilyVariable));

    /// <summary>"sm80", "SM_80" → "sm_80"; "sm90a" → "sm_90a"; null for empty or anything that is not an sm_ name.</summary>
    public static string? NormalizeFamily(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        string name = value.Trim().ToLowerInvariant();
        if (!name.StartsWith("sm", StringComparison.Ordinal))
        {
            return null;
        }

        name = name.StartsWith("sm_", StringComparison.Ordinal) ? name : "sm_" + name[2..];
        return name.Length > 3 && char.IsAsciiDigit(name[3]) ? name : null;
    }

    /// <summary>The kernel a launch on <paramref name="device"/> uses (see the class summary).</summary>
    public static GpuKernelInfo Select(GpuKernelSet kernels, CudaDevice device, BlockMask? blockMask)
    {
        ArgumentNullException.ThrowIfNull(device);
        return Select(kernels, device.ComputeCapability, blockMask, ForcedFamily);
    }

    /// <summary>
    /// Tiles (BlockQ, BlockKV) of the kernel the device <c>Forward</c> launches on <paramref name="context"/>'s device
    /// (device 0 when null), for building a block mask; the first (portable) kernel's when no context is given and CUDA
    /// is not available. The generated <c>CreateGpuBlockMask</c> and <c>CreateGpuBlockMaskOnDevice</c> both use it.
    /// </summary>
    public static (int BlockQ, int BlockKV) Tiles(GpuKernelSet kernels, CudaContext? context = null)
    {
        int computeCapability = context is not null ? context.Device.ComputeCapability
            : Cuda.IsAvailable ? Cuda.GetDevice(0).ComputeCapability
            : 0;
        var chosen = Select(kernels, computeCapability, null, ForcedFamily);
        return (chosen.BlockQ, chosen.BlockKV);
    }

    /// <summary>
    /// The rule itself, on plain values (no GPU needed): <paramref name="computeCapability"/> is major·10 + minor (0 = no
    /// device: no kernel runs, and the first is returned); <paramref name="forcedFamily"/> null = automatic.
    /// </summary>
    public static GpuKernelInfo Select(GpuKernelSet kernels, int computeCapability, BlockMask? blockMask, string? forcedFamily)
    {
        ArgumentNullException.ThrowIfNull(kernels);

        // Forcing applies only where the device runs a kernel of that family (else the choice is automatic).
        if (forcedFamily is not null && Best(kernels, computeCapability, null, forcedFamily) is null)
        {
            forcedFamily = null;
        }

        var preferred = Best(kernels, computeCapability, null, forcedFamily) ?? kernels[0];
        if (blockMask is null || Fits(preferred, blockMask))
        {
            return preferred;
        }

        return Best(kernels, computeCapability, blockMask, forcedFamily) ?? preferred;
    }

    /// <summary>The most specialised kernel the device runs (of the forced family, fitting the mask, when given), or null.</summary>
    private static GpuKernelInfo? Best(GpuKernelSet kernels, int computeCapability, BlockMask? mustFit, string? family)
    {
        GpuKernelInfo? best = null;
        foreach (var kernel in kernels.Kernels)
        {
            if (kernel.RunsOn(computeCapability)
                && (family is null || string.Equals(kernel.Family, family, StringComparison.Ordinal))
                && (mustFit is null || Fits(kernel, mustFit))
                && (best is null || kernel.MinComputeCapability >= best.MinComputeCapability))
            {
                best = kernel;
            }
        }

        return best;
    }

    private static bool Fits(GpuKernelInfo kernel, BlockMask mask) => mask.BlockQ == kernel.BlockQ && mask.BlockKV == kernel.BlockKV;
}
