namespace KernelDsl.Compiler.Planning;

/// <summary>
/// The tensor-core instruction family a GPU kernel is emitted for. Both share the algorithm (FlashAttention-2 tiling,
/// online softmax in registers, the same per-thread accumulator layout), and differ in how the two matrix products
/// are issued and how shared memory is laid out for them.
/// </summary>
public enum GpuFamily
{
    /// <summary>PTX ISA 7.8, target sm_80: warp-level mma.sync m16n8k16 fed by ldmatrix from padded shared memory. Runs on every GPU since Ampere.</summary>
    Sm80,

    /// <summary>
    /// PTX ISA 8.0, target sm_90a (Hopper only): warpgroup-level wgmma.mma_async reading K, Q and V straight from
    /// 128-byte-swizzled shared memory through matrix descriptors, P from registers, with the next tile's Q·Kᵀ and the
    /// previous tile's P·V in flight on the tensor cores while the softmax runs.
    /// </summary>
    Sm90a,
}
