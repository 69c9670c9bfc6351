using System.Linq;
using System.Collections.Generic;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
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
///     captured0_last u32    right after each pointer: its last index, the clamp of every read (AbiValue.CapturedLastIndex)
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
    public static IReadOnlyList<(string Name, string Type)> FixedParameters { get; } = Parameters(0);

    /// <summary>The builder's parameters: from its ABI record (Planning/KernelAbi), which the generated launcher table also comes from.</summary>
    public static IReadOnlyList<(string Name, string Type)> Parameters(ModifierSpec mask) => Parameters(mask.Buffers.Count);

    private static IReadOnlyList<(string Name, string Type)> Parameters(int capturedBuffers) =>
        KernelAbi.BlockMaskBuilder(capturedBuffers).Parameters.Select(p => (p.Name, p.PtxType)).ToList();

    /// <summary>The builder's entry name: the attention kernel's, with <c>_blockmask</c> appended.</summary>
    public static string EntryName(GpuKernelPlan gpu) => gpu.EntryName + "_blockmask";

    /// <summary>The builder kernel's PTX, or null when the spec has no mask modifier or no GPU kernel.</summary>
    public static string? PtxFor(KernelPlan plan)
    {
        var mask = plan.Spec.MaskModifier;
        return mask is null || plan.PortableGpuKernel() is not { } forward ? null : Build(plan.Spec, mask, EntryName(forward));
    }

    private static string Build(AttentionSpec spec, ModifierSpec mask, string entryName)
    {
        var w = new PtxWriter();
        var entry = new KernelEntry(entryName, Parameters(mask));
        string votesSymbol = entryName + "_votes";
        entry.WriteHeader(w,
            new[]
            {
                "KernelDsl block-mask builder, " + spec.Target.FullName + ": mask modifier " + mask.MethodName,
                "One CTA per (KV block, query block, mask row): 0 empty, 1 partial, 2 full, from band && modifier on every element.",
            },
            framed: true, version: "7.8", target: "sm_80",
            new[] { BlockVotes.Slots(votesSymbol, ThreadsPerBlock / 32, "per warp: its \"any kept\" vote at [4*warp], its \"all kept\" vote at [32 + 4*warp]") },
            new[] { KernelEntry.MaxThreads(ThreadsPerBlock) });
        var (seqQ, seqKv, blockQ, blockKv, align, left, right, heads) = Eight(w.Declare(RegKind.B32, "seq_q", "seq_kv", "block_q", "block_kv", "align", "left", "right", "heads"));
        var tile = w.Declare(RegKind.B32, "thread", "kb", "qb", "mask_row", "batch", "head", "q0", "k0", "nq", "nk", "log_kv", "kv_bits", "n_all");
        var (thread, kb, qb, maskRow, batch, head, q0) = (tile[0], tile[1], tile[2], tile[3], tile[4], tile[5], tile[6]);
        var (k0, nq, nk, logKv, kvBits, nAll) = (tile[7], tile[8], tile[9], tile[10], tile[11], tile[12]);
        var element = w.Declare(RegKind.B32, "i", "r", "c", "row", "kv", "d", "lo", "hi", "any", "all", "x");
        var (i, r, c, row, kv, d) = (element[0], element[1], element[2], element[3], element[4], element[5]);
        var (lo, hi, any, all, x) = (element[6], element[7], element[8], element[9], element[10]);
        var preds = w.Declare(RegKind.Pred, "p", "left_open", "right_open", "band", "lead");
        var (p, leftOpen, rightOpen, band, lead) = (preds[0], preds[1], preds[2], preds[3], preds[4]);
        var pointers = w.Declare(RegKind.B64, "out", "at");
        var (output, at) = (pointers[0], pointers[1]);

        w.Stage("Parameters; this CTA's tile: KV block ctaid.x, query block ctaid.y, mask row ctaid.z = (batch, head)");
        foreach (var (name, register) in new[] { ("seq_q", seqQ), ("seq_kv", seqKv), ("block_q", blockQ), ("block_kv", blockKv), ("band_offset", align), ("band_left", left), ("band_right", right), ("heads", heads) })
        {
            entry.Load(w, register, name);
        }

        entry.LoadGlobalPointer(w, output, "out");
        var captured = ModifierInputs.LoadCapturedBuffers(w, entry, mask.Buffers);
        w.Mov(U32, thread, Sreg.TidX);
        w.Mov(U32, kb, Sreg.CtaidX);
        w.Mov(U32, qb, Sreg.CtaidY);
        w.Mov(U32, maskRow, Sreg.CtaidZ);
        w.Div(U32, batch, maskRow, heads);
        w.MulLo(U32, x, batch, heads);
        w.Sub(U32, head, maskRow, x);
        w.Comment("tile origin and its extent inside the sequences: rows [q0, q0 + nq), keys [k0, k0 + nk)");
        w.MulLo(U32, q0, qb, blockQ);
        w.MulLo(U32, k0, kb, blockKv);
        w.Sub(U32, nq, seqQ, q0);
        w.Min(U32, nq, nq, blockQ);
        w.Sub(U32, nk, seqKv, k0);
        w.Min(U32, nk, nk, blockKv);
        w.Bfind(U32, logKv, blockKv);
        w.Sub(U32, kvBits, blockKv, 1);
        w.MulLo(U32, nAll, blockQ, blockKv);
        var bandTest = new RuntimeBand(align, left, right, leftOpen, rightOpen);
        bandTest.DecodeUnbounded(w);
        w.Comment("this thread's votes: any element kept, every element kept (vacuously true with no element)");
        w.Mov(U32, any, 0);
        w.Mov(U32, all, 1);

        var inputs = new ModifierInputs(Score: null, batch, head, Query: row, Key: kv);
        var (elementLoop, next, kept, vote, exit) = (w.NewLabel("ELEMENT"), w.NewLabel("NEXT"), w.NewLabel("KEPT"), w.NewLabel("VOTE"), w.NewLabel("EXIT"));
        w.Stage("Mask modifier " + mask.MethodName + ": subexpressions that depend only on (batch, head), evaluated once per thread");
        var hoisted = new ExprPtxWriter(w, inputs.Map, prefix: "%hm", bufferBase: captured).Hoist(mask.Body);

        w.Stage("Elements: i = tid, tid + " + I(ThreadsPerBlock) + ", ... over the BlockQ x BlockKV tile; q = q0 + (i >> log2 BlockKV), kv = k0 + (i & (BlockKV - 1))");
        w.Mov(U32, i, thread);
        w.Place(elementLoop);
        w.Setp(Cmp.Ge, U32, p, i, nAll);
        w.BranchIf(p, vote);
        w.Shr(U32, r, i, logKv);
        w.Comment("rows past Sq: this and every later i of the thread are outside the sequence");
        w.Setp(Cmp.Ge, U32, p, r, nq);
        w.BranchIf(p, vote);
        w.And(B32, c, i, kvBits);
        w.Setp(Cmp.Ge, U32, p, c, nk);
        w.BranchIf(p, next);
        w.Add(S32, row, q0, r);
        w.Add(S32, kv, k0, c);
        bandTest.Keeps(w, band, row, kv, d, lo, hi, p);
        w.Mov(U32, x, 0);
        w.Comment("band && modifier, as in C#: the modifier (and its buffer reads) only inside the band");
        w.BranchUnless(band, kept);
        using (w.Scope())
        {
            var keep = new ExprPtxWriter(w, inputs.Map, hoisted, bufferBase: captured).Lower(mask.Body);
            w.Selp(U32, x, 1, 0, keep);
        }

        w.Place(kept);
        w.Or(B32, any, any, x);
        w.And(B32, all, all, x);
        w.Comment("seen a kept and a dropped element: the tile is partial whatever the other threads see");
        w.Not(B32, x, all);
        w.And(B32, x, x, any);
        w.Setp(Cmp.Ne, U32, p, x, 0);
        w.BranchIf(p, vote);
        w.Place(next);
        w.Add(U32, i, i, ThreadsPerBlock);
        w.Branch(elementLoop);

        w.Stage("Reduce: warp votes, then one slot per warp in shared memory; thread 0 writes the tile's kind");
        w.Place(vote);
        BlockVotes.ReduceToThreadZero(w, any, all, thread, votesSymbol, ThreadsPerBlock / 32, p, lead, x, exit);

        w.Comment("kind = any ? (all ? 2 : 1) : 0, at out[((mask_row * QueryBlocks) + qb) * KvBlocks + kb]");
        w.Add(U32, x, all, 1);
        w.Setp(Cmp.Eq, U32, p, any, 0);
        w.Selp(U32, x, 0, x, p);
        using (w.Scope())
        {
            var blocks = w.Declare1(RegKind.B32, "blocks");
            var offset = w.Declare1(RegKind.B64, "offset");
            w.Mov(U32, blocks, Sreg.NctaidY);
            w.MadLo(U32, r, maskRow, blocks, qb);
            w.Mov(U32, blocks, Sreg.NctaidX);
            w.MulWide(U32, at, r, blocks);
            w.Cvt(U64, U32, offset, kb);
            w.Add(U64, at, at, offset);
            w.Add(U64, at, at, output);
            w.StGlobal(U8, at, x);
        }

        w.Place(exit);
        w.Ret();
        KernelEntry.WriteEnd(w);
        return KernelEntry.AsciiOnly(w.ToString());
    }

    private static (Reg, Reg, Reg, Reg, Reg, Reg, Reg, Reg) Eight(Reg[] r) => (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}
