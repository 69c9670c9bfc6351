using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Planning;

namespace KernelDsl.Compiler.Emit.Ptx.Decode;

/// <summary>The decode kernel's kernel-scope registers, declared once at the top of the entry; stages take them from here.</summary>
internal sealed class DecodeRegisters
{
    public DecodeRegisters(PtxWriter w, GpuKernelPlan gpu, int valueHeadDim, int warps)
    {
        var b = w.Declare(RegKind.B32, "thread", "warp", "lane", "g", "t4", "seq", "kv_head", "row_block", "split", "splits", "heads_q", "heads_kv",
            "group", "q_count", "q_first", "kv_len", "rows", "row_first", "split_begin", "split_end", "tiles", "tile", "read_stage", "write_stage",
            "page_size", "total_q", "q_tile", "k_ring", "v_ring", "q_ld", "k_ld", "v_ld", "k_cur", "v_cur", "first_head", "kv_last", "diag");
        (Thread, Warp, Lane, G, T4, Seq, KvHead, RowBlock, Split, Splits, HeadsQ, HeadsKv) = (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11]);
        (Group, QCount, QFirst, KvLen, Rows, RowFirst, SplitBegin, SplitEnd, Tiles, Tile, ReadStage, WriteStage) = (b[12], b[13], b[14], b[15], b[16], b[17], b[18], b[19], b[20], b[21], b[22], b[23]);
        (PageSize, TotalQ, QTile, KRing, VRing, QLd, KLd, VLd, KCur, VCur, FirstHead, KvLast, Diagonal) = (b[24], b[25], b[26], b[27], b[28], b[29], b[30], b[31], b[32], b[33], b[34], b[35], b[36]);
        var perRow = w.DeclareArrays(RegKind.B32, 2, "row_head", "row_query", "key_end", "key_lo");
        (RowHead, RowQuery, KeyEnd, KeyLo) = (perRow[0], perRow[1], perRow[2], perRow[3]);
        var p = w.Declare(RegKind.B64, "q_ptr", "o_ptr", "lse_ptr", "part_o", "part_lse", "pt_row", "k_base", "v_base", "k_page", "k_slot", "v_page", "v_slot", "q_row_bytes");
        (QPtr, OPtr, LsePtr, PartialO, PartialLse, PageTableRow, KBase, VBase, KPageStride, KSlotStride, VPageStride, VSlotStride, QRowBytes) =
            (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]);
        var f = w.DeclareArrays(RegKind.F32, 2, "m", "l", "alpha");
        (M, L, Alpha) = (f[0], f[1], f[2]);
        ScaleLog2 = w.Declare1(RegKind.F32, "scale_log2");
        S = new AccumulatorFragment(w.DeclareArray(RegKind.F32, "s", 8));
        O = new AccumulatorFragment(w.DeclareArray(RegKind.F32, "o", valueHeadDim / 2));
        P = w.DeclareArray(RegKind.B32, "p", 4);
        var preds = w.Declare(RegKind.Pred, "has_lse", "direct");
        (HasLse, Direct) = (preds[0], preds[1]);
    }

    public Reg Thread { get; }
    public Reg Warp { get; }
    public Reg Lane { get; }
    public Reg G { get; }
    public Reg T4 { get; }
    public Reg Seq { get; }
    public Reg KvHead { get; }
    public Reg RowBlock { get; }
    public Reg Split { get; }
    public Reg Splits { get; }
    public Reg HeadsQ { get; }
    public Reg HeadsKv { get; }

    /// <summary>G = Hq / Hkv, the query heads of a KV group.</summary>
    public Reg Group { get; }

    /// <summary>q: the sequence's query tokens.</summary>
    public Reg QCount { get; }

    /// <summary>The sequence's first query token (queryOffsets[s]).</summary>
    public Reg QFirst { get; }

    /// <summary>L: the sequence's tokens in the cache.</summary>
    public Reg KvLen { get; }

    /// <summary>G·q: the group's packed rows.</summary>
    public Reg Rows { get; }

    /// <summary>The CTA's first packed row (16·row block).</summary>
    public Reg RowFirst { get; }

    /// <summary>The CTA's keys: [SplitBegin, SplitEnd).</summary>
    public Reg SplitBegin { get; }
    public Reg SplitEnd { get; }
    public Reg Tiles { get; }
    public Reg Tile { get; }
    public Reg ReadStage { get; }
    public Reg WriteStage { get; }
    public Reg PageSize { get; }
    public Reg TotalQ { get; }
    public Reg QTile { get; }
    public Reg KRing { get; }
    public Reg VRing { get; }
    public Reg QLd { get; }
    public Reg KLd { get; }
    public Reg VLd { get; }
    public Reg KCur { get; }
    public Reg VCur { get; }

    /// <summary>The KV group's first query head (kvHead·G).</summary>
    public Reg FirstHead { get; }

    /// <summary>L − 1: captured-buffer reads on padding keys are clamped to it.</summary>
    public Reg KvLast { get; }

    /// <summary>The band's diagonal offset of the sequence: L − q (bottom-right), else 0; query i's diagonal is i + this.</summary>
    public Reg Diagonal { get; }

    /// <summary>Per fragment row (g, g+8): the query head and query index the modifiers see (clamped into range on padding rows).</summary>
    public RegArray RowHead { get; }
    public RegArray RowQuery { get; }

    /// <summary>Per fragment row: keys at or past KeyEnd are dropped (the split's end, and the band's right bound).</summary>
    public RegArray KeyEnd { get; }

    /// <summary>Per fragment row: keys below KeyLo are dropped (the band's left bound; sliding windows only).</summary>
    public RegArray KeyLo { get; }

    public Reg QPtr { get; }
    public Reg OPtr { get; }
    public Reg LsePtr { get; }
    public Reg PartialO { get; }
    public Reg PartialLse { get; }
    public Reg PageTableRow { get; }
    public Reg KBase { get; }
    public Reg VBase { get; }
    public Reg KPageStride { get; }
    public Reg KSlotStride { get; }
    public Reg VPageStride { get; }
    public Reg VSlotStride { get; }
    public Reg QRowBytes { get; }
    public RegArray M { get; }
    public RegArray L { get; }
    public RegArray Alpha { get; }
    public Reg ScaleLog2 { get; }

    /// <summary>This warp's 16 × 16 scores (its 16 keys of the tile).</summary>
    public AccumulatorFragment S { get; }

    /// <summary>This warp's 16 × Dv output accumulator.</summary>
    public AccumulatorFragment O { get; }

    /// <summary>P as the A fragment of one 16-key step.</summary>
    public RegArray P { get; }

    public Reg HasLse { get; }

    /// <summary>One split: the CTA writes O and LSE itself (else its partial goes to the workspace).</summary>
    public Reg Direct { get; }
}
