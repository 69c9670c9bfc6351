using KernelDsl.Compiler.Model;

namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// A tensor's rows in global memory as one (batch, head) sees them: a base byte address and the byte stride between
/// sequence rows. <see cref="RowAddress"/> is the one place a row becomes an address — the hook where a paged KV cache
/// will look the row's page up in a block table (a subclass) instead of multiplying by the stride.
/// </summary>
internal class GlobalTile
{
    public GlobalTile(Reg baseAddress, Reg rowStrideBytes, ElementTraits element)
    {
        Base = baseAddress;
        RowStride = rowStrideBytes;
        Element = element;
    }

    public Reg Base { get; }

    public Reg RowStride { get; }

    public ElementTraits Element { get; }

    /// <summary>address = byte address of sequence row <paramref name="row"/> (a b32 register).</summary>
    public void RowAddress(PtxWriter w, Reg address, Reg row) => RowAddress(w, address, row, address);

    /// <summary>As <see cref="RowAddress(PtxWriter, Reg, Reg)"/>, widening the row into <paramref name="wideRow"/> (a b64 scratch register) first.</summary>
    public virtual void RowAddress(PtxWriter w, Reg address, Reg row, Reg wideRow)
    {
        w.Ins("cvt.u64.u32 " + wideRow + ", " + row);
        w.Ins("mad.lo.u64 " + address + ", " + wideRow + ", " + RowStride + ", " + Base);
    }
}
