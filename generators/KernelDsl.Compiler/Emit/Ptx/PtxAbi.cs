using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// The forward kernel's <c>.param</c> list, written from the kernel's ABI record (Planning/KernelAbi.cs), from which the
/// generated launcher table (HostEmitter: one KernelDsl.Cuda.AbiSlot per parameter) is written too; the runtime packs
/// by that table, so changing the record changes both sides (KernelAbiTests and the GPU project's GeneratedAbiTests check
/// that they agree for every kernel). The table below documents the current list.
/// </summary>
/// <remarks>
/// <code>
///  #  name               PTX type  meaning
///  0  q                  u64       device pointer to Q (16-byte aligned)
///  1  k                  u64       device pointer to K (16-byte aligned)
///  2  v                  u64       device pointer to V (16-byte aligned)
///  3  o                  u64       device pointer to O (4-byte aligned; 8 for fp32 output)
///  4  lse                u64       device pointer to LSE [B, Hq, Sq] fp32 contiguous, or 0 for none
///  5  seq_q              u32       Sq
///  6  seq_kv             u32       Skv
///  7  heads_q            u32       Hq
///  8  heads_kv           u32       Hkv (Hq must be a multiple of it; query head h reads kv head h / (Hq/Hkv))
///  9  q_batch_stride     u64       element strides of Q: batch, sequence, head (the head-dim stride is 1)
/// 10  q_seq_stride       u64
/// 11  q_head_stride      u64
/// 12  k_batch_stride     u64       ... of K
/// 13  k_seq_stride       u64
/// 14  k_head_stride      u64
/// 15  v_batch_stride     u64       ... of V
/// 16  v_seq_stride       u64
/// 17  v_head_stride      u64
/// 18  o_batch_stride     u64       ... of O
/// 19  o_seq_stride       u64
/// 20  o_head_stride      u64
/// --- block mask (issue 4), only for specs with a mask modifier (KernelDsl.BlockMask documents the layout):
/// 21  block_counts       u64       int32 [Batches, Heads, QueryBlocks, 2] (partial, full), or 0 = no block mask (every
///                                  tile the band keeps is visited with the element mask)
/// 22  block_indices      u64       int32 [Batches, Heads, QueryBlocks, KvBlocks]: partial blocks, then full ones
/// 23  block_batch_stride u32       query-block rows per batch in the mask (0 when the mask is shared by all batches)
/// 24  block_head_stride  u32       query-block rows per head (0 when shared by all heads)
/// 25  block_kv_blocks    u32       KvBlocks (the row length of block_indices)
/// --- captured buffers (issue 4), only for specs whose modifiers capture any, in AttentionSpec.CapturedBuffers order:
/// next: captured0, ...   u64       device pointer to each buffer (4-byte elements, row-major, length checked by the host)
///       captured0_last   u32       right after each pointer: the buffer's last index (count − 1, at most 2^31 − 1); every
///                                  modifier read clamps its index to it (unsigned min: a negative index clamps too)
/// grid = (ceil(Sq / BlockQ), Hq, B), block = (ThreadsPerBlock, 1, 1), dynamic shared memory = SharedMemoryBytes
/// (over 48 KiB: raise CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES first). Q/K/V strides must be multiples
/// of 8 elements (16-byte cp.async rows); O strides multiples of 2. BSHD and BHSD are both expressed by strides.
/// </code>
/// </remarks>
public static class PtxAbi
{
    /// <summary>The fixed parameters every forward kernel has (no block mask, no captured buffers).</summary>
    public static IReadOnlyList<(string Name, string Type)> Parameters { get; } = Of(KernelAbi.Forward(takesBlockMask: false, capturedBuffers: 0));

    /// <summary>The <c>.param</c> list of one kernel: its ABI record (Planning/KernelAbi), which the host launcher's packing table also comes from.</summary>
    public static IReadOnlyList<(string Name, string Type)> For(GpuKernelPlan kernel) => Of(kernel.Abi);

    /// <summary>The block-mask parameters of a mask-modifier kernel, in order.</summary>
    public static IReadOnlyList<(string Name, string Type)> BlockMaskParameters { get; } =
        Of(KernelAbi.Forward(takesBlockMask: true, capturedBuffers: 0)).Skip(Parameters.Count).ToList();

    /// <summary>The .param name of the i-th captured buffer (by position: C# names may not be ASCII, PTX names must be).</summary>
    public static string CapturedParameter(int index) => "captured" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The .param name of the i-th captured buffer's last valid index (u32, the clamp of every read).</summary>
    public static string CapturedLastIndexParameter(int index) => CapturedParameter(index) + "_last";

    public static string Comment { get; } =
        "params (in order): u64 q, k, v, o, lse (0 = none); u32 seq_q, seq_kv, heads_q, heads_kv;\n" +
        "u64 element strides q_batch, q_seq, q_head, k_batch, k_seq, k_head, v_batch, v_seq, v_head, o_batch, o_seq, o_head.\n" +
        "grid = (ceil(Sq/BlockQ), Hq, B); block = (ThreadsPerBlock, 1, 1); dynamic shared memory = SharedMemoryBytes.\n" +
        "Q/K/V: 16-byte aligned, strides multiples of 8 elements; LSE [B, Hq, Sq] fp32, natural log, -inf for empty rows.";

    /// <summary>The launch comment of the decode kernels (their parameter lists are their ABI records, KernelAbi.Decode/DecodeMerge).</summary>
    public static string DecodeComment(GpuKernelKind kind) => kind == GpuKernelKind.RotateAppend
        ? "params: the ABI record KernelAbi.RotateAppend (q, k_new, v_new, q_rot, pools, batch arrays, heads, pool strides in elements).\n" +
          "grid = (MaxQueriesPerSequence, 1, sequences); block = (ThreadsPerBlock, 1, 1); no shared memory; kv_lengths include the new tokens."
        : kind == GpuKernelKind.DecodeAppend
        ? "params: the ABI record KernelAbi.DecodeAppend (the decode kernel's, then k_new [totalQ, Hkv, D] and v_new [totalQ, Hkv, Dv], un-rotated).\n" +
          "grid, block and shared memory as the decode kernel; kv_lengths include the new tokens (the last q of each sequence)."
        : kind == GpuKernelKind.Decode
        ? "params: the ABI record KernelAbi.Decode (q, pools, O, LSE, batch arrays, heads, pool strides in elements, splits, workspace, captured buffers).\n" +
          "grid = (splits, Hkv * row_blocks, sequences); block = (ThreadsPerBlock, 1, 1); dynamic shared memory = SharedMemoryBytes.\n" +
          "q [totalQ, Hq, D] and O [totalQ, Hq, Dv] packed; LSE [totalQ, Hq] fp32; splits > 1: partial O/LSE to the workspace, then the merge kernel."
        : "params: the ABI record KernelAbi.DecodeMerge (workspace partial O and LSE, O, LSE, splits, total_q, heads_q).\n" +
          "grid = (totalQ * Hq, 1, 1); block = (ThreadsPerBlock, 1, 1); no shared memory.";

    /// <summary>The launch comment of the varlen forward kernel (its parameter list is its ABI record, KernelAbi.ForwardVarlen).</summary>
    public static string VarlenComment { get; } =
        "params: the ABI record KernelAbi.ForwardVarlen (q, k, v, O, LSE, query_offsets and key_offsets int32 [B+1], heads, token and head strides in elements, captured buffers).\n" +
        "grid = (ceil(longest sequence's queries / BlockQ), Hq, sequences); block = (ThreadsPerBlock, 1, 1); dynamic shared memory = SharedMemoryBytes.\n" +
        "q [totalQ, Hq, D], k/v [totalKv, Hkv, D] and O [totalQ, Hq, Dv] packed; LSE [totalQ, Hq] fp32, -inf for a row with no key.";

    private static List<(string Name, string Type)> Of(KernelAbi abi) => abi.Parameters.Select(p => (p.Name, p.PtxType)).ToList();
}
