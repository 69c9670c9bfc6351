using System.Collections.Generic;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Planning;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// sm_80 family: warp-level <c>mma.sync.m16n8k16</c>, operands loaded by <c>ldmatrix</c> from row-padded shared memory.
/// Each warp owns Slabs m16 row slabs, so every K/V fragment read from shared memory feeds Slabs mma. Each lane keeps
/// its ldmatrix row address within the Q tile and within a K/V stage; <see cref="SelectStage"/> adds the stage base.
/// </summary>
internal sealed class MmaSyncFamily : IMatmulFamily
{
    private readonly GpuKernelPlan _gpu;
    private readonly ElementTraits _element;
    private readonly int _d;
    private readonly int _dv;
    private Reg _qLd = null!;
    private Reg _kLd = null!;
    private Reg _vLd = null!;
    private Reg _kCur = null!;
    private Reg _vCur = null!;

    public MmaSyncFamily(GpuKernelPlan gpu, ElementTraits element, int headDim, int valueHeadDim)
    {
        _gpu = gpu;
        _element = element;
        _d = headDim;
        _dv = valueHeadDim;
    }

    /// <summary>ldmatrix reads 8×8 matrices of b16: 8 rows of 16 bytes (whatever the element type packed in them).</summary>
    private const int MatrixRows = 8;

    private const int MatrixRowBytes = 16;

    private GpuSharedMemoryLayout Smem => _gpu.Smem;

    private int Slabs => _gpu.Slabs;

    private int K => _element.MmaK;

    /// <summary>Bytes one k step spans in a row: the column offset of k step kc is kc times this.</summary>
    private int StepBytes => K * _element.Bytes;

    public string BannerTag => string.Empty;

    public int SharedAlignment => 128;

    public string SharedAlignmentNote => string.Empty;

    public SharedTile QLayout => new PaddedTile(Smem.QPitchBytes);

    public SharedTile KLayout => new PaddedTile(Smem.KPitchBytes);

    public SharedTile VLayout => new PaddedTile(Smem.VPitchBytes);

    public string SharedSetupTitle => System.FormattableString.Invariant(
        $"Setup: shared memory (Q @{Smem.QOffset}, K ring @{Smem.KOffset}, V ring @{Smem.VOffset}; row pitches {Smem.QPitchBytes}/{Smem.KPitchBytes}/{Smem.VPitchBytes} bytes, 16 bytes of padding per row)");

    public string OperandAddressComment => "shared-memory addresses: tiles, and each lane's ldmatrix row address within a tile";

    public IReadOnlyList<string> OperandAddressNames { get; } = new[] { "q_ld", "k_ld", "v_ld", "k_cur", "v_cur" };

    public void BindOperandAddresses(IReadOnlyList<Reg> registers) =>
        (_qLd, _kLd, _vLd, _kCur, _vCur) = (registers[0], registers[1], registers[2], registers[3], registers[4]);

    public void DeclareRegisters(PtxWriter w)
    {
    }

    public void SetupOperands(PtxWriter w, ForwardTiles tiles)
    {
        w.Comment("ldmatrix.x4: lanes 0-7, 8-15, 16-23, 24-31 give the row addresses of matrices 0..3");
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "r8", "hi", "mid", "x");
            var (r8, hi, mid, x) = (r[0], r[1], r[2], r[3]);
            w.Ins("and.b32 " + r8 + ", " + tiles.Lane + ", 7");
            w.Ins("shr.u32 " + hi + ", " + tiles.Lane + ", 4");
            w.Ins("bfe.u32 " + mid + ", " + tiles.Lane + ", 3, 1");
            w.Comment("Q as A (row-major 16x16): row = " + I(16 * Slabs) + "*warp + r8 + 8*mid, column block = 8*hi (slab s at +16 rows)");
            w.Ins("mad.lo.u32 " + x + ", " + mid + ", " + I(MatrixRows) + ", " + r8);
            w.Ins("mad.lo.u32 " + x + ", " + tiles.Warp + ", " + I(16 * Slabs) + ", " + x);
            w.Ins("mad.lo.u32 " + x + ", " + x + ", " + I(Smem.QPitchBytes) + ", " + tiles.QTile);
            w.Ins("mad.lo.u32 " + _qLd + ", " + hi + ", " + I(MatrixRowBytes) + ", " + x);
            w.Comment("K as B of Q*K^T (keys are columns, head dim contiguous = 'col'): key = r8 + 8*hi, column block = 8*mid");
            w.Ins("mad.lo.u32 " + x + ", " + hi + ", " + I(MatrixRows) + ", " + r8);
            w.Ins("mul.lo.u32 " + x + ", " + x + ", " + I(Smem.KPitchBytes));
            w.Ins("mad.lo.u32 " + _kLd + ", " + mid + ", " + I(MatrixRowBytes) + ", " + x);
            w.Comment("V as B of P*V through ldmatrix.trans: key = r8 + 8*mid, column block = 8*hi");
            w.Ins("mad.lo.u32 " + x + ", " + mid + ", " + I(MatrixRows) + ", " + r8);
            w.Ins("mul.lo.u32 " + x + ", " + x + ", " + I(Smem.VPitchBytes));
            w.Ins("mad.lo.u32 " + _vLd + ", " + hi + ", " + I(MatrixRowBytes) + ", " + x);
        }

        _kRing = tiles.KRing;
        _vRing = tiles.VRing;
    }

    private Reg _kRing = null!;
    private Reg _vRing = null!;

    public void SelectStage(PtxWriter w, Reg stage)
    {
        w.Ins("mad.lo.u32 " + _kCur + ", " + stage + ", " + I(Smem.KStageBytes) + ", " + _kRing);
        w.Ins("add.u32 " + _kCur + ", " + _kCur + ", " + _kLd);
        w.Ins("mad.lo.u32 " + _vCur + ", " + stage + ", " + I(Smem.VStageBytes) + ", " + _vRing);
        w.Ins("add.u32 " + _vCur + ", " + _vCur + ", " + _vLd);
    }

    /// <summary>
    /// S (16 × BlockKV per slab) = Q·Kᵀ: for each k step, one ldmatrix.x4 of Q per slab (A), and per 16 keys one
    /// ldmatrix.x4 of K giving the B fragments of two 8-key tiles, shared by the slabs. K is read at the stage
    /// <see cref="SelectStage"/> chose.
    /// </summary>
    public void Scores(PtxWriter w, IReadOnlyList<AccumulatorFragment> s, Reg stage)
    {
        int bkv = s[0].Width;
        w.Stage(System.FormattableString.Invariant($"S = Q * K^T: {_d / K} head-dim steps x {bkv / 8} key tiles x {Slabs} slab(s) of mma.m16n8k{K} per warp"));
        foreach (var slab in s)
        {
            slab.Fill(w, Zero);
        }

        for (int kc = 0; kc < _d / K; kc++)
        {
            using (w.Scope())
            {
                var a = w.DeclareArray(RegKind.B32, "a", 4 * Slabs);
                for (int ms = 0; ms < Slabs; ms++)
                {
                    Copies.Ldmatrix4(w, a.Vector(4 * ms, 4), _qLd, (ms * 16 * Smem.QPitchBytes) + (kc * StepBytes));
                }

                var b = w.DeclareArray(RegKind.B32, "b", 4);
                for (int np = 0; np < bkv / 16; np++)
                {
                    Copies.Ldmatrix4(w, b.Vector(0, 4), _kCur, (np * 16 * Smem.KPitchBytes) + (kc * StepBytes));
                    for (int ms = 0; ms < Slabs; ms++)
                    {
                        Mma(w, s[ms].Tile(2 * np), a.Vector(4 * ms, 4), b.Vector(0, 2));
                        Mma(w, s[ms].Tile((2 * np) + 1), a.Vector(4 * ms, 4), b.Vector(2, 2));
                    }
                }
            }
        }
    }

    /// <summary>
    /// O (16 × Dv per slab) += P·V: P's A fragments from registers; ldmatrix.x4.trans of V gives the B fragments of two
    /// 8-column output tiles per k step, shared by all slabs of the warp.
    /// </summary>
    public void AccumulatePv(PtxWriter w, IReadOnlyList<AccumulatorFragment> o, IReadOnlyList<RegArray> p, Reg stage)
    {
        int bkv = 2 * p[0].Count * _element.PerRegister;
        w.Stage(System.FormattableString.Invariant($"O += P * V: {bkv / K} key steps x {_dv / 8} output tiles x {Slabs} slab(s) of mma.m16n8k{K} per warp (V via ldmatrix.trans)"));
        using (w.Scope())
        {
            var b = w.DeclareArray(RegKind.B32, "b", 4);
            for (int kc = 0; kc < bkv / K; kc++)
            {
                for (int dp = 0; dp < _dv / 16; dp++)
                {
                    Copies.Ldmatrix4(w, b.Vector(0, 4), _vCur, (kc * K * Smem.VPitchBytes) + (dp * 16 * _element.Bytes), transpose: true);
                    for (int ms = 0; ms < Slabs; ms++)
                    {
                        string a = p[ms].Vector(4 * kc, 4);
                        Mma(w, o[ms].Tile(2 * dp), a, b.Vector(0, 2));
                        Mma(w, o[ms].Tile((2 * dp) + 1), a, b.Vector(2, 2));
                    }
                }
            }
        }
    }

    /// <summary>D = A·B + D on the tensor cores, fp32 accumulate.</summary>
    private void Mma(PtxWriter w, string d, string a, string b) => MmaSyncProducts.Mma(w, _element, d, a, b);
}
