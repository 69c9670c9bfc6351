namespace KernelDsl.Cpu;

/// <summary>Brings input tiles into the worker's fp32 scratch.</summary>
public static unsafe class TileLoad
{
    /// <summary>
    /// Qᵀ[d][i] = scale · Q[i][d] for i &lt; <paramref name="rows"/>, and 0 for the padding columns
    /// i in [rows, width). Done once per query block, so a scalar transpose costs nothing that matters.
    /// </summary>
    public static void TransposeScaled<TOps, TV, T>(T* q, nint ldq, int rows, int depth, float* qT, nint ldt, int width, float scale, float* rowBuffer)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where T : unmanaged
    {
        for (int i = 0; i < rows; i++)
        {
            ElementRow.Widen<TOps, TV, T>(q + (i * ldq), rowBuffer, depth);
            for (int d = 0; d < depth; d++)
            {
                qT[(d * ldt) + i] = rowBuffer[d] * scale;
            }
        }

        for (int d = 0; d < depth; d++)
        {
            for (int i = rows; i < width; i++)
            {
                qT[(d * ldt) + i] = 0f;
            }
        }
    }

    /// <summary>
    /// dst[r][0..cols) = (float)src[r][0..cols) for <paramref name="rows"/> rows, and zeros in the padding
    /// columns [cols, paddedCols) so whole vectors can be read.
    /// </summary>
    public static void Widen<TOps, TV, T>(T* source, nint sourceStride, int rows, int cols, float* destination, nint ldd, int paddedCols)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where T : unmanaged
    {
        for (int r = 0; r < rows; r++)
        {
            float* row = destination + (r * ldd);
            ElementRow.Widen<TOps, TV, T>(source + (r * sourceStride), row, cols);
            for (int c = cols; c < paddedCols; c++)
            {
                row[c] = 0f;
            }
        }
    }

    /// <summary>
    /// True when any of the first <paramref name="vectors"/> vectors of the <paramref name="rows"/> rows holds a NaN or ±∞
    /// (x·0 is 0 for every finite x and NaN otherwise; one multiply-add per vector, no branch until the end).
    /// </summary>
    public static bool AnyNonFinite<TOps, TV>(float* source, nint stride, int rows, int vectors)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        int lanes = TOps.Lanes;
        TV zero = TOps.Zero, sum = TOps.Zero;
        for (int r = 0; r < rows; r++)
        {
            float* row = source + (r * stride);
            for (int c = 0; c < vectors; c++)
            {
                sum = TOps.MultiplyAdd(TOps.Load(row + (c * lanes)), zero, sum);
            }
        }

        float* lanesOut = stackalloc float[lanes];
        TOps.Store(lanesOut, sum);
        for (int i = 0; i < lanes; i++)
        {
            if (lanesOut[i] != 0f)
            {
                return true;
            }
        }

        return false;
    }
}
