using KernelDsl.Compiler.Model;
using static KernelDsl.Compiler.Emit.Ptx.PtxLiteral;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// How a row-major tile (one row per query or key, the head dim contiguous) is laid out in shared memory: where
/// 16-byte chunk lc of tile row r lives. The copy primitives write through this, and the matmul family that reads the
/// tile chose it (padded rows for ldmatrix, the 128-byte swizzle for wgmma descriptors).
/// </summary>
internal abstract class SharedTile
{
    /// <summary>sa = tile + byte offset of chunk <paramref name="chunk"/> of row <paramref name="row"/>.</summary>
    public abstract void ChunkAddress(PtxWriter w, Reg sa, Reg row, Reg chunk, Reg tile);
}

/// <summary>Rows <see cref="PitchBytes"/> apart (the row's bytes plus padding, so an ldmatrix phase's eight rows hit eight different bank groups).</summary>
internal sealed class PaddedTile : SharedTile
{
    public PaddedTile(int pitchBytes) => PitchBytes = pitchBytes;

    public int PitchBytes { get; }

    public override void ChunkAddress(PtxWriter w, Reg sa, Reg row, Reg chunk, Reg tile)
    {
        w.Ins("mad.lo.u32 " + sa + ", " + row + ", " + I(PitchBytes) + ", " + tile);
        w.Ins("mad.lo.u32 " + sa + ", " + chunk + ", " + I(ElementTraits.CopyBytes) + ", " + sa);
    }
}

/// <summary>
/// The 128-byte swizzle wgmma descriptors read: the tile is stored as 64-column blocks of 128 bytes per row (block b at
/// b·Rows·128), row r at 128·r, and 16-byte chunk c of a row at (c XOR (r mod 8))·16 — the address bits 4–6 XOR bits 7–9
/// that the swizzle mode undoes when the tensor cores read. Tiles start on 1024-byte boundaries (one swizzle atom).
/// </summary>
internal sealed class Swizzled128Tile : SharedTile
{
    /// <summary>Bytes of one row of a column block: the swizzle's width.</summary>
    public const int RowBytes = 128;

    /// <summary>Descriptor bits 62–63 = 1: 128-byte swizzle (in the high word: bit 30).</summary>
    private const int Swizzle128HighBits = 1 << 30;

    public Swizzled128Tile(int rows) => Rows = rows;

    public int Rows { get; }

    public override void ChunkAddress(PtxWriter w, Reg sa, Reg row, Reg chunk, Reg tile)
    {
        using (w.Scope())
        {
            var r = w.Declare(RegKind.B32, "blk", "chunk", "r8");
            var (blk, swizzled, r8) = (r[0], r[1], r[2]);
            w.Ins("shr.u32 " + blk + ", " + chunk + ", 3");
            w.Ins("and.b32 " + swizzled + ", " + chunk + ", 7");
            w.Ins("and.b32 " + r8 + ", " + row + ", 7");
            w.Ins("xor.b32 " + swizzled + ", " + swizzled + ", " + r8);
            w.Ins("mul.lo.u32 " + sa + ", " + blk + ", " + I(Rows * RowBytes));
            w.Ins("mad.lo.u32 " + sa + ", " + row + ", " + I(RowBytes) + ", " + sa);
            w.Ins("mad.lo.u32 " + sa + ", " + swizzled + ", " + I(ElementTraits.CopyBytes) + ", " + sa);
        }

        w.Ins("add.u32 " + sa + ", " + sa + ", " + tile);
    }

    /// <summary>
    /// A wgmma matrix descriptor of the swizzled tile at <paramref name="address"/>: {lo: (address &amp; 0x3FFFF) >> 4 |
    /// (leading >> 4) &lt;&lt; 16, hi: stride >> 4 | swizzle 128B}; <paramref name="lo"/>/<paramref name="hi"/> are scratch.
    /// </summary>
    public static void Descriptor(PtxWriter w, Reg desc, Reg address, int leadingBytes, int strideBytes, Reg lo, Reg hi)
    {
        w.Ins("and.b32 " + lo + ", " + address + ", 262143");
        w.Ins("shr.u32 " + lo + ", " + lo + ", 4");
        w.Ins("or.b32 " + lo + ", " + lo + ", " + I((leadingBytes >> 4) << 16));
        w.Ins("mov.u32 " + hi + ", " + I((strideBytes >> 4) | Swizzle128HighBits));
        w.Ins("mov.b64 " + desc + ", {" + lo + ", " + hi + "}");
    }
}
