using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Forward;

/// <summary>
/// The varlen forward's setup (issue 11, <see cref="GpuKernelKind.ForwardVarlen"/>): the only stages where it differs from the
/// dense forward. A CTA of grid (query block, query head, sequence) reads its sequence's cumulative offsets, so that seq_q and
/// seq_kv — which every later stage (band, ring bounds, element mask, modifiers' clamps, epilogue) reads — are the sequence's
/// own lengths, and the base pointers start at the sequence's first rows. Within a sequence the rows of the packed tensors are
/// evenly strided, so the layer's strided <see cref="GlobalTile"/> is the row-address hook unchanged: row i of sequence s is at
/// base + (offsets[s] + i)·stride, with offsets[s]·stride folded into the base once per CTA instead of added per row.
/// </summary>
internal abstract partial class ForwardKernel
{
    private bool IsVarlen => Gpu.Kind == GpuKernelKind.ForwardVarlen;

    /// <summary>
    /// Sequence, head, the sequence's rows and lengths from the offsets, and the CTA's query block: CTAs past the sequence's
    /// blocks leave at once (the grid is sized for the longest sequence). With a causal-like band the blocks of each sequence
    /// are taken last-first, as in the dense kernel (the heaviest start first).
    /// </summary>
    private void EmitVarlenSequence()
    {
        var w = W;
        w.Mov(U32, R.Head, Sreg.CtaidY);
        w.Mov(U32, R.Batch, Sreg.CtaidZ);
        w.Comment("varlen: sequence s = ctaid.z owns query rows [query_offsets[s], query_offsets[s+1]) and key rows [key_offsets[s], key_offsets[s+1])");
        using (w.Scope())
        {
            var a = w.Declare1(RegKind.B64, "offsets");
            var r = w.Declare(RegKind.B32, "next", "blocks");
            var (next, blocks) = (r[0], r[1]);
            var leave = w.Declare1(RegKind.Pred, "leave");
            LoadSequenceRange(a, "query_offsets", R.QStart!, next, R.SeqQ);
            LoadSequenceRange(a, "key_offsets", R.KStart!, next, R.SeqKv);
            w.Comment("query blocks of this sequence: ceil(seq_q / " + I(Gpu.BlockQ) + "); a CTA past them (or of an empty sequence) has nothing to do");
            w.Add(U32, blocks, R.SeqQ, Gpu.BlockQ - 1);
            w.Shr(U32, blocks, blocks, Log2(Gpu.BlockQ));
            w.Mov(U32, R.QueryBlock, Sreg.CtaidX);
            w.Setp(Cmp.Ge, U32, leave, R.QueryBlock, blocks);
            using (w.When(leave))
            {
                w.Ret();
            }

            if (LaterBlocksAreHeavier)
            {
                w.Comment("the sequence's query blocks in reverse order: the heaviest (longest key range) start first");
                w.Add(U32, blocks, blocks, -1);
                w.Sub(U32, R.QueryBlock, blocks, R.QueryBlock);
            }
        }
    }

    /// <summary>
    /// seq_q again, from the offsets, for the epilogue's row check: so it is not live through the KV loop. The dense kernel
    /// reads its lengths from the parameter bank at each use; the varlen kernel's come from global memory, and keeping seq_q
    /// in a register across the loop made CUDA 12.4's ptxas spill on sm_90 at D = 128 (255 registers, 8 bytes). One L1/L2
    /// hit per thread at the end of the CTA costs far less.
    /// </summary>
    private void EmitVarlenReloadQueryLength()
    {
        var w = W;
        w.Comment("varlen: reload seq_q from query_offsets (not kept live through the KV loop)");
        using (w.Scope())
        {
            var a = w.Declare1(RegKind.B64, "offsets");
            var r = w.Declare(RegKind.B32, "first", "next");
            LoadSequenceRange(a, "query_offsets", r[0], r[1], R.SeqQ);
        }
    }

    /// <summary>start = offsets[s], length = offsets[s + 1] − start.</summary>
    private void LoadSequenceRange(Reg address, string parameter, Reg start, Reg next, Reg length)
    {
        var w = W;
        Entry.LoadGlobalPointer(w, address, parameter);
        using (w.Scope())
        {
            var x = w.Declare1(RegKind.B64, "x");
            w.MulWide(U32, x, R.Batch, 4);
            w.Add(U64, address, address, x);
        }

        w.LdGlobalNc(U32, start, address);
        w.LdGlobalNc(U32, next, address, 4);
        w.Sub(U32, length, next, start);
    }

    /// <summary>
    /// LSE is [totalQ, Hq]: lse_ptr moves to the sequence's first row once, so the epilogue indexes by row · Hq + head and
    /// q_start is dead after setup (a register fewer through the loop: unlike the dense kernel's seq_q and seq_kv, which
    /// ptxas reads from the parameter bank, the varlen lengths and starts live in registers).
    /// </summary>
    private void EmitVarlenLseRows()
    {
        var w = W;
        using (w.Scope())
        {
            var x = w.Declare1(RegKind.B64, "x");
            var rows = w.Declare1(RegKind.B32, "rows");
            w.MulLo(U32, rows, R.QStart!, R.HeadsQ);
            w.MulWide(U32, x, rows, 4);
            w.Add(U64, R.LsePtr, R.LsePtr, x);
        }
    }

    /// <summary>The base pointers of this (sequence, head): the sequence's first row, the head's columns.</summary>
    private void EmitVarlenBasePointers()
    {
        W.Stage("Setup: global base pointers of this (sequence, head): row offsets[s], head h; strides are in elements, converted to bytes");
        VarlenBasePointer("q", R.QStart!, R.Head, Shape.Element, R.QBase, R.QStride);
        VarlenBasePointer("k", R.KStart!, R.KvHead, Shape.Element, R.KBase, R.KStride);
        VarlenBasePointer("v", R.KStart!, R.KvHead, Shape.Element, R.VBase, R.VStride);
        VarlenBasePointer("o", R.QStart!, R.Head, Shape.Output, R.OBase, R.OStride);
    }

    /// <summary>base = ptr + elementSize·(start·seqStride + head·headStride); seqStride in bytes.</summary>
    private void VarlenBasePointer(string tensor, Reg start, Reg head, ElementTraits element, Reg baseAddress, Reg seqStride)
    {
        var w = W;
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B64, "ptr", "off", "hs", "x");
            var (ptr, off, hs, x) = (r[0], r[1], r[2], r[3]);
            Entry.LoadGlobalPointer(w, ptr, tensor);
            Entry.Load(w, seqStride, tensor + "_seq_stride");
            Entry.Load(w, hs, tensor + "_head_stride");
            w.Cvt(U64, U32, x, start);
            w.MulLo(U64, off, seqStride, x);
            w.Cvt(U64, U32, x, head);
            w.MadLo(U64, off, hs, x, off);
            w.Shl(B64, off, off, element.ByteShift);
            w.Add(U64, baseAddress, ptr, off);
            w.Shl(B64, seqStride, seqStride, element.ByteShift);
        }
    }
}
