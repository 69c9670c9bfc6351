namespace KernelDsl.Compiler.Emit.Ptx.Construction;

/// <summary>
/// The mask band with its bounds known only at run time (kernel parameters, −1 = unbounded): key kv is kept for query
/// row q when (Left &lt; 0 || kv ≥ d − Left) &amp;&amp; (Right &lt; 0 || kv ≤ d + Right), d = q + Offset — what
/// <c>KernelDsl.MaskBand.Keeps</c> computes on the CPU. The block-mask builder tests every element with it. The
/// forward kernel does not: it knows the band at compile time and specialises it into block ranges and per-row bounds
/// (<c>ForwardKernel.Band.cs</c>), a different computation with no runtime "unbounded" flags.
/// </summary>
internal sealed class RuntimeBand
{
    /// <param name="offset">The diagonal offset (b32: Skv − Sq for bottom-right alignment, else 0).</param>
    /// <param name="left">Keys kept left of the diagonal (s32, −1 = unbounded).</param>
    /// <param name="right">Keys kept right of the diagonal (s32, −1 = unbounded).</param>
    /// <param name="leftOpen">Predicate: Left is unbounded (set by <see cref="DecodeUnbounded"/>).</param>
    /// <param name="rightOpen">Predicate: Right is unbounded.</param>
    public RuntimeBand(Reg offset, Reg left, Reg right, Reg leftOpen, Reg rightOpen)
    {
        Offset = offset;
        Left = left;
        Right = right;
        LeftOpen = leftOpen;
        RightOpen = rightOpen;
    }

    public Reg Offset { get; }

    public Reg Left { get; }

    public Reg Right { get; }

    public Reg LeftOpen { get; }

    public Reg RightOpen { get; }

    /// <summary>Sets the "unbounded" predicates from the bounds' sign, once per thread.</summary>
    public void DecodeUnbounded(PtxWriter w)
    {
        w.Comment("band: keep kv when (Left < 0 || kv >= d - Left) && (Right < 0 || kv <= d + Right), d = q + offset (KernelDsl.MaskBand.Keeps)");
        w.Setp(Cmp.Lt, PtxType.S32, LeftOpen, Left, 0);
        w.Setp(Cmp.Lt, PtxType.S32, RightOpen, Right, 0);
    }

    /// <summary>
    /// keep = whether the band keeps key <paramref name="kv"/> for row <paramref name="row"/>. <paramref name="d"/>,
    /// <paramref name="lo"/>, <paramref name="hi"/> (b32) and the predicate <paramref name="scratch"/> are overwritten.
    /// </summary>
    public void Keeps(PtxWriter w, Reg keep, Reg row, Reg kv, Reg d, Reg lo, Reg hi, Reg scratch)
    {
        w.Add(PtxType.S32, d, row, Offset);
        w.Sub(PtxType.S32, lo, d, Left);
        w.Setp(Cmp.Ge, PtxType.S32, keep, kv, lo);
        w.Or(PtxType.Pred, keep, keep, LeftOpen);
        w.Add(PtxType.S32, hi, d, Right);
        w.Setp(Cmp.Le, PtxType.S32, scratch, kv, hi);
        w.Or(PtxType.Pred, scratch, scratch, RightOpen);
        w.And(PtxType.Pred, keep, keep, scratch);
    }
}
