using KernelDsl.Compiler.Emit.Ptx.Construction;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.Construction.PtxType;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Backward;

/// <summary>
/// What the backward's two matmul kernels share (<see cref="BackwardKeyValueSm80"/>: dK and dV; <see cref="BackwardQuerySm80"/>:
/// dQ): the entry, thread and problem indices, base pointers, the mask band seen from a block of rows, the
/// cp.async ring of streamed tiles, the per-element gradient (P and dS recomputed from the scores, with the
/// modifiers and masks exactly as the forward applies them) and the store of an accumulator. The stages are in the
/// partial files of this class (Band, Elementwise); each kernel composes them with <see cref="MmaSyncProducts"/>.
/// </summary>
internal abstract partial class BackwardKernel
{
    /// <summary>The dynamic shared-memory array every tile lives in.</summary>
    protected const string SharedMemorySymbol = "kdsl_smem";

    protected BackwardKernel(KernelPlan plan, GpuKernelPlan gpu)
    {
        Spec = plan.Spec;
        OutputType = plan.OutputType;
        Gpu = gpu;
        Layout = gpu.BackwardSmem!;
        Element = ElementTraits.Of(Spec.InputType);
        Products = new MmaSyncProducts(Element);
        Entry = new KernelEntry(gpu.EntryName, PtxAbi.For(gpu));
    }

    protected AttentionSpec Spec { get; }

    protected GpuKernelPlan Gpu { get; }

    /// <summary>The element type of O and dO (the forward's output type).</summary>
    protected ElementType OutputType { get; }

    protected BackwardSharedLayout Layout { get; }

    protected ElementTraits Element { get; }

    protected MmaSyncProducts Products { get; }

    protected KernelEntry Entry { get; }

    protected PtxWriter W { get; } = new();

    protected int D => Spec.HeadDim;

    protected int Dv => Spec.ValueHeadDim;

    /// <summary>Thread and problem indices (declared by <see cref="OpenEntry"/>).</summary>
    protected Reg Thread { get; private set; } = null!;

    protected Reg Warp { get; private set; } = null!;

    protected Reg Lane { get; private set; } = null!;

    protected Reg G { get; private set; } = null!;

    protected Reg T4 { get; private set; } = null!;

    protected Reg Batch { get; private set; } = null!;

    protected Reg SeqQ { get; private set; } = null!;

    protected Reg SeqKv { get; private set; } = null!;

    protected Reg HeadsQ { get; private set; } = null!;

    protected Reg HeadsKv { get; private set; } = null!;

    /// <summary>Query heads per K/V head (GQA group size).</summary>
    protected Reg Group { get; private set; } = null!;

    /// <summary>Start of the dynamic shared memory.</summary>
    protected Reg Smem { get; private set; } = null!;

    /// <summary>What the scores are multiplied by inside exp2: scale·log2 e for raw dot products, log2 e for modified scores.</summary>
    protected Reg ScaleLog2 { get; private set; } = null!;

    /// <summary>The kernel: one composition per kind.</summary>
    public static string Build(KernelPlan plan, GpuKernelPlan gpu) => gpu.Kind switch
    {
        GpuKernelKind.BackwardPreprocess => BackwardPreprocessPtx.Build(plan, gpu),
        GpuKernelKind.BackwardKeyValue or GpuKernelKind.BackwardKeyValueAtomic => new BackwardKeyValueSm80(plan, gpu).Build(),
        GpuKernelKind.BackwardQueryConvert => BackwardQueryConvertPtx.Build(plan, gpu),
        _ => new BackwardQuerySm80(plan, gpu).Build(),
    };

    private string Build()
    {
        Compose();
        KernelEntry.WriteEnd(W);
        return KernelEntry.AsciiOnly(W.ToString());
    }

    /// <summary>The kernel's algorithm, from its entry to its last store.</summary>
    protected abstract void Compose();

    /// <summary>The header, the entry, and the registers every backward kernel has.</summary>
    protected void OpenEntry(string title, string sharedMemory)
    {
        var w = W;
        Entry.WriteHeader(w,
            new[]
            {
                "KernelDsl FlashAttention-2 backward: " + title + ", " + Spec.Target.FullName,
                Host.PlanTextRenderer.SpecSummary(Spec, OutputType),
                System.FormattableString.Invariant($"{Gpu.Warps} warps, {Gpu.Stages}-stage ring, {Gpu.Smem.TotalBytes} bytes shared memory, ~{Gpu.EstimatedRegisters} registers"),
            },
            framed: true, Gpu.PtxVersion, Gpu.PtxTarget,
            new[] { (sharedMemory, ".extern .shared .align 128 .b8 " + SharedMemorySymbol + "[];") },
            new[] { KernelEntry.MaxThreads(Gpu.ThreadsPerBlock), ".minnctapersm 1" });
        w.Comment("thread indices, mma fragment coordinates (g = lane/4, t4 = lane%4) and problem sizes");
        var idx = w.Declare(RegKind.B32, "thr", "warp", "lane", "g", "t4", "batch", "seq_q", "seq_kv", "heads_q", "heads_kv", "group", "smem");
        (Thread, Warp, Lane, G, T4, Batch) = (idx[0], idx[1], idx[2], idx[3], idx[4], idx[5]);
        (SeqQ, SeqKv, HeadsQ, HeadsKv, Group, Smem) = (idx[6], idx[7], idx[8], idx[9], idx[10], idx[11]);
        ScaleLog2 = w.Declare1(RegKind.F32, "scale_log2");
    }

    /// <summary>Thread, warp, lane, fragment coordinates, batch (grid z), sizes, GQA group, shared memory, the exp2 multiplier.</summary>
    protected void EmitIndices()
    {
        var w = W;
        w.Stage("Setup: thread, warp, lane; problem sizes; GQA group = Hq / Hkv");
        w.Mov(U32, Thread, Sreg.TidX);
        w.Shr(U32, Warp, Thread, 5);
        w.And(B32, Lane, Thread, 31);
        w.Shr(U32, G, Lane, 2);
        w.And(B32, T4, Lane, 3);
        w.Mov(U32, Batch, Sreg.CtaidZ);
        Entry.Load(w, SeqQ, "seq_q");
        Entry.Load(w, SeqKv, "seq_kv");
        Entry.Load(w, HeadsQ, "heads_q");
        Entry.Load(w, HeadsKv, "heads_kv");
        w.Div(U32, Group, HeadsQ, HeadsKv);
        w.Mov(U32, Smem, Operand.Literal(SharedMemorySymbol));
        w.Comment(ScoreMod is null
            ? System.FormattableString.Invariant($"softmax scale * log2(e) = {Gpu.ScaleLog2:R}: p = exp2(s*c - lse2)")
            : "log2(e): p = exp2(mod(scale*q.k)*c - lse2)");
        w.Mov(PtxType.F32, ScaleLog2, Operand.F32(ScoreMod is null ? Gpu.ScaleLog2 : Constants.Log2E));
    }

    /// <summary>base = ptr + elementSize·(b·batchStride + head·headStride); seqStride in bytes (the forward's rule, for any tensor of the ABI).</summary>
    public static void BasePointer(PtxWriter w, KernelEntry entry, string tensor, Reg batch, Reg head, ElementTraits element, Reg baseAddress, Reg seqStride)
    {
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B64, "ptr", "bs", "hs", "x");
            var (ptr, bs, hs, x) = (r[0], r[1], r[2], r[3]);
            entry.LoadGlobalPointer(w, ptr, tensor);
            entry.Load(w, bs, tensor + "_batch_stride");
            entry.Load(w, hs, tensor + "_head_stride");
            w.Cvt(U64, U32, x, batch);
            w.MulLo(U64, bs, bs, x);
            w.Cvt(U64, U32, x, head);
            w.MadLo(U64, bs, hs, x, bs);
            w.Shl(B64, bs, bs, element.ByteShift);
            w.Add(U64, baseAddress, ptr, bs);
            entry.Load(w, seqStride, tensor + "_seq_stride");
            w.Shl(B64, seqStride, seqStride, element.ByteShift);
        }
    }

    /// <summary>The batch's base of a tensor (head 0) and its head and sequence strides in bytes: the dK/dV kernel moves between query heads.</summary>
    protected void BatchPointer(string tensor, ElementTraits element, Reg baseAddress, Reg headStride, Reg seqStride)
    {
        var w = W;
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B64, "bs", "x");
            var (bs, x) = (r[0], r[1]);
            Entry.LoadGlobalPointer(w, baseAddress, tensor);
            Entry.Load(w, bs, tensor + "_batch_stride");
            w.Cvt(U64, U32, x, Batch);
            w.MulLo(U64, bs, bs, x);
            w.Shl(B64, bs, bs, element.ByteShift);
            w.Add(U64, baseAddress, baseAddress, bs);
            Entry.Load(w, headStride, tensor + "_head_stride");
            w.Shl(B64, headStride, headStride, element.ByteShift);
            Entry.Load(w, seqStride, tensor + "_seq_stride");
            w.Shl(B64, seqStride, seqStride, element.ByteShift);
        }
    }

    /// <summary>The address of the workspace row statistic (delta or lse2) of (batch, <paramref name="head"/>, query row 0): base + 4·(b·Hq + head)·Sq.</summary>
    protected void StatisticRow(Reg address, Reg statistics, Reg head)
    {
        var w = W;
        using (w.Scope())
        {
            var i = w.Declare1(RegKind.B32, "i");
            var x = w.Declare1(RegKind.B64, "x");
            w.MadLo(U32, i, Batch, HeadsQ, head);
            w.MulLo(U32, i, i, SeqQ);
            w.MulWide(U32, x, i, 4);
            w.Add(U64, address, statistics, x);
        }
    }

    /// <summary>
    /// Writes an accumulator (16 rows × width, this thread's rows <paramref name="rows"/>[0] and [1]) times
    /// <paramref name="scale"/> into global rows of <paramref name="tile"/> in its element type; rows at or past
    /// <paramref name="limit"/> are not written.
    /// </summary>
    protected void StoreRows(AccumulatorFragment acc, GlobalTile tile, Reg[] rows, Reg limit, double scale, string tag)
    {
        var w = W;
        var element = tile.Element;
        for (int r = 0; r < 2; r++)
        {
            var skip = w.NewLabel("STORE_SKIP_" + tag + I(r));
            using (w.Scope())
            {
                var outside = w.Declare1(RegKind.Pred, "out");
                var a = w.Declare(RegKind.B64, "ptr", "x");
                var (ptr, x) = (a[0], a[1]);
                var h = w.Declare1(RegKind.B32, "h");
                w.Setp(Cmp.Ge, S32, outside, rows[r], limit);
                w.BranchIf(outside, skip);
                tile.RowAddress(w, ptr, rows[r], x);
                w.MulWide(U32, x, T4, 2 * element.Bytes);
                w.Add(U64, ptr, ptr, x);
                var values = acc.Row(r);
                for (int nt = 0; nt < values.Length / 2; nt++)
                {
                    var (v0, v1) = (values[2 * nt], values[(2 * nt) + 1]);
                    if (scale != 1.0)
                    {
                        w.Mul(PtxType.F32, v0, v0, Operand.F32(scale));
                        w.Mul(PtxType.F32, v1, v1, Operand.F32(scale));
                    }

                    w.PackPair(element, h, v1, v0);
                    w.StGlobal(B32, ptr, nt * 8 * element.Bytes, h);
                }

                w.Place(skip);
            }
        }
    }

    /// <summary>stage = stage XOR 1: the two-stage ring's other stage.</summary>
    protected void Flip(Reg stage) => W.Xor(B32, stage, stage, 1);
}
