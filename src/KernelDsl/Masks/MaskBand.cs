namespace KernelDsl;

/// <summary>
/// A built-in mask as a band around the aligned diagonal: key j is kept for query i when
/// d − Left ≤ j ≤ d + Right, with d = i + Offset (Offset = 0 top-left, Skv − Sq bottom-right).
/// Left/Right of -1 mean unbounded. Causal is (-1, 0); no mask is (-1, -1).
/// The CPU kernel, the plan's FLOP count and the float64 reference all ask this one type, so they agree.
/// </summary>
public readonly record struct MaskBand(int Left, int Right, int Offset)
{
    public static MaskBand None => new(-1, -1, 0);

    /// <summary>The band for a spec's mask on a given shape.</summary>
    public static MaskBand For(MaskKind kind, MaskAlignment alignment, int left, int right, int seqQ, int seqKv)
    {
        int offset = alignment == MaskAlignment.BottomRight ? seqKv - seqQ : 0;
        return kind switch
        {
            MaskKind.Causal => new MaskBand(-1, 0, offset),
            MaskKind.SlidingWindow => new MaskBand(left, right, offset),
            _ => None,
        };
    }

    public bool IsUnmasked => Left < 0 && Right < 0;

    /// <summary>Whether query i keeps key j.</summary>
    public bool Keeps(int i, int j)
    {
        long diagonal = (long)i + Offset;
        return (Left < 0 || j >= diagonal - Left) && (Right < 0 || j <= diagonal + Right);
    }

    /// <summary>
    /// Keys kept by query rows [qStart, qEnd) within [0, seqKv): the half-open range [first, end) that
    /// covers every kept key of any of those rows (empty when first ≥ end).
    /// </summary>
    public (int First, int End) KeyRange(int qStart, int qEnd, int seqKv)
    {
        long first = Left < 0 ? 0 : (long)qStart + Offset - Left;
        long end = Right < 0 ? seqKv : (long)(qEnd - 1) + Offset + Right + 1;
        first = first < 0 ? 0 : first;
        end = end > seqKv ? seqKv : end;
        return ((int)first, (int)(end < first ? first : end));
    }

    /// <summary>
    /// True when every (i, j) with i in [qStart, qEnd) and j in [kStart, kEnd) is kept, so the tile needs no
    /// element mask.
    /// </summary>
    public bool KeepsWholeTile(int qStart, int qEnd, int kStart, int kEnd)
    {
        // The tightest constraints come from the corners: the lowest diagonal bounds j from above,
        // the highest diagonal bounds j from below.
        long lowDiagonal = (long)qStart + Offset;
        long highDiagonal = (long)(qEnd - 1) + Offset;
        bool rightOk = Right < 0 || kEnd - 1 <= lowDiagonal + Right;
        bool leftOk = Left < 0 || kStart >= highDiagonal - Left;
        return rightOk && leftOk;
    }
}
