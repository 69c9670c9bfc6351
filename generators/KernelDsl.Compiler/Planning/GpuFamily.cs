namespace KernelDsl.Compiler.Planning;

/// <summary>
/// The tensor-core instruction family a GPU kernel is emitted for. Both share the algorithm (FlashAttention-2 tiling,
/// online softmax in registers, the same per-thread accumulator layout), and differ in how the two matrix products
/// are issued and how shared memory is laid out for them. What the rest of the compiler and the runtime need to know
/// about a family (PTX target, which devices run it, generated names) is in <see cref="GpuFamilies"/>.
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

/// <summary>The kind of work a GPU kernel does; a spec's plan holds one kernel per kind and family it covers.</summary>
public enum GpuKernelKind
{
    /// <summary>The fused attention forward pass (O and optionally LSE).</summary>
    Forward,

    /// <summary>Backward, first kernel: Δ = rowsum(dO ∘ O) and the LSE in base 2 (+∞ for a row with no kept key), fp32 [B, Hq, Sq].</summary>
    BackwardPreprocess,

    /// <summary>Backward, K/V-block-parallel: dK and dV of one key block, summed over the query heads of its GQA group in the block.</summary>
    BackwardKeyValue,

    /// <summary>Backward, query-block-parallel: dQ of one query block (P recomputed; no atomics, so deterministic).</summary>
    BackwardQuery,

    /// <summary>
    /// Backward, atomic-dQ mode (the default): the dK/dV kernel that also adds dS·K of its key block into an fp32 dQ
    /// accumulator with red.global.add (5 tile products per tile pair instead of 7; the order of the adds varies).
    /// </summary>
    BackwardKeyValueAtomic,

    /// <summary>Backward, atomic-dQ mode, last kernel: dQ = scale · accumulator, converted to dQ's element type.</summary>
    BackwardQueryConvert,
    /// <summary>
    /// Decode over a paged KV cache (issue 11, [PagedKv] specs): one CTA per (KV split, KV head and block of 16 packed query
    /// rows, sequence), the G query heads × q queries of a KV group packed group-major into the mma rows, warps splitting
    /// the CTA's KV tiles and merging in shared memory; writes O and LSE, or a split's partial (O, LSE) to a workspace.
    /// </summary>
    Decode,

    /// <summary>Combines the decode kernel's per-split partial (O, LSE) by their LSE into O and LSE (split-KV only).</summary>
    DecodeMerge,

    /// <summary>
    /// The forward over a variable-length batch (issue 11, [Varlen] specs): the forward kernel with each sequence's rows found
    /// through cumulative offsets (cu_seqlens), grid (query blocks of the longest sequence, Hq, sequences), per-sequence band.
    /// </summary>
    ForwardVarlen,

    /// <summary>
    /// The decode kernel with the fused prologue of [Fusion(AppendKv = true)] (issue 12): the new tokens' K (after rotary) and
    /// V are written into the pages and attended to in the same launch; Q (and the new K) rotated in the kernel. Its split-KV
    /// partials go to the same merge kernel.
    /// </summary>
    DecodeAppend,

    /// <summary>
    /// The same prologue unfused, as a launch of its own (issue 12): q rotated into a separate tensor, the new k (rotated) and v
    /// written into their pages; a plain Decode follows. The baseline the fused kernel is measured against.
    /// </summary>
    RotateAppend,
}

/// <summary>Per-family facts, in one place: PTX target and version, the devices that run it, generated names.</summary>
public static class GpuFamilies
{
    /// <summary>The PTX <c>.target</c>, which is also the family's name at run time (<c>KDSL_GPU_FAMILY</c>).</summary>
    public static string PtxTarget(GpuFamily family) => family == GpuFamily.Sm90a ? "sm_90a" : "sm_80";

    /// <summary>PTX ISA version (wgmma needs 8.0; sm_80 kernels stay at 7.8 so CUDA 11.8's ptxas assembles them).</summary>
    public static string PtxVersion(GpuFamily family) => family == GpuFamily.Sm90a ? "8.0" : "7.8";

    /// <summary>The lowest compute capability (major·10 + minor) that runs the family's PTX.</summary>
    public static int MinComputeCapability(GpuFamily family) => family == GpuFamily.Sm90a ? 90 : 80;

    /// <summary>The highest compute capability that runs it: arch-specific ("a") targets run on their own major version only; null = no limit.</summary>
    public static int? MaxComputeCapability(GpuFamily family) => family == GpuFamily.Sm90a ? 99 : null;

    /// <summary>Suffix of a kernel's generated class and PTX entry name ("" for the family every GPU runs).</summary>
    public static string NameSuffix(GpuFamily family) => family == GpuFamily.Sm90a ? "Sm90a" : string.Empty;

    /// <summary>The devices that run the family, in words (plan text).</summary>
    public static string Devices(GpuFamily family) => family == GpuFamily.Sm90a ? "Hopper (compute capability 9.x)" : "every GPU since Ampere (compute capability 8.0+)";
}
