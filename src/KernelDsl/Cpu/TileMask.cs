namespace KernelDsl.Cpu;

/// <summary>
/// The element mask of a boundary tile. A band mask keeps, for each key, one contiguous range of queries,
/// so masking a row of Sᵀ is two fills with −∞. Only tiles that straddle the band's edge call this
/// (<see cref="MaskBand.KeepsWholeTile"/> decides), so it is written for clarity, not speed.
/// </summary>
public static unsafe class TileMask
{
    /// <summary>Sets row[c] = −∞ for every c in [0, width) outside [first, end) (the range may stick out of the row).</summary>
    public static void KeepColumns(float* row, int first, int end, int width)
    {
        int low = first < 0 ? 0 : first > width ? width : first;
        int high = end > width ? width : end < low ? low : end;
        for (int c = 0; c < low; c++)
        {
            row[c] = float.NegativeInfinity;
        }

        for (int c = high; c < width; c++)
        {
            row[c] = float.NegativeInfinity;
        }
    }
}
