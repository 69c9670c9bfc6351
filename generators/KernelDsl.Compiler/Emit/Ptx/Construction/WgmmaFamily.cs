using System.Collections.Generic;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// sm_90a family: warpgroup-level <c>wgmma.mma_async</c>. Each warpgroup owns 64 query rows (warp w: rows 16w..16w+15,
/// the one-slab row mapping of the sm_80 family), and an m64nN accumulator gives each thread the same elements as N/8
/// mma.sync m16n8 tiles (<see cref="AccumulatorFragment"/>). Q and K are K-major and V the MN-major ("transposed") B
/// operand, all read from 128-byte-swizzled shared memory through matrix descriptors; P stays in registers as A.
/// The products are asynchronous: a kernel fences, issues, commits and waits (<see cref="Fence"/>, <see cref="Commit"/>,
/// <see cref="Wait"/>), and must make cp.async writes visible to the tensor cores first (<see cref="PublishCopies"/>).
/// </summary>
internal sealed class WgmmaFamily : IMatmulFamily
{
    private readonly GpuKernelPlan _gpu;
    private readonly ElementTraits _element;
    private readonly int _d;
    private readonly int _dv;
    private Reg _qDesc = null!;
    private Reg _kDesc0 = null!;
    private Reg _vDesc0 = null!;
    private Reg _kDesc = null!;
    private Reg _vDesc = null!;
    private Reg _accumulate = null!;
    private Reg _overwrite = null!;

    public WgmmaFamily(GpuKernelPlan gpu, ElementTraits element, int headDim, int valueHeadDim)
    {
        _gpu = gpu;
        _element = element;
        _d = headDim;
        _dv = valueHeadDim;
    }

    private GpuSharedMemoryLayout Smem => _gpu.Smem;

    private int K => _element.MmaK;

    /// <summary>Bytes one k step spans in a swizzled row (so 128 / StepBytes k steps per 64-column block).</summary>
    private int StepBytes => K * _element.Bytes;

    private int StepsPerBlock => Swizzled128Tile.RowBytes / StepBytes;

    public string BannerTag => " (Hopper wgmma family)";

    public int SharedAlignment => 1024;

    public string SharedAlignmentNote => "; 1024-byte aligned: the 128-byte swizzle repeats every 8 rows of 128 bytes";

    public SharedTile QLayout => new Swizzled128Tile(_gpu.BlockQ);

    public SharedTile KLayout => new Swizzled128Tile(_gpu.BlockKV);

    public SharedTile VLayout => new Swizzled128Tile(_gpu.BlockKV);

    public string SharedSetupTitle => System.FormattableString.Invariant(
        $"Setup: shared memory (Q @{Smem.QOffset}, K ring @{Smem.KOffset}, V ring @{Smem.VOffset}; 128-byte swizzled 64-column blocks)");

    public string OperandAddressComment => "shared-memory addresses of the tiles (the tensor cores address within them through descriptors)";

    public IReadOnlyList<string> OperandAddressNames { get; } = System.Array.Empty<string>();

    public void BindOperandAddresses(IReadOnlyList<Reg> registers)
    {
    }

    public void DeclareRegisters(PtxWriter w)
    {
        w.Comment("wgmma matrix descriptors (64-bit: address>>4, leading/stride byte offsets>>4, swizzle mode) of this warpgroup's Q rows and of stage 0 of the K and V rings");
        var d = w.Declare(RegKind.B64, "q_desc", "k_desc0", "v_desc0", "k_desc", "v_desc");
        (_qDesc, _kDesc0, _vDesc0, _kDesc, _vDesc) = (d[0], d[1], d[2], d[3], d[4]);
        VStage = w.Declare1(RegKind.B32, "v_stage");
        w.Comment("scale-d of wgmma: false = overwrite the accumulator (first k-step of S), true = accumulate");
        var p = w.Declare(RegKind.Pred, "p_acc", "p_over");
        (_accumulate, _overwrite) = (p[0], p[1]);
    }

    /// <summary>The ring stage whose V the next P·V reads (the stage K was read from one tile earlier).</summary>
    public Reg VStage { get; private set; } = null!;

    /// <summary>
    /// Descriptors. K-major (Q, K): rows 128 bytes apart, 8-row groups 1024 bytes apart (stride byte offset); the leading
    /// byte offset is unused with the swizzle (1 by convention). MN-major (V): key rows 128 bytes apart, 8-key groups 1024
    /// bytes apart (stride byte offset), and the next 64 output columns one column block further (leading = BlockKV·128).
    /// </summary>
    public void SetupOperands(PtxWriter w, ForwardTiles tiles)
    {
        const int rowBytes = Swizzled128Tile.RowBytes;
        w.Comment("warpgroup wg = warp / 4 reads Q rows 64*wg .. 64*wg+63");
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "wg", "addr", "lo", "hi");
            var (wg, addr, lo, hi) = (r[0], r[1], r[2], r[3]);
            w.Ins("shr.u32 " + wg + ", " + tiles.Warp + ", 2");
            w.Ins("mad.lo.u32 " + addr + ", " + wg + ", " + I(64 * rowBytes) + ", " + tiles.QTile);
            Swizzled128Tile.Descriptor(w, _qDesc, addr, leadingBytes: 16, strideBytes: 8 * rowBytes, lo, hi);
            Swizzled128Tile.Descriptor(w, _kDesc0, tiles.KRing, leadingBytes: 16, strideBytes: 8 * rowBytes, lo, hi);
            Swizzled128Tile.Descriptor(w, _vDesc0, tiles.VRing, leadingBytes: _gpu.BlockKV * rowBytes, strideBytes: 8 * rowBytes, lo, hi);
        }

        w.Ins("setp.ne.u32 " + _overwrite + ", " + tiles.Thread + ", " + tiles.Thread);
        w.Ins("setp.eq.u32 " + _accumulate + ", " + tiles.Thread + ", " + tiles.Thread);
    }

    /// <summary>The next P·V reads V from <paramref name="stage"/> (the stage the last Q·Kᵀ read K from).</summary>
    public void RememberVStage(PtxWriter w, Reg stage) => w.Ins("mov.u32 " + VStage + ", " + stage);

    /// <summary>Nothing: each product computes its stage's descriptor when issued.</summary>
    public void SelectStage(PtxWriter w, Reg stage)
    {
    }

    /// <summary>
    /// S (this warpgroup's 64 rows × BlockKV) = Q·K(stage)ᵀ: D/k wgmma m64nBkv, both operands K-major from shared
    /// memory. k step kc reads column block kc / StepsPerBlock at byte (kc mod StepsPerBlock)·StepBytes of each row.
    /// </summary>
    public void Scores(PtxWriter w, IReadOnlyList<AccumulatorFragment> s, Reg stage)
    {
        int bkv = s[0].Width;
        w.Stage(System.FormattableString.Invariant($"S = Q * K^T: {_d / K} x wgmma.m64n{bkv}k{K} per warpgroup (Q and K from swizzled shared memory)"));
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B64, "qd", "kd", "off");
            var (qd, kd, off) = (r[0], r[1], r[2]);
            w.Ins("mul.wide.u32 " + off + ", " + stage + ", " + I(Smem.KStageBytes >> 4));
            w.Ins("add.u64 " + _kDesc + ", " + _kDesc0 + ", " + off);
            for (int kc = 0; kc < _d / K; kc++)
            {
                int column = (kc % StepsPerBlock) * StepBytes;
                int qOffset = ((kc / StepsPerBlock) * _gpu.BlockQ * Swizzled128Tile.RowBytes) + column;
                int kOffset = ((kc / StepsPerBlock) * bkv * Swizzled128Tile.RowBytes) + column;
                w.Ins("add.u64 " + qd + ", " + _qDesc + ", " + I(qOffset >> 4));
                w.Ins("add.u64 " + kd + ", " + _kDesc + ", " + I(kOffset >> 4));
                w.Ins("wgmma.mma_async.sync.aligned.m64n" + I(bkv) + "k" + I(K) + ".f32." + _element.Ptx + "." + _element.Ptx + " "
                      + s[0].All + ", " + qd + ", " + kd + ", " + (kc == 0 ? _overwrite : _accumulate) + ", 1, 1, 0, 0");
            }
        }
    }

    /// <summary>
    /// O (64 rows × Dv) += P·V(stage): BlockKV/k wgmma m64nDv, P's A fragments from registers (the layout the softmax
    /// left them in), V as the transposed (MN-major) B operand; key step kc starts k rows = k·128 bytes further.
    /// </summary>
    public void AccumulatePv(PtxWriter w, IReadOnlyList<AccumulatorFragment> o, IReadOnlyList<RegArray> p, Reg stage)
    {
        int bkv = 2 * p[0].Count * _element.PerRegister;
        w.Stage(System.FormattableString.Invariant($"O += P * V: {bkv / K} x wgmma.m64n{_dv}k{K} per warpgroup (P from registers, V transposed from swizzled shared memory)"));
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B64, "vd", "off");
            var (vd, off) = (r[0], r[1]);
            w.Ins("mul.wide.u32 " + off + ", " + stage + ", " + I(Smem.VStageBytes >> 4));
            w.Ins("add.u64 " + _vDesc + ", " + _vDesc0 + ", " + off);
            for (int kc = 0; kc < bkv / K; kc++)
            {
                w.Ins("add.u64 " + vd + ", " + _vDesc + ", " + I((kc * K * Swizzled128Tile.RowBytes) >> 4));
                w.Ins("wgmma.mma_async.sync.aligned.m64n" + I(_dv) + "k" + I(K) + ".f32." + _element.Ptx + "." + _element.Ptx + " "
                      + o[0].All + ", " + p[0].Vector(4 * kc, 4) + ", " + vd + ", " + _accumulate + ", 1, 1, 1");
            }
        }
    }

    /// <summary>Orders this thread's register writes (accumulators, P) before the next wgmma reads them.</summary>
    public static void Fence(PtxWriter w) => w.Ins("wgmma.fence.sync.aligned");

    /// <summary>Closes the group of wgmma issued since the last commit.</summary>
    public static void Commit(PtxWriter w) => w.Ins("wgmma.commit_group.sync.aligned");

    /// <summary>Waits until at most <paramref name="pending"/> of the newest wgmma groups are still running.</summary>
    public static void Wait(PtxWriter w, int pending) => w.Ins("wgmma.wait_group.sync.aligned " + I(pending));

    /// <summary>
    /// Makes this thread's completed cp.async writes visible to the tensor cores (the async proxy), then the barrier
    /// makes every thread's writes visible to all.
    /// </summary>
    public static void PublishCopies(PtxWriter w)
    {
        w.Ins("fence.proxy.async.shared::cta");
        Copies.Barrier(w);
    }
}
