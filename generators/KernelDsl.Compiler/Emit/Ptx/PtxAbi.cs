using System.Collections.Generic;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// The kernel parameter ABI shared by the PTX emitter and the host launcher, in <c>.param</c> order.
/// Changing it is a breaking change for src/KernelDsl's launcher: append, never reorder.
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
/// grid = (ceil(Sq / BlockQ), Hq, B), block = (ThreadsPerBlock, 1, 1), dynamic shared memory = SharedMemoryBytes
/// (over 48 KiB: raise CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES first). Q/K/V strides must be multiples
/// of 8 elements (16-byte cp.async rows); O strides multiples of 2. BSHD and BHSD are both expressed by strides.
/// </code>
/// </remarks>
public static class PtxAbi
{
    /// <summary>The fixed parameters every kernel has.</summary>
    public static IReadOnlyList<(string Name, string Type)> Parameters { get; } = Build();

    /// <summary>The parameters of one spec's kernel: the fixed ones, then one pointer per captured buffer.</summary>
    public static IReadOnlyList<(string Name, string Type)> For(Model.AttentionSpec spec)
    {
        var list = new List<(string, string)>(Parameters);
        if (spec.MaskModifier is not null)
        {
            list.AddRange(BlockMaskParameters);
        }

        for (int i = 0; i < spec.CapturedBuffers.Count; i++)
        {
            list.Add((CapturedParameter(i), "u64"));
        }

        return list;
    }

    /// <summary>The block-mask parameters of a mask-modifier kernel, in order.</summary>
    public static IReadOnlyList<(string Name, string Type)> BlockMaskParameters { get; } = new List<(string, string)>
    {
        ("block_counts", "u64"), ("block_indices", "u64"), ("block_batch_stride", "u32"), ("block_head_stride", "u32"), ("block_kv_blocks", "u32"),
    };

    /// <summary>The .param name of the i-th captured buffer (by position: C# names may not be ASCII, PTX names must be).</summary>
    public static string CapturedParameter(int index) => "captured" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string Comment { get; } =
        "params (in order): u64 q, k, v, o, lse (0 = none); u32 seq_q, seq_kv, heads_q, heads_kv;\n" +
        "u64 element strides q_batch, q_seq, q_head, k_batch, k_seq, k_head, v_batch, v_seq, v_head, o_batch, o_seq, o_head.\n" +
        "grid = (ceil(Sq/BlockQ), Hq, B); block = (ThreadsPerBlock, 1, 1); dynamic shared memory = SharedMemoryBytes.\n" +
        "Q/K/V: 16-byte aligned, strides multiples of 8 elements; LSE [B, Hq, Sq] fp32, natural log, -inf for empty rows.";

    private static List<(string, string)> Build()
    {
        var list = new List<(string, string)>
        {
            ("q", "u64"), ("k", "u64"), ("v", "u64"), ("o", "u64"), ("lse", "u64"),
            ("seq_q", "u32"), ("seq_kv", "u32"), ("heads_q", "u32"), ("heads_kv", "u32"),
        };
        foreach (var tensor in new[] { "q", "k", "v", "o" })
        {
            list.Add((tensor + "_batch_stride", "u64"));
            list.Add((tensor + "_seq_stride", "u64"));
            list.Add((tensor + "_head_stride", "u64"));
        }

        return list;
    }
}
