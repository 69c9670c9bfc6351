using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// The two tile products a warp issues with <c>mma.sync.m16n8k16</c>, on any padded row-major shared tiles (one row per
/// query or key, the head dim contiguous), for kernels whose operands change roles — the backward pass multiplies
/// K·Qᵀ, V·dOᵀ, Q·Kᵀ and dO·Vᵀ (<see cref="ProductABt"/>) and Pᵀ·dO, dSᵀ·Q and dS·K (<see cref="AccumulateAB"/>).
/// The forward's <see cref="MmaSyncFamily"/> is the same two shapes specialised to its Q, K and V tiles.
/// </summary>
/// <remarks>
/// ldmatrix.x4 gives each group of eight lanes one 8×8 matrix to address. Two lane patterns cover every operand:
/// <see cref="LaneRowsByMid"/> (row r8 + 8·mid, 16-byte column block hi: an A operand, or a B operand read transposed)
/// and <see cref="LaneRowsByHi"/> (row r8 + 8·hi, column block mid: a B operand whose rows are the product's columns),
/// with r8 = lane mod 8, mid = bit 3 of the lane, hi = lane / 16.
/// </remarks>
internal sealed class MmaSyncProducts
{
    /// <summary>ldmatrix reads 8×8 matrices of b16: 8 rows of 16 bytes.</summary>
    private const int MatrixRows = 8;

    private const int MatrixRowBytes = 16;

    private readonly ElementTraits _element;

    public MmaSyncProducts(ElementTraits element) => _element = element;

    private int K => _element.MmaK;

    /// <summary>Bytes one k step spans in a row.</summary>
    private int StepBytes => K * _element.Bytes;

    /// <summary>d = this lane's byte offset in a tile of row pitch <paramref name="pitch"/> for an A operand (or a transposed B).</summary>
    public static void LaneRowsByMid(PtxWriter w, Reg d, Reg lane, int pitch)
    {
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "r8", "mid", "hi");
            var (r8, mid, hi) = (r[0], r[1], r[2]);
            w.And(PtxType.B32, r8, lane, 7);
            w.Bfe(mid, lane, 3, 1);
            w.Shr(PtxType.U32, hi, lane, 4);
            w.MadLo(PtxType.U32, d, mid, MatrixRows, r8);
            w.MulLo(PtxType.U32, d, d, pitch);
            w.MadLo(PtxType.U32, d, hi, MatrixRowBytes, d);
        }
    }

    /// <summary>d = this lane's byte offset in a tile of row pitch <paramref name="pitch"/> for a B operand whose rows are the product's columns.</summary>
    public static void LaneRowsByHi(PtxWriter w, Reg d, Reg lane, int pitch)
    {
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "r8", "mid", "hi");
            var (r8, mid, hi) = (r[0], r[1], r[2]);
            w.And(PtxType.B32, r8, lane, 7);
            w.Bfe(mid, lane, 3, 1);
            w.Shr(PtxType.U32, hi, lane, 4);
            w.MadLo(PtxType.U32, d, hi, MatrixRows, r8);
            w.MulLo(PtxType.U32, d, d, pitch);
            w.MadLo(PtxType.U32, d, mid, MatrixRowBytes, d);
        }
    }

    /// <summary>
    /// C (16 × c.Width, fp32) = A·Bᵀ over <paramref name="depth"/>: A is the warp's 16 rows of a tile (this lane's
    /// address <paramref name="a"/>, pattern <see cref="LaneRowsByMid"/>, already at the warp's first row), B is
    /// c.Width rows of a tile (address <paramref name="b"/>, pattern <see cref="LaneRowsByHi"/>). Per k step one
    /// ldmatrix.x4 of A and one of B per 16 columns.
    /// </summary>
    public void ProductABt(PtxWriter w, AccumulatorFragment c, Reg a, Reg b, int bPitch, int depth)
    {
        w.Comment(System.FormattableString.Invariant($"{depth / K} k steps x {c.Width / 8} column tiles of mma.m16n8k{K}"));
        c.Fill(w, Zero);
        for (int kc = 0; kc < depth / K; kc++)
        {
            using (w.Scope())
            {
                var fa = w.DeclareArray(RegKind.B32, "a", 4);
                var fb = w.DeclareArray(RegKind.B32, "b", 4);
                Copies.Ldmatrix4(w, fa.Vector(0, 4), a, kc * StepBytes);
                for (int np = 0; np < c.Width / 16; np++)
                {
                    Copies.Ldmatrix4(w, fb.Vector(0, 4), b, (np * 16 * bPitch) + (kc * StepBytes));
                    Mma(w, _element, c.Tile(2 * np), fa.Vector(0, 4), fb.Vector(0, 2));
                    Mma(w, _element, c.Tile((2 * np) + 1), fa.Vector(0, 4), fb.Vector(2, 2));
                }
            }
        }
    }

    /// <summary>
    /// C (16 × c.Width) += A·B over <paramref name="rows"/>: A's fragments in registers (4 per 16-deep k step, from
    /// <see cref="AccumulatorFragment.ConvertToA"/>), B a row-major tile of <paramref name="rows"/> rows (this lane's
    /// address <paramref name="b"/>, pattern <see cref="LaneRowsByMid"/>) read with ldmatrix.trans.
    /// </summary>
    public void AccumulateAB(PtxWriter w, AccumulatorFragment c, RegArray a, Reg b, int bPitch, int rows)
    {
        w.Comment(System.FormattableString.Invariant($"{rows / K} k steps x {c.Width / 8} column tiles of mma.m16n8k{K} (B via ldmatrix.trans)"));
        using (w.Scope())
        {
            var fb = w.DeclareArray(RegKind.B32, "b", 4);
            for (int kc = 0; kc < rows / K; kc++)
            {
                for (int dp = 0; dp < c.Width / 16; dp++)
                {
                    Copies.Ldmatrix4(w, fb.Vector(0, 4), b, (kc * K * bPitch) + (dp * 16 * _element.Bytes), transpose: true);
                    Mma(w, _element, c.Tile(2 * dp), a.Vector(4 * kc, 4), fb.Vector(0, 2));
                    Mma(w, _element, c.Tile((2 * dp) + 1), a.Vector(4 * kc, 4), fb.Vector(2, 2));
                }
            }
        }
    }

    /// <summary>
    /// C (16 × c.Width, fp32) = A·B over <paramref name="depth"/>, both operands read with ldmatrix.trans: A stored transposed
    /// (a tile whose rows are A's k index and whose columns are A's rows — dSᵀ, to multiply dS; this lane's address
    /// <paramref name="aT"/>, pattern <see cref="LaneRowsByHi"/>, already at the warp's first A row), B a row-major tile of
    /// <paramref name="depth"/> rows (address <paramref name="b"/>, pattern <see cref="LaneRowsByMid"/>).
    /// </summary>
    public void ProductTransposedAB(PtxWriter w, AccumulatorFragment c, Reg aT, int aPitch, Reg b, int bPitch, int depth)
    {
        w.Comment(System.FormattableString.Invariant($"{depth / K} k steps x {c.Width / 8} column tiles of mma.m16n8k{K} (A and B via ldmatrix.trans)"));
        c.Fill(w, Zero);
        for (int kc = 0; kc < depth / K; kc++)
        {
            using (w.Scope())
            {
                var fa = w.DeclareArray(RegKind.B32, "a", 4);
                var fb = w.DeclareArray(RegKind.B32, "b", 4);
                Copies.Ldmatrix4(w, fa.Vector(0, 4), aT, kc * K * aPitch, transpose: true);
                for (int np = 0; np < c.Width / 16; np++)
                {
                    Copies.Ldmatrix4(w, fb.Vector(0, 4), b, (kc * K * bPitch) + (np * 16 * _element.Bytes), transpose: true);
                    Mma(w, _element, c.Tile(2 * np), fa.Vector(0, 4), fb.Vector(0, 2));
                    Mma(w, _element, c.Tile((2 * np) + 1), fa.Vector(0, 4), fb.Vector(2, 2));
                }
            }
        }
    }

    /// <summary>D = A·B + D on the tensor cores, fp32 accumulate (the one spelling of the sm_80 mma).</summary>
    public static void Mma(PtxWriter w, ElementTraits element, string d, string a, string b) =>
        w.Ins("mma.sync.aligned.m16n8k" + I(element.MmaK) + ".row.col.f32." + element.Ptx + "." + element.Ptx + ".f32 " + d + ", " + a + ", " + b + ", " + d);
}
