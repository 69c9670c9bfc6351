using System;

namespace KernelDsl.Cuda;

/// <summary>
/// One generated GPU kernel, as the runtime launches it (from one of the spec's <c>__GpuKernel…</c> classes): its PTX
/// and entry, its family (<see cref="Family"/>: the PTX target, e.g. "sm_80" or "sm_90a") and the devices that run it,
/// launch geometry, tiles, and whether it takes the block-mask parameters.
/// </summary>
/// <param name="Ptx">The PTX text (the driver JIT-compiles it per context, once).</param>
/// <param name="EntryName">The PTX <c>.entry</c> name.</param>
/// <param name="ThreadsPerBlock">Threads per block of a launch.</param>
/// <param name="BlockQ">Query rows per block (grid x = ceil(Sq / BlockQ)).</param>
/// <param name="SharedMemoryBytes">Dynamic shared memory per block.</param>
/// <param name="BlockKV">Keys per K/V tile (a block mask for this kernel is built for BlockQ x BlockKV tiles).</param>
/// <param name="Family">The family's PTX target, e.g. "sm_80" or "sm_90a" (what <c>KDSL_GPU_FAMILY</c> names).</param>
/// <param name="MinComputeCapability">The lowest compute capability (major·10 + minor) that runs the PTX.</param>
/// <param name="MaxComputeCapability">The highest one (arch-specific "a" targets run on one major version only).</param>
/// <param name="TakesBlockMask">The kernel has the block-mask parameters (specs with a mask modifier).</param>
public sealed record GpuKernelInfo(
    string Ptx,
    string EntryName,
    int ThreadsPerBlock,
    int BlockQ,
    int SharedMemoryBytes,
    int BlockKV = 0,
    bool TakesBlockMask = false,
    string Family = "sm_80",
    int MinComputeCapability = 80,
    int MaxComputeCapability = int.MaxValue)
{
    /// <summary>
    /// The kernel's parameters in <c>.param</c> order, generated from the same ABI record as its PTX entry; the launcher
    /// packs exactly these. Null only for kernels launched by other means (e.g. a test's own PTX).
    /// </summary>
    public AbiSlot[]? Abi { get; init; }

    /// <summary>True when a device of this compute capability (major·10 + minor) runs the kernel.</summary>
    public bool RunsOn(int computeCapability) => computeCapability >= MinComputeCapability && computeCapability <= MaxComputeCapability;
}

/// <summary>
/// The kernels of one kind a spec has (the generated descriptor's list, the same list as the compiler's plan), in
/// order of increasing specialisation: the first runs on every supported GPU. <see cref="GpuKernelSelection"/> picks
/// one per launch.
/// </summary>
public sealed class GpuKernelSet
{
    private readonly GpuKernelInfo[] _kernels;

    public GpuKernelSet(params GpuKernelInfo[] kernels)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        if (kernels.Length == 0)
        {
            throw new ArgumentException("A kernel set needs at least one kernel.", nameof(kernels));
        }

        foreach (var kernel in kernels)
        {
            ArgumentNullException.ThrowIfNull(kernel, nameof(kernels));
        }

        _kernels = (GpuKernelInfo[])kernels.Clone();
    }

    /// <summary>The kernels, in the plan's order.</summary>
    public ReadOnlySpan<GpuKernelInfo> Kernels => _kernels;

    public int Count => _kernels.Length;

    public GpuKernelInfo this[int index] => _kernels[index];

    /// <summary>The kernel of a family (its PTX target name), or null.</summary>
    public GpuKernelInfo? Find(string family)
    {
        foreach (var kernel in _kernels)
        {
            if (string.Equals(kernel.Family, family, StringComparison.Ordinal))
            {
                return kernel;
            }
        }

        return null;
    }
}
