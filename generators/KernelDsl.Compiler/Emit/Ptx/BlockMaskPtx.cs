using System.Collections.Generic;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx;

/// <summary>
/// The block-mask builder kernel of a spec with a mask modifier and a GPU plan: <c>{entry}_blockmask</c> classifies
/// every (query block, KV block) pair of one call shape as empty (0), partial (1) or full (2) by evaluating the band
/// and the mask modifier on every element inside the sequences, on the GPU. It computes exactly what the generated
/// CPU <c>CreateBlockMask</c> computes (same band arithmetic, same modifier lowering as the attention kernel's element
/// mask); the host downloads the bytes and lists the blocks with <c>KernelDsl.BlockMaskBuilder.Compact</c>.
/// </summary>
/// <remarks>
/// <code>
///  #  name         PTX type  meaning
///  0  seq_q        u32       Sq
///  1  seq_kv       u32       Skv
///  2  block_q      u32       query rows per tile (a power of two, 16-256)
///  3  block_kv     u32       keys per tile (a power of two, 16-256)
///  4  band_offset  s32       the band's diagonal offset: Skv - Sq for bottom-right alignment, else 0 (KernelDsl.MaskBand.Offset)
///  5  band_left    s32       keys kept left of the diagonal, -1 = unbounded (MaskBand.Left)
///  6  band_right   s32       keys kept right of the diagonal, -1 = unbounded (MaskBand.Right)
///  7  heads        u32       heads of the mask (Hq when the modifier reads h, else 1): row z of the grid is (b, h) = (z / heads, z % heads)
///  8  out          u64       u8 [Batches, Heads, QueryBlocks, KvBlocks], dense: 0 empty, 1 partial, 2 full
/// --- the mask modifier's captured buffers, in ModifierSpec.Buffers order (the order of CreateBlockMask's buffer parameters):
///  9… captured0, … u64       device pointer to each buffer (4-byte elements, length checked by the host)
/// grid = (KvBlocks, QueryBlocks, Batches * Heads), block = (ThreadsPerBlock, 1, 1), no dynamic shared memory.
/// </code>
/// Each CTA strides its threads over the tile's BlockQ x BlockKV elements (row = i >> log2 BlockKV, column = i &amp;
/// (BlockKV - 1)), evaluates only those with q &lt; Sq and kv &lt; Skv, and keeps "any kept" / "all kept" per thread (a
/// thread stops once it has seen both a kept and a dropped element: the block is partial whatever the others see);
/// warp votes and shared memory reduce them, and thread 0 writes the byte. A full tile that reaches past the last key
/// is left full here; the compaction lists it as partial, as for the CPU classification.
/// </remarks>
public static class BlockMaskPtx
{
    /// <summary>Threads per CTA (8 warps).</summary>
    public const int ThreadsPerBlock = 256;

    /// <summary>The fixed parameters, in .param order.</summary>
    public static IReadOnlyList<(string Name, string Type)> FixedParameters { get; } = new List<(string, string)>
    {
        ("seq_q", "u32"), ("seq_kv", "u32"), ("block_q", "u32"), ("block_kv", "u32"),
        ("band_offset", "s32"), ("band_left", "s32"), ("band_right", "s32"), ("heads", "u32"), ("out", "u64"),
    };

    /// <summary>All parameters of one spec's builder: the fixed ones, then one pointer per buffer the mask modifier captures.</summary>
    public static IReadOnlyList<(string Name, string Type)> Parameters(ModifierSpec mask)
    {
        var list = new List<(string, string)>(FixedParameters);
        for (int i = 0; i < mask.Buffers.Count; i++)
        {
            list.Add((PtxAbi.CapturedParameter(i), "u64"));
        }

        return list;
    }

    /// <summary>The builder's entry name: the attention kernel's, with <c>_blockmask</c> appended.</summary>
    public static string EntryName(GpuKernelPlan gpu) => gpu.EntryName + "_blockmask";

    /// <summary>The builder kernel's PTX, or null when the spec has no mask modifier or no GPU kernel.</summary>
    public static string? PtxFor(KernelPlan plan)
    {
        var mask = plan.Spec.MaskModifier;
        return mask is null || plan.Gpu is null ? null : Build(plan.Spec, mask, EntryName(plan.Gpu));
    }

    private static string Build(AttentionSpec spec, ModifierSpec mask, string entry)
    {
        string P(string name) => entry + "_param_" + name;
        var w = new PtxWriter();
        var buffers = mask.Buffers;
        w.Raw("//");
        w.Raw("// KernelDsl block-mask builder, " + spec.Target.FullName + ": mask modifier " + mask.MethodName);
        w.Raw("// One CTA per (KV block, query block, mask row): 0 empty, 1 partial, 2 full, from band && modifier on every element.");
        w.Raw("//");
        w.Raw(".version 7.8");
        w.Raw(".target sm_80");
        w.Raw(".address_size 64");
        w.Blank();
        w.Raw("// per warp: its \"any kept\" vote at [4*warp], its \"all kept\" vote at [32 + 4*warp]");
        w.Raw(".shared .align 4 .b8 " + entry + "_votes[64];");
        w.Blank();
        w.Raw(".visible .entry " + entry + "(");
        var parameters = Parameters(mask);
        for (int i = 0; i < parameters.Count; i++)
        {
            w.Raw("    .param ." + parameters[i].Type + " " + P(parameters[i].Name) + (i + 1 < parameters.Count ? "," : string.Empty));
        }

        w.Raw(")");
        w.Raw(".maxntid " + I(ThreadsPerBlock) + ", 1, 1");
        w.Raw("{");
        w.Ins(".reg .b32 %seq_q, %seq_kv, %block_q, %block_kv, %align, %left, %right, %heads");
        w.Ins(".reg .b32 %thread, %kb, %qb, %mask_row, %batch, %head, %q0, %k0, %nq, %nk, %log_kv, %kv_bits, %n_all");
        w.Ins(".reg .b32 %i, %r, %c, %row, %kv, %d, %lo, %hi, %any, %all, %x");
        w.Ins(".reg .pred %p, %left_open, %right_open, %band, %lead");
        w.Ins(".reg .b64 %out, %at");

        w.Stage("Parameters; this CTA's tile: KV block ctaid.x, query block ctaid.y, mask row ctaid.z = (batch, head)");
        foreach (var (name, register) in new[] { ("seq_q", "%seq_q"), ("seq_kv", "%seq_kv"), ("block_q", "%block_q"), ("block_kv", "%block_kv"), ("band_offset", "%align"), ("band_left", "%left"), ("band_right", "%right"), ("heads", "%heads") })
        {
            w.Ins("ld.param." + (name.StartsWith("band", System.StringComparison.Ordinal) ? "s32 " : "u32 ") + register + ", [" + P(name) + "]");
        }

        w.Ins("ld.param.u64 %out, [" + P("out") + "]");
        w.Ins("cvta.to.global.u64 %out, %out");
        var captured = ModifierBodies.CapturedRegisters(buffers);
        for (int i = 0; i < buffers.Count; i++)
        {
            string register = captured(buffers[i].Name);
            w.Comment(register + " = " + (buffers[i].ElementType == ExprType.Int ? "int" : "float") + " buffer, shape [" + string.Join(", ", buffers[i].Dims) + "]");
            w.Ins(".reg .b64 " + register);
            w.Ins("ld.param.u64 " + register + ", [" + P(PtxAbi.CapturedParameter(i)) + "]");
            w.Ins("cvta.to.global.u64 " + register + ", " + register);
        }

        w.Ins("mov.u32 %thread, %tid.x");
        w.Ins("mov.u32 %kb, %ctaid.x");
        w.Ins("mov.u32 %qb, %ctaid.y");
        w.Ins("mov.u32 %mask_row, %ctaid.z");
        w.Ins("div.u32 %batch, %mask_row, %heads");
        w.Ins("mul.lo.u32 %x, %batch, %heads");
        w.Ins("sub.u32 %head, %mask_row, %x");
        w.Comment("tile origin and its extent inside the sequences: rows [q0, q0 + nq), keys [k0, k0 + nk)");
        w.Ins("mul.lo.u32 %q0, %qb, %block_q");
        w.Ins("mul.lo.u32 %k0, %kb, %block_kv");
        w.Ins("sub.u32 %nq, %seq_q, %q0");
        w.Ins("min.u32 %nq, %nq, %block_q");
        w.Ins("sub.u32 %nk, %seq_kv, %k0");
        w.Ins("min.u32 %nk, %nk, %block_kv");
        w.Ins("bfind.u32 %log_kv, %block_kv");
        w.Ins("sub.u32 %kv_bits, %block_kv, 1");
        w.Ins("mul.lo.u32 %n_all, %block_q, %block_kv");
        w.Comment("band: keep kv when (Left < 0 || kv >= d - Left) && (Right < 0 || kv <= d + Right), d = q + offset (KernelDsl.MaskBand.Keeps)");
        w.Ins("setp.lt.s32 %left_open, %left, 0");
        w.Ins("setp.lt.s32 %right_open, %right, 0");
        w.Comment("this thread's votes: any element kept, every element kept (vacuously true with no element)");
        w.Ins("mov.u32 %any, 0");
        w.Ins("mov.u32 %all, 1");

        w.Stage("Mask modifier " + mask.MethodName + ": subexpressions that depend only on (batch, head), evaluated once per thread");
        var hoisted = new ExprPtxWriter(w, Inputs, prefix: "%hm", bufferBase: captured).Hoist(mask.Body);

        w.Stage("Elements: i = tid, tid + " + I(ThreadsPerBlock) + ", ... over the BlockQ x BlockKV tile; q = q0 + (i >> log2 BlockKV), kv = k0 + (i & (BlockKV - 1))");
        w.Ins("mov.u32 %i, %thread");
        w.Label("ELEMENT");
        w.Ins("setp.ge.u32 %p, %i, %n_all");
        w.Ins("@%p bra VOTE");
        w.Ins("shr.u32 %r, %i, %log_kv");
        w.Comment("rows past Sq: this and every later i of the thread are outside the sequence");
        w.Ins("setp.ge.u32 %p, %r, %nq");
        w.Ins("@%p bra VOTE");
        w.Ins("and.b32 %c, %i, %kv_bits");
        w.Ins("setp.ge.u32 %p, %c, %nk");
        w.Ins("@%p bra NEXT");
        w.Ins("add.s32 %row, %q0, %r");
        w.Ins("add.s32 %kv, %k0, %c");
        w.Ins("add.s32 %d, %row, %align");
        w.Ins("sub.s32 %lo, %d, %left");
        w.Ins("setp.ge.s32 %band, %kv, %lo");
        w.Ins("or.pred %band, %band, %left_open");
        w.Ins("add.s32 %hi, %d, %right");
        w.Ins("setp.le.s32 %p, %kv, %hi");
        w.Ins("or.pred %p, %p, %right_open");
        w.Ins("and.pred %band, %band, %p");
        w.Ins("mov.u32 %x, 0");
        w.Comment("band && modifier, as in C#: the modifier (and its buffer reads) only inside the band");
        w.Ins("@!%band bra KEPT");
        using (w.Scope())
        {
            string keep = new ExprPtxWriter(w, Inputs, hoisted, bufferBase: captured).Lower(mask.Body);
            w.Ins("selp.u32 %x, 1, 0, " + keep);
        }

        w.Label("KEPT");
        w.Ins("or.b32 %any, %any, %x");
        w.Ins("and.b32 %all, %all, %x");
        w.Comment("seen a kept and a dropped element: the tile is partial whatever the other threads see");
        w.Ins("not.b32 %x, %all");
        w.Ins("and.b32 %x, %x, %any");
        w.Ins("setp.ne.u32 %p, %x, 0");
        w.Ins("@%p bra VOTE");
        w.Label("NEXT");
        w.Ins("add.u32 %i, %i, " + I(ThreadsPerBlock));
        w.Ins("bra ELEMENT");

        w.Stage("Reduce: warp votes, then one slot per warp in shared memory; thread 0 writes the tile's kind");
        w.Label("VOTE");
        w.Ins("setp.ne.u32 %p, %any, 0");
        w.Ins("vote.sync.any.pred %p, %p, 0xffffffff");
        w.Ins("selp.u32 %any, 1, 0, %p");
        w.Ins("setp.ne.u32 %p, %all, 0");
        w.Ins("vote.sync.all.pred %p, %p, 0xffffffff");
        w.Ins("selp.u32 %all, 1, 0, %p");
        using (w.Scope())
        {
            w.Ins(".reg .b32 %slot, %votes");
            w.Ins("and.b32 %x, %thread, 31");
            w.Ins("setp.eq.u32 %lead, %x, 0");
            w.Ins("shr.u32 %slot, %thread, 5");
            w.Ins("shl.b32 %slot, %slot, 2");
            w.Ins("mov.u32 %votes, " + entry + "_votes");
            w.Ins("add.u32 %slot, %slot, %votes");
            w.Ins("@%lead st.shared.u32 [%slot], %any");
            w.Ins("@%lead st.shared.u32 [%slot+32], %all");
            w.Ins("bar.sync 0");
            w.Ins("setp.ne.u32 %p, %thread, 0");
            w.Ins("@%p bra EXIT");
            for (int warp = 0; warp < ThreadsPerBlock / 32; warp++)
            {
                w.Ins("ld.shared.u32 %x, [%votes+" + I(4 * warp) + "]");
                w.Ins("or.b32 %any, %any, %x");
                w.Ins("ld.shared.u32 %x, [%votes+" + I(32 + (4 * warp)) + "]");
                w.Ins("and.b32 %all, %all, %x");
            }
        }

        w.Comment("kind = any ? (all ? 2 : 1) : 0, at out[((mask_row * QueryBlocks) + qb) * KvBlocks + kb]");
        w.Ins("add.u32 %x, %all, 1");
        w.Ins("setp.eq.u32 %p, %any, 0");
        w.Ins("selp.u32 %x, 0, %x, %p");
        using (w.Scope())
        {
            w.Ins(".reg .b32 %blocks");
            w.Ins(".reg .b64 %offset");
            w.Ins("mov.u32 %blocks, %nctaid.y");
            w.Ins("mad.lo.u32 %r, %mask_row, %blocks, %qb");
            w.Ins("mov.u32 %blocks, %nctaid.x");
            w.Ins("mul.wide.u32 %at, %r, %blocks");
            w.Ins("cvt.u64.u32 %offset, %kb");
            w.Ins("add.u64 %at, %at, %offset");
            w.Ins("add.u64 %at, %at, %out");
            w.Ins("st.global.u8 [%at], %x");
        }

        w.Label("EXIT");
        w.Ins("ret");
        w.Raw("}");
        return w.ToString();
    }

    private static string Inputs(ModifierInput input) => input switch
    {
        ModifierInput.Batch => "%batch",
        ModifierInput.Head => "%head",
        ModifierInput.QueryIndex => "%row",
        ModifierInput.KeyIndex => "%kv",
        _ => throw new System.InvalidOperationException("a mask modifier has no score"),
    };
}
