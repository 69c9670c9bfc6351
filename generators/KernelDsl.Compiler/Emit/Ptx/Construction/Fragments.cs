using System.Collections.Generic;
using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// One thread's share of a 16-row × <see cref="Width"/>-column fp32 accumulator in the mma.sync C-fragment layout:
/// lane (g = lane/4, t4 = lane%4) holds, for each 8-column tile nt, the elements (row g, columns 8nt+2t4, +1) and
/// (row g+8, the same columns) in registers 4nt, 4nt+1, 4nt+2, 4nt+3. A wgmma m64nN accumulator gives each thread of a
/// warpgroup exactly this layout for its warp's 16 rows, so both matmul families share this type. The index arithmetic
/// (4·nt + 2·r + e) lives here and nowhere else.
/// </summary>
internal sealed class AccumulatorFragment
{
    public AccumulatorFragment(RegArray registers)
    {
        Registers = registers;
        Width = 2 * registers.Count;
    }

    /// <summary>Columns of the 16-row tile (the registers hold Width/2 values per thread).</summary>
    public int Width { get; }

    public RegArray Registers { get; }

    /// <summary>8-column tiles.</summary>
    public int Tiles => Width / 8;

    /// <summary>Element e (0, 1) of row r (0: g, 1: g+8) in 8-column tile nt.</summary>
    public Reg this[int nt, int r, int e] => Registers[(4 * nt) + (2 * r) + e];

    /// <summary>The C operand of one m16n8 mma: tile nt's four registers.</summary>
    public string Tile(int nt) => Registers.Vector(4 * nt, 4);

    /// <summary>Every register as one operand (a wgmma m64nWidth accumulator).</summary>
    public string All => Registers.All;

    /// <summary>The registers of row r (0: g, 1: g+8) in column order.</summary>
    public Reg[] Row(int r)
    {
        var row = new Reg[Width / 4];
        for (int nt = 0; nt < Tiles; nt++)
        {
            row[2 * nt] = this[nt, r, 0];
            row[(2 * nt) + 1] = this[nt, r, 1];
        }

        return row;
    }

    /// <summary>Every element: row r (0: g, 1: g+8), its register, and its column minus 2·t4 (8·nt + e), tile by tile.</summary>
    public IEnumerable<(int Row, Reg Register, int Column)> Elements()
    {
        for (int nt = 0; nt < Tiles; nt++)
        {
            for (int r = 0; r < 2; r++)
            {
                for (int e = 0; e < 2; e++)
                {
                    yield return (r, this[nt, r, e], (8 * nt) + e);
                }
            }
        }
    }

    /// <summary>Sets every element to <paramref name="value"/> (a PTX f32 literal).</summary>
    public void Fill(PtxWriter w, string value)
    {
        for (int i = 0; i < Registers.Count; i++)
        {
            w.Ins("mov.f32 " + Registers[i] + ", " + value);
        }
    }

    /// <summary>
    /// Converts the accumulator to mma A fragments of <paramref name="type"/>: the C layout of two adjacent 8-column
    /// tiles is exactly the A layout of one 16-deep k step (a0/a1 from tile 2k, a2/a3 from tile 2k+1), so no data moves
    /// between lanes. <paramref name="a"/> receives 4 registers per k step.
    /// </summary>
    public void ConvertToA(PtxWriter w, ElementTraits type, RegArray a)
    {
        for (int kc = 0; kc < Width / 16; kc++)
        {
            w.Ins(type.PackPair(a[(4 * kc) + 0], this[2 * kc, 0, 1], this[2 * kc, 0, 0]));
            w.Ins(type.PackPair(a[(4 * kc) + 1], this[2 * kc, 1, 1], this[2 * kc, 1, 0]));
            w.Ins(type.PackPair(a[(4 * kc) + 2], this[(2 * kc) + 1, 0, 1], this[(2 * kc) + 1, 0, 0]));
            w.Ins(type.PackPair(a[(4 * kc) + 3], this[(2 * kc) + 1, 1, 1], this[(2 * kc) + 1, 1, 0]));
        }
    }
}

/// <summary>The fp32 combinations a row statistic uses: the running max, the sum of probabilities.</summary>
internal enum RowOp
{
    Max,
    Sum,
}

/// <summary>
/// Row statistics of a C-fragment row: the four lanes of a quad (same g) hold one row between them, so a reduction
/// over a row is a reduction over the thread's registers, then two butterfly shuffles across the quad.
/// </summary>
internal static class RowReductions
{
    /// <summary>acc = op over the registers (in order: op(r0, r1), then op(acc, r2), ...).</summary>
    public static void Reduce(PtxWriter w, RowOp op, Reg acc, IReadOnlyList<Reg> registers)
    {
        Combine(w, op, acc, registers[0], registers[1]);
        for (int i = 2; i < registers.Count; i++)
        {
            Combine(w, op, acc, acc, registers[i]);
        }
    }

    /// <summary>acc = op(acc, the same register of the quad's other lanes): two butterfly shuffles (lane xor 1, xor 2).</summary>
    public static void AcrossQuad(PtxWriter w, RowOp op, Reg acc, Reg scratch)
    {
        foreach (int lanes in new[] { 1, 2 })
        {
            w.Ins("shfl.sync.bfly.b32 " + scratch + ", " + acc + ", " + I(lanes) + ", 31, 0xffffffff");
            Combine(w, op, acc, acc, scratch);
        }
    }

    private static void Combine(PtxWriter w, RowOp op, Reg d, Reg a, Reg b)
    {
        if (op == RowOp.Max)
        {
            w.Max(PtxType.F32, d, a, b);
        }
        else
        {
            w.Add(PtxType.F32, d, a, b);
        }
    }
}
