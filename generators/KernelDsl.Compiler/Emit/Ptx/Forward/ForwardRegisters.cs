using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

/// <summary>
/// The forward kernel's kernel-scope registers, declared together at the top of the entry and handed to every stage
/// as typed objects. Stage temporaries are declared by the stage in its own <c>{ }</c> scope.
/// </summary>
internal sealed class ForwardRegisters
{
    /// <summary>Declares the registers (one <c>.reg</c> line per group, each after its comment).</summary>
    public ForwardRegisters(PtxWriter w, ForwardShape shape, IMatmulFamily family, bool hasBlockMask, bool varlen = false)
    {
        int rows = shape.RowsPerThread;
        w.Comment("thread/block indices and problem sizes");
        var idx = w.Declare(RegKind.B32, "thr", "warp", "lane", "g", "t4", "qblk", "head", "batch", "hkv");
        (Thread, Warp, Lane, G, T4, QueryBlock, Head, Batch, KvHead) = (idx[0], idx[1], idx[2], idx[3], idx[4], idx[5], idx[6], idx[7], idx[8]);
        var sizes = w.Declare(RegKind.B32, "seq_q", "seq_kv", "heads_q", "heads_kv");
        (SeqQ, SeqKv, HeadsQ, HeadsKv) = (sizes[0], sizes[1], sizes[2], sizes[3]);
        if (varlen)
        {
            w.Comment("varlen: the sequence's first query row and first key row in the packed tensors (cu_seqlens)");
            var starts = w.Declare(RegKind.B32, "q_start", "k_start");
            (QStart, KStart) = (starts[0], starts[1]);
        }

        w.Comment("global byte pointers for this (batch, head), sequence strides in bytes");
        var ptr = w.Declare(RegKind.B64, "q_base", "k_base", "v_base", "o_base", "lse_ptr", "q_ss", "k_ss", "v_ss", "o_ss");
        (QBase, KBase, VBase, OBase, LsePtr) = (ptr[0], ptr[1], ptr[2], ptr[3], ptr[4]);
        (QStride, KStride, VStride, OStride) = (ptr[5], ptr[6], ptr[7], ptr[8]);
        w.Comment(family.OperandAddressComment);
        var smem = w.Declare(RegKind.B32, new[] { "smem", "q_tile", "k_ring", "v_ring" }.Concat(family.OperandAddressNames).ToArray());
        (Smem, QTile, KRing, VRing) = (smem[0], smem[1], smem[2], smem[3]);
        family.BindOperandAddresses(smem.Skip(4).ToArray());
        w.Comment("rows and the mask band: this thread's rows (g, g+8 of each of its m16 slabs), per-row key bounds, the KV block range");
        var band = w.Declare(RegKind.B32, "q0", "align", "d_min", "d_max", "full_lo", "full_hi");
        (Q0, Align, DMin, DMax, FullLo, FullHi) = (band[0], band[1], band[2], band[3], band[4], band[5]);
        var rowArrays = w.DeclareArrays(RegKind.B32, rows, "row", "lo", "hi");
        (Row, Lo, Hi) = (rowArrays[0], rowArrays[1], rowArrays[2]);
        var loop = w.Declare(RegKind.B32, "n", "n_start", "n_end", "kv0", "read_stage", "write_stage");
        (N, NStart, NEnd, Kv0, ReadStage, WriteStage) = (loop[0], loop[1], loop[2], loop[3], loop[4], loop[5]);
        ScaleLog2 = w.Declare1(RegKind.F32, "scale_log2");
        w.Comment("online-softmax state per row: running max (raw scores) and partial sum");
        var state = w.DeclareArrays(RegKind.F32, rows, "m", "l", "alpha");
        (M, L, Alpha) = (state[0], state[1], state[2]);
        var o = new List<AccumulatorFragment>();
        var s = new List<AccumulatorFragment>();
        var p = new List<RegArray>();
        for (int ms = 0; ms < shape.Slabs; ms++)
        {
            w.Comment(System.FormattableString.Invariant($"slab {ms}: accumulators O 16x{shape.Dv} and S 16x{shape.BlockKV}, fp32, mma C-fragment order"));
            o.Add(new AccumulatorFragment(w.DeclareArray(RegKind.F32, SlabName("o", ms), shape.Dv / 2)));
            s.Add(new AccumulatorFragment(w.DeclareArray(RegKind.F32, SlabName("s", ms), shape.BlockKV / 2)));
            w.Comment("P A-fragments: the probabilities converted to 16-bit, reused from registers for P*V");
            p.Add(w.DeclareArray(RegKind.B32, SlabName("pa", ms), shape.BlockKV / 2 / shape.Element.PerRegister));
        }

        (O, S, P) = (o, s, p);
        var preds = w.Declare(RegKind.Pred, "p_empty", "p_more", "p_lse");
        (Empty, More, HasLse) = (preds[0], preds[1], preds[2]);
        if (hasBlockMask)
        {
            var bm = w.Declare(RegKind.B64, "bm_counts", "bm_list");
            (BlockCounts, BlockList) = (bm[0], bm[1]);
            BlockPartial = w.Declare1(RegKind.B32, "bm_partial");
            HasBlockMask = w.Declare1(RegKind.Pred, "p_bm");
        }

        family.DeclareRegisters(w);
    }

    public Reg Thread { get; }

    public Reg Warp { get; }

    public Reg Lane { get; }

    /// <summary>mma fragment coordinates: g = lane/4 (row within 8), t4 = lane%4 (column pair).</summary>
    public Reg G { get; }

    public Reg T4 { get; }

    public Reg QueryBlock { get; }

    public Reg Head { get; }

    public Reg Batch { get; }

    /// <summary>The K/V head this query head reads (GQA).</summary>
    public Reg KvHead { get; }

    public Reg SeqQ { get; }

    /// <summary>Varlen kernels only (null otherwise): the sequence's first query and key rows in the packed tensors.</summary>
    public Reg? QStart { get; }

    public Reg? KStart { get; }

    public Reg SeqKv { get; }

    public Reg HeadsQ { get; }

    public Reg HeadsKv { get; }

    public Reg QBase { get; }

    public Reg KBase { get; }

    public Reg VBase { get; }

    public Reg OBase { get; }

    public Reg LsePtr { get; }

    /// <summary>Sequence strides in bytes.</summary>
    public Reg QStride { get; }

    public Reg KStride { get; }

    public Reg VStride { get; }

    public Reg OStride { get; }

    public Reg Smem { get; }

    public Reg QTile { get; }

    public Reg KRing { get; }

    public Reg VRing { get; }

    /// <summary>First query row of the block.</summary>
    public Reg Q0 { get; }

    public Reg Align { get; }

    public Reg DMin { get; }

    public Reg DMax { get; }

    public Reg FullLo { get; }

    public Reg FullHi { get; }

    /// <summary>This thread's query rows (g, g+8 of each slab) and their kept key bounds.</summary>
    public RegArray Row { get; }

    public RegArray Lo { get; }

    public RegArray Hi { get; }

    /// <summary>Loop position, its range, and the current tile's first key.</summary>
    public Reg N { get; }

    public Reg NStart { get; }

    public Reg NEnd { get; }

    public Reg Kv0 { get; }

    public Reg ReadStage { get; }

    public Reg WriteStage { get; }

    public Reg ScaleLog2 { get; }

    /// <summary>Per row: running max, partial sum, last rescale factor.</summary>
    public RegArray M { get; }

    public RegArray L { get; }

    public RegArray Alpha { get; }

    /// <summary>Per slab: the output and score accumulators, and P as A fragments.</summary>
    public IReadOnlyList<AccumulatorFragment> O { get; }

    public IReadOnlyList<AccumulatorFragment> S { get; }

    public IReadOnlyList<RegArray> P { get; }

    public Reg Empty { get; }

    public Reg More { get; }

    public Reg HasLse { get; }

    /// <summary>Block-mask state (kernels with a mask modifier only; null otherwise).</summary>
    public Reg? BlockCounts { get; }

    public Reg? BlockList { get; }

    public Reg? BlockPartial { get; }

    public Reg? HasBlockMask { get; }

    /// <summary>Slab 0 uses the base name, slab 1 appends 'b' (%o, %ob).</summary>
    private static string SlabName(string prefix, int ms) => ms == 0 ? prefix : prefix + "b";
}

/// <summary>The numbers of one forward kernel the stages read: head dims, tiles, slabs, threads, element type.</summary>
internal sealed record ForwardShape(int D, int Dv, int BlockQ, int BlockKV, int Slabs, int Threads, int Stages, ElementTraits Element, ElementTraits Output)
{
    /// <summary>Query rows per thread: g and g+8 of each slab.</summary>
    public int RowsPerThread => 2 * Slabs;
}
