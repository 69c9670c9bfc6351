using System.Globalization;
using System.Text;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// Decisions for the sm_80-family GPU kernel (FlashAttention-2 forward, mma.sync m16n8k16). Every number
/// the PTX emitter uses is here, computed once: tile sizes, warps, pipeline depth, the shared-memory layout
/// (byte offsets and row pitches), the folded softmax constant, and the resource estimates the CI gate checks
/// against ptxas.
/// </summary>
/// <param name="BlockQ">Query rows per thread block: 16·Slabs per warp (each warp owns Slabs m16 row slabs).</param>
/// <param name="BlockKV">Keys per K/V tile streamed through shared memory.</param>
/// <param name="Warps">Warps per block; ThreadsPerBlock = 32·Warps.</param>
/// <param name="Stages">Depth of the cp.async ring for K/V tiles (tile n+Stages−1 is in flight while tile n is used).</param>
/// <param name="Smem">Shared-memory layout per block.</param>
/// <param name="ScaleLog2">softmax scale · log2(e): scores are exponentiated as exp2(s·ScaleLog2 − m·ScaleLog2).</param>
/// <param name="EstimatedRegisters">Registers per thread the plan expects (accumulators + fragments + overhead); CI compares with ptxas.</param>
public sealed record GpuKernelPlan(
    int BlockQ,
    int BlockKV,
    int Warps,
    int Stages,
    GpuSharedMemoryLayout Smem,
    double ScaleLog2,
    int EstimatedRegisters,
    GpuOccupancy Sm80,
    GpuOccupancy Sm90)
{
    /// <summary>Threads per block.</summary>
    public int ThreadsPerBlock => 32 * Warps;

    /// <summary>The tensor-core instruction family (sm_80 mma.sync, or Hopper's sm_90a wgmma).</summary>
    public GpuFamily Family { get; init; } = GpuFamily.Sm80;

    /// <summary>What the kernel computes (the spec's list of kernels is one per kind and family).</summary>
    public GpuKernelKind Kind { get; init; } = GpuKernelKind.Forward;

    /// <summary>PTX target of <see cref="Family"/>, which is also the family's name at run time.</summary>
    public string PtxTarget => GpuFamilies.PtxTarget(Family);

    /// <summary>PTX ISA version of <see cref="Family"/> (wgmma needs 8.0; sm_80 kernels stay at 7.8 so CUDA 11.8's ptxas assembles them).</summary>
    public string PtxVersion => GpuFamilies.PtxVersion(Family);

    /// <summary>
    /// True: the kernel takes the block-mask parameters and skips the KV blocks a runtime block mask leaves out (specs
    /// with a mask modifier). Decided once by the planner; the PTX, its ABI and the host launcher read it here.
    /// </summary>
    public bool TakesBlockMask { get; init; }

    /// <summary>True: the kernel writes the log-sum-exp of every query row (the spec's <c>[Fusion(WriteLse = true)]</c>).</summary>
    public bool WritesLse { get; init; }

    /// <summary>Number of captured buffers the kernel takes, one device pointer each after the fixed parameters, in the spec's order.</summary>
    public int CapturedBuffers { get; init; }

    /// <summary>The kernel's parameter list, from its kind and the decisions above: the PTX entry and the launcher are both written from it.</summary>
    public KernelAbi Abi => Kind switch
    {
        GpuKernelKind.BackwardPreprocess => KernelAbi.BackwardPreprocess(),
        GpuKernelKind.BackwardKeyValue => KernelAbi.Backward(keyValue: true, CapturedBuffers, blockClasses: TakesBlockMask),
        GpuKernelKind.BackwardQuery => KernelAbi.Backward(keyValue: false, CapturedBuffers, blockClasses: TakesBlockMask),
        GpuKernelKind.BackwardKeyValueAtomic => KernelAbi.Backward(keyValue: true, CapturedBuffers, dqAccumulator: true, blockClasses: TakesBlockMask),
        GpuKernelKind.BackwardQueryConvert => KernelAbi.BackwardQueryConvert(),
        GpuKernelKind.Decode => KernelAbi.Decode(CapturedBuffers),
        GpuKernelKind.DecodeAppend => KernelAbi.DecodeAppend(CapturedBuffers),
        GpuKernelKind.RotateAppend => KernelAbi.RotateAppend(),
        GpuKernelKind.DecodeMerge => KernelAbi.DecodeMerge(),
        GpuKernelKind.ForwardVarlen => KernelAbi.ForwardVarlen(CapturedBuffers),
        _ => KernelAbi.Forward(TakesBlockMask, CapturedBuffers),
    };

    /// <summary>The shared-memory layout of a backward kernel (resident tiles, then the streamed ring); null for other kinds.</summary>
    public BackwardSharedLayout? BackwardSmem { get; init; }

    /// <summary>The PTX entry name; unique per spec so several kernels can share one module cache.</summary>
    public string EntryName { get; init; } = "kdsl_attention_fwd";

    /// <summary>m16 row slabs per warp (1 or 2): with 2, every K/V fragment read from shared memory feeds two mma.</summary>
    public int Slabs { get; init; } = 1;

    /// <summary>
    /// True: O is rescaled only when some row of the warp changed its max (exact; a warp vote per tile). Off by
    /// default: measured 3–14% slower on the H100 (the branch splits the softmax/PV block; with 32 rows per warp
    /// some row's max changes on most tiles of random data).
    /// </summary>
    public bool SkipUnchangedRescale { get; init; }

    /// <summary>How the spec's score/mask modifiers are lowered and their PTX approximations' error bounds (empty without modifiers).</summary>
    public Model.EquatableArray<string> ModifierNotes { get; init; } = Model.EquatableArray<string>.Empty;

    /// <summary>Human-readable lines for the plan text.</summary>
    public string Describe()
    {
        if (Kind is GpuKernelKind.BackwardPreprocess or GpuKernelKind.BackwardKeyValue or GpuKernelKind.BackwardQuery
            or GpuKernelKind.BackwardKeyValueAtomic or GpuKernelKind.BackwardQueryConvert)
        {
            return GpuBackwardPlanner.Describe(this);
        }

        var s = new StringBuilder();
        if (Kind == GpuKernelKind.Decode)
        {
            s.Append(Invariant($"  gpu decode   sm_80 PTX (ISA 7.8), paged decode: {BlockQ} packed query rows (G query heads x q queries of a KV group) x {BlockKV} keys per tile, {Warps} warps ({ThreadsPerBlock} threads) each taking 16 keys of a tile, {Stages}-stage cp.async ring through the page table\n"));
            s.Append(Invariant($"               grid (KV splits, Hkv x row blocks, sequences); warps merge (m, l, O) in shared memory; {Smem.TotalBytes} bytes shared memory, ~{EstimatedRegisters} registers (estimate)\n"));
            s.Append("               splits = 1 when sequences x Hkv x row blocks >= SMs, else min(ceil(2 x SMs / CTAs), ceil(longest sequence / 256 keys), 64)\n");
            return s.ToString();
        }

        if (Kind == GpuKernelKind.DecodeAppend)
        {
            s.Append(Invariant($"  gpu append   the decode kernel above with the fused prologue: the new tokens' K (after rotary) and V written into their pages and attended to in the same launch, Q rotated as it lands in shared memory; ~{EstimatedRegisters} registers (estimate)\n"));
            return s.ToString();
        }

        if (Kind == GpuKernelKind.RotateAppend)
        {
            s.Append(Invariant($"  gpu prologue sm_80 PTX, the same prologue unfused (a launch before Decode; the baseline of the fusion): one block of {ThreadsPerBlock} threads per new token, q rotated into a tensor, k (rotated) and v into their pages\n"));
            return s.ToString();
        }

        if (Kind == GpuKernelKind.DecodeMerge)
        {
            s.Append(Invariant($"  gpu merge    sm_80 PTX, split-KV merge: one block of {ThreadsPerBlock} threads per (query token, query head), partial (O, LSE) combined by their LSE\n"));
            return s.ToString();
        }

        if (Kind == GpuKernelKind.ForwardVarlen)
        {
            s.Append(Invariant($"  gpu varlen   {PtxTarget} PTX (ISA {PtxVersion}{(Family == GpuFamily.Sm90a ? ", Hopper" : string.Empty)}), the forward kernel over packed sequences: {BlockQ} query rows x {BlockKV} keys per tile, {Warps} warps, {Stages}-stage cp.async K/V ring, {Smem.TotalBytes} bytes shared memory\n"));
            s.Append("               grid (query blocks of the longest sequence, Hq, sequences); a CTA past its sequence's blocks exits at once; rows through cu_seqlens, band per sequence\n");
            return s.ToString();
        }

        string tag = Family == GpuFamily.Sm90a ? "gpu sm_90a " : "gpu kernel ";
        if (Family == GpuFamily.Sm90a)
        {
            s.Append(Invariant($"  {tag}  PTX (ISA {PtxVersion}), FlashAttention-2 forward on wgmma: {BlockQ} query rows x {BlockKV} keys per tile, {Warps / 4} warpgroups ({ThreadsPerBlock} threads), 64 rows per warpgroup, {Stages}-stage cp.async K/V ring\n"));
            s.Append(Invariant($"               grid (ceil(Sq/{BlockQ}), Hq, B); Q, K and V read by the tensor cores from shared memory, P from registers; S(n) = Q*K(n)^T and O += P(n-1)*V(n-1) in flight during softmax(n)\n"));
            s.Append(Invariant($"  gpu smem     {Smem.TotalBytes} bytes/block: Q {Smem.QBytes} + K {Stages}x{Smem.KStageBytes} + V {Stages}x{Smem.VStageBytes}; 128-byte swizzle (no padding), 64-column blocks\n"));
        }
        else
        {
            s.Append(Invariant($"  {tag}  sm_80 PTX (ISA 7.8), FlashAttention-2 forward: {BlockQ} query rows x {BlockKV} keys per tile, {Warps} warps ({ThreadsPerBlock} threads), {16 * Slabs} rows per warp, {Stages}-stage cp.async K/V ring\n"));
            s.Append(Invariant($"               grid (ceil(Sq/{BlockQ}), Hq, B); Q fragments re-read from shared memory per K tile\n"));
            s.Append(Invariant($"  gpu smem     {Smem.TotalBytes} bytes/block: Q {Smem.QBytes} + K {Stages}x{Smem.KStageBytes} + V {Stages}x{Smem.VStageBytes}; rows padded by {GpuSharedMemoryLayout.RowPaddingBytes} bytes (bank-conflict-free ldmatrix, no swizzle), padding {Smem.PaddingBytes} bytes in total\n"));
        }

        s.Append(Invariant($"  gpu regs     ~{EstimatedRegisters}/thread (estimate); blocks/SM sm_80 {Sm80.BlocksPerSm} ({Sm80.Limiter}), sm_90 {Sm90.BlocksPerSm} ({Sm90.Limiter})\n"));
        foreach (var note in ModifierNotes)
        {
            s.Append("  gpu mods     ").Append(note).Append('\n');
        }

        return s.ToString();
    }

    private static string Invariant(System.FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Shared memory of one block: the Q tile, then <c>Stages</c> K tiles, then <c>Stages</c> V tiles. Each tile is
/// row-major (one row per query or key, head-dim contiguous) with its rows padded by 16 bytes, so the eight
/// 16-byte row segments one ldmatrix phase reads fall in eight different 4-bank groups.
/// </summary>
public sealed record GpuSharedMemoryLayout(
    int QPitchBytes,
    int KPitchBytes,
    int VPitchBytes,
    int QBytes,
    int KStageBytes,
    int VStageBytes,
    int Stages,
    int PaddingBytes)
{
    public const int RowPaddingBytes = 16;

    public int QOffset => 0;

    public int KOffset => QBytes;

    public int VOffset => QBytes + (Stages * KStageBytes);

    public int TotalBytes => QBytes + (Stages * (KStageBytes + VStageBytes));
}

/// <summary>
/// Shared memory of a backward kernel: the resident tiles (rows × D, then rows × Dv) the block keeps for its whole
/// life, then <see cref="Stages"/> stages of the streamed tiles (rows × D, rows × Dv, and for the dK/dV kernel the rows'
/// base-2 LSE and Δ, fp32). Rows are padded by 16 bytes like the forward's (bank-conflict-free ldmatrix).
/// </summary>
public sealed record BackwardSharedLayout(int DPitchBytes, int DvPitchBytes, int ResidentRows, int StreamRows, int Stages, bool StreamsRowStatistics)
{
    public int ResidentDvOffset => ResidentRows * DPitchBytes;

    public int ResidentBytes => ResidentRows * (DPitchBytes + DvPitchBytes);

    /// <summary>Offsets within one stage.</summary>
    public int StreamDvOffset => StreamRows * DPitchBytes;

    public int StreamLseOffset => StreamRows * (DPitchBytes + DvPitchBytes);

    public int StreamDeltaOffset => StreamLseOffset + (StreamRows * 4);

    public int StageBytes => StreamLseOffset + (StreamsRowStatistics ? 2 * StreamRows * 4 : 0);

    public int StreamOffset => ResidentBytes;

    /// <summary>
    /// Atomic-dQ mode's dK/dV kernel: the row pitch of dSᵀ (resident rows × streamed rows, 16-bit, padded) that the warps
    /// share for dQ = dS·K; 0 for the other kernels.
    /// </summary>
    public int ScoreGradientPitchBytes { get; init; }

    /// <summary>dSᵀ after the ring.</summary>
    public int ScoreGradientOffset => ResidentBytes + (Stages * StageBytes);

    public int ScoreGradientBytes => ResidentRows * ScoreGradientPitchBytes;

    public int TotalBytes => ResidentBytes + (Stages * StageBytes) + ScoreGradientBytes;
}

/// <summary>How many blocks of this kernel one SM holds on a target, and what limits it.</summary>
public sealed record GpuOccupancy(string Target, int BlocksPerSm, string Limiter, int SmemPerSmBytes, int SmemPerBlockBytes);
