using System.Collections.Generic;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Planning;

/// <summary>
/// What the host puts into one kernel parameter. The runtime mirrors it as KernelDsl.Cuda.AbiValue (same names and
/// numbers, checked by a test): the generated descriptor lists a kernel's values in parameter order and the runtime's
/// packer fills each from the call's tensors and shape, so the PTX parameter list and the launcher come from one record.
/// </summary>
public enum AbiValue
{
    QPointer = 0,
    KPointer = 1,
    VPointer = 2,
    OutputPointer = 3,

    /// <summary>The LSE buffer's address, or 0 when the call passes none.</summary>
    LsePointer = 4,
    SeqQ = 5,
    SeqKv = 6,
    HeadsQ = 7,
    HeadsKv = 8,
    QBatchStride = 9,
    QSeqStride = 10,
    QHeadStride = 11,
    KBatchStride = 12,
    KSeqStride = 13,
    KHeadStride = 14,
    VBatchStride = 15,
    VSeqStride = 16,
    VHeadStride = 17,
    OutputBatchStride = 18,
    OutputSeqStride = 19,
    OutputHeadStride = 20,

    /// <summary>The block mask's counts, or 0 without a mask.</summary>
    BlockCounts = 21,
    BlockIndices = 22,

    /// <summary>Query-block rows per batch in the mask (0 when shared by all batches).</summary>
    BlockBatchStride = 23,

    /// <summary>Query-block rows per head (0 when shared by all heads).</summary>
    BlockHeadStride = 24,
    BlockKvBlocks = 25,

    /// <summary>The address of captured buffer number <see cref="AbiParameter.Index"/> (the spec's order).</summary>
    CapturedBuffer = 26,

    /// <summary>Block-mask builder: query rows per tile of the mask being built.</summary>
    MaskBlockQ = 27,

    /// <summary>Block-mask builder: keys per tile.</summary>
    MaskBlockKV = 28,

    /// <summary>Block-mask builder: the band's diagonal offset (KernelDsl.MaskBand.Offset).</summary>
    BandOffset = 29,
    BandLeft = 30,
    BandRight = 31,

    /// <summary>Block-mask builder: heads of the mask (Hq when the modifier reads h, else 1).</summary>
    MaskHeads = 32,

    /// <summary>Block-mask builder: the device buffer it classifies the block pairs into.</summary>
    Classification = 33,

    /// <summary>Backward: ∂L/∂O, and the gradients it writes.</summary>
    DOutputPointer = 34,
    DqPointer = 35,
    DkPointer = 36,
    DvPointer = 37,

    /// <summary>Backward workspace: Δ = rowsum(dO ∘ O), fp32 [B, Hq, Sq] contiguous.</summary>
    DeltaPointer = 38,

    /// <summary>Backward workspace: LSE·log2(e), +∞ for a row with no kept key, fp32 [B, Hq, Sq] contiguous.</summary>
    ScaledLsePointer = 39,
    DOutputBatchStride = 40,
    DOutputSeqStride = 41,
    DOutputHeadStride = 42,
    DqBatchStride = 43,
    DqSeqStride = 44,
    DqHeadStride = 45,
    DkBatchStride = 46,
    DkSeqStride = 47,
    DkHeadStride = 48,
    DvBatchStride = 49,
    DvSeqStride = 50,
    DvHeadStride = 51,

    /// <summary>Decode: the batch's page table, int32 [B, MaxPagesPerSequence].</summary>
    PageTable = 52,

    /// <summary>Decode: tokens per sequence, int32 [B].</summary>
    KvLengths = 53,

    /// <summary>Decode: cu_seqlens_q, int32 [B + 1].</summary>
    QueryOffsets = 54,

    /// <summary>Decode: the page table's row length.</summary>
    MaxPagesPerSequence = 55,

    /// <summary>Decode: tokens per page.</summary>
    PageSize = 56,

    /// <summary>Decode: element strides of the K pool (page, slot, head) and of the V pool.</summary>
    KPageStride = 57,
    KSlotStride = 58,
    KPoolHeadStride = 59,
    VPageStride = 60,
    VSlotStride = 61,
    VPoolHeadStride = 62,

    /// <summary>Decode: CTAs along each sequence's KV range (1 = no split: the kernel writes O and LSE itself).</summary>
    KvSplits = 63,

    /// <summary>Decode with splits: the workspace's partial O, fp32 [splits, totalQ, Hq, Dv] (0 without splits).</summary>
    PartialOutput = 64,

    /// <summary>Decode with splits: the workspace's partial LSE, fp32 [splits, totalQ, Hq] (0 without splits).</summary>
    PartialLse = 65,

    /// <summary>Decode: total query tokens of the batch (rows of q, output and LSE).</summary>
    TotalQueries = 66,

    /// <summary>Decode: blocks of 16 packed query rows per KV head (grid y = Hkv · RowBlocks).</summary>
    RowBlocks = 67,

    /// <summary>Varlen forward: cu_seqlens_k, int32 [B + 1] (the queries' offsets are <see cref="QueryOffsets"/>).</summary>
    KeyOffsets = 68,

    /// <summary>Fused decode append (issue 12): the new tokens' K, un-rotated, [totalQ, Hkv, D].</summary>
    NewKeys = 69,

    /// <summary>Fused decode append: the new tokens' V, [totalQ, Hkv, Dv].</summary>
    NewValues = 70,

    /// <summary>Backward, atomic-dQ mode: the workspace's fp32 dQ accumulator [B, Hq, Sq, D] contiguous (zeroed before the dK/dV kernel adds into it).</summary>
    DqAccumulatorPointer = 71,

    /// <summary>Unfused decode prologue: the rotated q it writes, [totalQ, Hq, D].</summary>
    RotatedQ = 72,

    /// <summary>
    /// Backward with a block mask: the mask's classes as int8 [Batches, Heads, QueryBlocks, KvBlocks] (0 empty, 1 partial,
    /// 2 full), built from the same BlockMask the forward ran with; 0 = no mask (every band tile visited).
    /// </summary>
    BlockClasses = 73,

    /// <summary>Backward block mask: cells per batch (0 when the mask is shared by every batch).</summary>
    BlockClassBatchStride = 74,

    /// <summary>Backward block mask: cells per query head (0 when the mask is shared by every head).</summary>
    BlockClassHeadStride = 75,

    /// <summary>Backward block mask: the mask's query rows per block (a multiple of the backward kernels' tiles).</summary>
    BlockMaskTileQ = 76,

    /// <summary>Backward block mask: the mask's keys per block (a multiple of the backward kernels' tiles).</summary>
    BlockMaskTileKv = 77,

    /// <summary>Backward block mask: KV blocks per query-block row of the mask.</summary>
    BlockMaskKvBlocks = 78,

    /// <summary>
    /// The last valid index of captured buffer number <see cref="AbiParameter.Index"/> (u32: element count − 1, at most
    /// 2^31 − 1 as a C# index is an int; the host requires at least one element): every modifier read clamps its index
    /// to it, so no read leaves the buffer (the GPU captured-index guard).
    /// </summary>
    CapturedLastIndex = 79,
}

/// <summary>One kernel parameter: its PTX name (the entry's name is prefixed in the PTX), PTX type and what the host passes.</summary>
public sealed record AbiParameter(string Name, string PtxType, AbiValue Value, int Index = 0)
{
    /// <summary>Bytes of the value (4 for .u32/.s32, 8 for .u64).</summary>
    public int Bytes => PtxType == "u64" ? 8 : 4;

    /// <summary>True for a captured buffer's values (its address and last index): <see cref="Index"/> names the buffer.</summary>
    public bool IsPerBuffer => Value is AbiValue.CapturedBuffer or AbiValue.CapturedLastIndex;
}

/// <summary>
/// The parameter list of one GPU kernel, made once by the planner from the kernel's decisions (block-mask parameters,
/// captured buffers). The PTX <c>.entry</c> list (Emit/Ptx/PtxAbi) and the generated launcher's packing table
/// (Emit/Host/HostEmitter) are both written from it, so they cannot disagree.
/// </summary>
public sealed record KernelAbi(EquatableArray<AbiParameter> Parameters)
{
    /// <summary>The forward kernel's parameters: the fixed ones, the block mask's when it takes one, then one pointer per captured buffer.</summary>
    public static KernelAbi Forward(bool takesBlockMask, int capturedBuffers)
    {
        var list = new List<AbiParameter>
        {
            new("q", "u64", AbiValue.QPointer), new("k", "u64", AbiValue.KPointer), new("v", "u64", AbiValue.VPointer),
            new("o", "u64", AbiValue.OutputPointer), new("lse", "u64", AbiValue.LsePointer),
            new("seq_q", "u32", AbiValue.SeqQ), new("seq_kv", "u32", AbiValue.SeqKv),
            new("heads_q", "u32", AbiValue.HeadsQ), new("heads_kv", "u32", AbiValue.HeadsKv),
            new("q_batch_stride", "u64", AbiValue.QBatchStride), new("q_seq_stride", "u64", AbiValue.QSeqStride), new("q_head_stride", "u64", AbiValue.QHeadStride),
            new("k_batch_stride", "u64", AbiValue.KBatchStride), new("k_seq_stride", "u64", AbiValue.KSeqStride), new("k_head_stride", "u64", AbiValue.KHeadStride),
            new("v_batch_stride", "u64", AbiValue.VBatchStride), new("v_seq_stride", "u64", AbiValue.VSeqStride), new("v_head_stride", "u64", AbiValue.VHeadStride),
            new("o_batch_stride", "u64", AbiValue.OutputBatchStride), new("o_seq_stride", "u64", AbiValue.OutputSeqStride), new("o_head_stride", "u64", AbiValue.OutputHeadStride),
        };
        if (takesBlockMask)
        {
            list.Add(new("block_counts", "u64", AbiValue.BlockCounts));
            list.Add(new("block_indices", "u64", AbiValue.BlockIndices));
            list.Add(new("block_batch_stride", "u32", AbiValue.BlockBatchStride));
            list.Add(new("block_head_stride", "u32", AbiValue.BlockHeadStride));
            list.Add(new("block_kv_blocks", "u32", AbiValue.BlockKvBlocks));
        }

        AddCapturedBuffers(list, capturedBuffers);

        return new KernelAbi(list.ToEquatableArray());
    }

    /// <summary>Backward preprocess: reads O, dO and the forward's LSE; writes Δ and the base-2 LSE (grid over query rows).</summary>
    public static KernelAbi BackwardPreprocess()
    {
        var list = new List<AbiParameter>
        {
            new("o", "u64", AbiValue.OutputPointer), new("d_o", "u64", AbiValue.DOutputPointer), new("lse", "u64", AbiValue.LsePointer),
            new("delta", "u64", AbiValue.DeltaPointer), new("lse2", "u64", AbiValue.ScaledLsePointer),
            new("seq_q", "u32", AbiValue.SeqQ), new("heads_q", "u32", AbiValue.HeadsQ),
        };
        AddStrides(list, "o", AbiValue.OutputBatchStride);
        AddStrides(list, "d_o", AbiValue.DOutputBatchStride);
        return new KernelAbi(list.ToEquatableArray());
    }

    /// <summary>
    /// Backward dK/dV (<paramref name="keyValue"/>) or dQ kernel: inputs, workspace, gradients, sizes, strides, then captured
    /// buffers. The atomic-dQ mode's dK/dV kernel (<paramref name="dqAccumulator"/>) also takes the fp32 dQ accumulator.
    /// </summary>
    public static KernelAbi Backward(bool keyValue, int capturedBuffers, bool dqAccumulator = false, bool blockClasses = false)
    {
        var list = new List<AbiParameter>
        {
            new("q", "u64", AbiValue.QPointer), new("k", "u64", AbiValue.KPointer), new("v", "u64", AbiValue.VPointer),
            new("d_o", "u64", AbiValue.DOutputPointer), new("delta", "u64", AbiValue.DeltaPointer), new("lse2", "u64", AbiValue.ScaledLsePointer),
        };
        if (keyValue)
        {
            list.Add(new("dk", "u64", AbiValue.DkPointer));
            list.Add(new("dv", "u64", AbiValue.DvPointer));
            if (dqAccumulator)
            {
                list.Add(new("dq_acc", "u64", AbiValue.DqAccumulatorPointer));
            }
        }
        else
        {
            list.Add(new("dq", "u64", AbiValue.DqPointer));
        }

        list.Add(new("seq_q", "u32", AbiValue.SeqQ));
        list.Add(new("seq_kv", "u32", AbiValue.SeqKv));
        list.Add(new("heads_q", "u32", AbiValue.HeadsQ));
        list.Add(new("heads_kv", "u32", AbiValue.HeadsKv));
        AddStrides(list, "q", AbiValue.QBatchStride);
        AddStrides(list, "k", AbiValue.KBatchStride);
        AddStrides(list, "v", AbiValue.VBatchStride);
        AddStrides(list, "d_o", AbiValue.DOutputBatchStride);
        if (keyValue)
        {
            AddStrides(list, "dk", AbiValue.DkBatchStride);
            AddStrides(list, "dv", AbiValue.DvBatchStride);
        }
        else
        {
            AddStrides(list, "dq", AbiValue.DqBatchStride);
        }

        if (blockClasses)
        {
            list.Add(new("block_classes", "u64", AbiValue.BlockClasses));
            list.Add(new("block_cls_batch_stride", "u32", AbiValue.BlockClassBatchStride));
            list.Add(new("block_cls_head_stride", "u32", AbiValue.BlockClassHeadStride));
            list.Add(new("block_mask_q", "u32", AbiValue.BlockMaskTileQ));
            list.Add(new("block_mask_kv", "u32", AbiValue.BlockMaskTileKv));
            list.Add(new("block_mask_kv_blocks", "u32", AbiValue.BlockMaskKvBlocks));
        }

        AddCapturedBuffers(list, capturedBuffers);

        return new KernelAbi(list.ToEquatableArray());
    }

    /// <summary>Backward, atomic-dQ mode, last kernel: dQ = scale · the fp32 accumulator, in dQ's element type and strides (grid over query rows).</summary>
    public static KernelAbi BackwardQueryConvert()
    {
        var list = new List<AbiParameter>
        {
            new("dq_acc", "u64", AbiValue.DqAccumulatorPointer), new("dq", "u64", AbiValue.DqPointer),
            new("seq_q", "u32", AbiValue.SeqQ), new("heads_q", "u32", AbiValue.HeadsQ),
        };
        AddStrides(list, "dq", AbiValue.DqBatchStride);
        return new KernelAbi(list.ToEquatableArray());
    }

    /// <summary>
    /// Each captured buffer's address and last valid index (the clamp of the modifiers' reads on the device), by
    /// position: C# names may not be ASCII, PTX names must be.
    /// </summary>
    private static void AddCapturedBuffers(List<AbiParameter> list, int capturedBuffers)
    {
        for (int i = 0; i < capturedBuffers; i++)
        {
            string n = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            list.Add(new("captured" + n, "u64", AbiValue.CapturedBuffer, i));
            list.Add(new("captured" + n + "_last", "u32", AbiValue.CapturedLastIndex, i));
        }
    }

    /// <summary>A tensor's three element strides (batch, sequence, head), whose values follow <paramref name="batchStride"/> in that order.</summary>
    private static void AddStrides(List<AbiParameter> list, string tensor, AbiValue batchStride)
    {
        list.Add(new(tensor + "_batch_stride", "u64", batchStride));
        list.Add(new(tensor + "_seq_stride", "u64", batchStride + 1));
        list.Add(new(tensor + "_head_stride", "u64", batchStride + 2));
    }

    /// <summary>
    /// The paged decode kernel's parameters: q, the K and V pools, O and LSE, the batch's arrays, head counts, the pools'
    /// strides, the split count and the workspace, then one pointer per captured buffer.
    /// </summary>
    public static KernelAbi Decode(int capturedBuffers)
    {
        var list = new List<AbiParameter>
        {
            new("q", "u64", AbiValue.QPointer), new("k_pool", "u64", AbiValue.KPointer), new("v_pool", "u64", AbiValue.VPointer),
            new("o", "u64", AbiValue.OutputPointer), new("lse", "u64", AbiValue.LsePointer),
            new("query_offsets", "u64", AbiValue.QueryOffsets), new("kv_lengths", "u64", AbiValue.KvLengths), new("page_table", "u64", AbiValue.PageTable),
            new("max_pages", "u32", AbiValue.MaxPagesPerSequence), new("page_size", "u32", AbiValue.PageSize),
            new("heads_q", "u32", AbiValue.HeadsQ), new("heads_kv", "u32", AbiValue.HeadsKv), new("row_blocks", "u32", AbiValue.RowBlocks),
            new("k_page_stride", "u64", AbiValue.KPageStride), new("k_slot_stride", "u64", AbiValue.KSlotStride), new("k_head_stride", "u64", AbiValue.KPoolHeadStride),
            new("v_page_stride", "u64", AbiValue.VPageStride), new("v_slot_stride", "u64", AbiValue.VSlotStride), new("v_head_stride", "u64", AbiValue.VPoolHeadStride),
            new("splits", "u32", AbiValue.KvSplits), new("total_q", "u32", AbiValue.TotalQueries),
            new("partial_o", "u64", AbiValue.PartialOutput), new("partial_lse", "u64", AbiValue.PartialLse),
        };
        AddCapturedBuffers(list, capturedBuffers);

        return new KernelAbi(list.ToEquatableArray());
    }

    /// <summary>
    /// The varlen forward kernel's parameters (issue 11): the packed tensors, O and LSE, the batch's cumulative offsets,
    /// head counts, each tensor's token and head strides (elements; no batch stride: a sequence starts at its offset's
    /// row), then one pointer per captured buffer. No block mask: a mask modifier is applied on every visited tile.
    /// </summary>
    public static KernelAbi ForwardVarlen(int capturedBuffers)
    {
        var list = new List<AbiParameter>
        {
            new("q", "u64", AbiValue.QPointer), new("k", "u64", AbiValue.KPointer), new("v", "u64", AbiValue.VPointer),
            new("o", "u64", AbiValue.OutputPointer), new("lse", "u64", AbiValue.LsePointer),
            new("query_offsets", "u64", AbiValue.QueryOffsets), new("key_offsets", "u64", AbiValue.KeyOffsets),
            new("heads_q", "u32", AbiValue.HeadsQ), new("heads_kv", "u32", AbiValue.HeadsKv),
            new("q_seq_stride", "u64", AbiValue.QSeqStride), new("q_head_stride", "u64", AbiValue.QHeadStride),
            new("k_seq_stride", "u64", AbiValue.KSeqStride), new("k_head_stride", "u64", AbiValue.KHeadStride),
            new("v_seq_stride", "u64", AbiValue.VSeqStride), new("v_head_stride", "u64", AbiValue.VHeadStride),
            new("o_seq_stride", "u64", AbiValue.OutputSeqStride), new("o_head_stride", "u64", AbiValue.OutputHeadStride),
        };
        AddCapturedBuffers(list, capturedBuffers);

        return new KernelAbi(list.ToEquatableArray());
    }

    /// <summary>The fused decode-append kernel's parameters: the decode kernel's, then the new tokens' K and V.</summary>
    public static KernelAbi DecodeAppend(int capturedBuffers)
    {
        var list = new List<AbiParameter>(Decode(capturedBuffers).Parameters)
        {
            new("k_new", "u64", AbiValue.NewKeys), new("v_new", "u64", AbiValue.NewValues),
        };
        return new KernelAbi(list.ToEquatableArray());
    }

    /// <summary>The unfused prologue kernel's parameters: q, the new K/V, the rotated q it writes, the pools and the batch arrays.</summary>
    public static KernelAbi RotateAppend() => new(new List<AbiParameter>
    {
        new("q", "u64", AbiValue.QPointer), new("k_new", "u64", AbiValue.NewKeys), new("v_new", "u64", AbiValue.NewValues), new("q_rot", "u64", AbiValue.RotatedQ),
        new("k_pool", "u64", AbiValue.KPointer), new("v_pool", "u64", AbiValue.VPointer),
        new("query_offsets", "u64", AbiValue.QueryOffsets), new("kv_lengths", "u64", AbiValue.KvLengths), new("page_table", "u64", AbiValue.PageTable),
        new("max_pages", "u32", AbiValue.MaxPagesPerSequence), new("page_size", "u32", AbiValue.PageSize),
        new("heads_q", "u32", AbiValue.HeadsQ), new("heads_kv", "u32", AbiValue.HeadsKv),
        new("k_page_stride", "u64", AbiValue.KPageStride), new("k_slot_stride", "u64", AbiValue.KSlotStride), new("k_head_stride", "u64", AbiValue.KPoolHeadStride),
        new("v_page_stride", "u64", AbiValue.VPageStride), new("v_slot_stride", "u64", AbiValue.VSlotStride), new("v_head_stride", "u64", AbiValue.VPoolHeadStride),
    }.ToEquatableArray());

    /// <summary>The split-KV merge kernel's parameters: the workspace, O and LSE, and the sizes.</summary>
    public static KernelAbi DecodeMerge() => new(new List<AbiParameter>
    {
        new("partial_o", "u64", AbiValue.PartialOutput), new("partial_lse", "u64", AbiValue.PartialLse),
        new("o", "u64", AbiValue.OutputPointer), new("lse", "u64", AbiValue.LsePointer),
        new("splits", "u32", AbiValue.KvSplits), new("total_q", "u32", AbiValue.TotalQueries), new("heads_q", "u32", AbiValue.HeadsQ),
    }.ToEquatableArray());

    /// <summary>The block-mask builder's parameters: shape, tiles, band, mask heads, the output, then one pointer per captured buffer.</summary>
    public static KernelAbi BlockMaskBuilder(int capturedBuffers)
    {
        var list = new List<AbiParameter>
        {
            new("seq_q", "u32", AbiValue.SeqQ), new("seq_kv", "u32", AbiValue.SeqKv),
            new("block_q", "u32", AbiValue.MaskBlockQ), new("block_kv", "u32", AbiValue.MaskBlockKV),
            new("band_offset", "s32", AbiValue.BandOffset), new("band_left", "s32", AbiValue.BandLeft), new("band_right", "s32", AbiValue.BandRight),
            new("heads", "u32", AbiValue.MaskHeads), new("out", "u64", AbiValue.Classification),
        };
        AddCapturedBuffers(list, capturedBuffers);

        return new KernelAbi(list.ToEquatableArray());
    }
}
