namespace KernelDsl.Cpu;

/// <summary>
/// The accumulating tile product of the CPU backward, C += A·B, on the forward's <see cref="MicroKernel"/> (6 rows ×
/// 4 vectors of C in registers). A is read as scalars at a + r·aRow + k·aStep, so one routine serves all three
/// products: dV += Pᵀ·dO and dK += dSᵀ·Q (A row-major: aRow = ld, aStep = 1), and dQ += dS·K (A = dSᵀ read
/// transposed: aRow = 1, aStep = ld). B and C rows are padded to whole vectors.
/// </summary>
public static unsafe class BackwardGemm
{
    /// <summary>Six ones: the micro-kernel's per-row rescale, here the identity.</summary>
    private static readonly float[] Ones = { 1f, 1f, 1f, 1f, 1f, 1f };

    public static void Accumulate<TOps, TV>(float* a, nint aRow, nint aStep, int rows, int depth, float* b, nint ldb, int vectors, float* c, nint ldc)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        if (depth == 0)
        {
            return;
        }

        int lanes = TOps.Lanes;
        fixed (float* ones = Ones)
        {
            for (int r = 0; r < rows; r += MicroKernel.MaxRows)
            {
                int tileRows = System.Math.Min(MicroKernel.MaxRows, rows - r);
                for (int v = 0; v < vectors; v += MicroKernel.MaxVectors)
                {
                    int tileVectors = System.Math.Min(MicroKernel.MaxVectors, vectors - v);
                    Rows<TOps, TV>(tileRows, tileVectors, a + (r * aRow), aRow, aStep, b + (v * lanes), ldb, depth, c + (r * ldc) + (v * lanes), ldc, ones);
                }
            }
        }
    }

    private static void Rows<TOps, TV>(int rows, int vectors, float* a, nint aRow, nint aStep, float* b, nint ldb, int depth, float* c, nint ldc, float* ones)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        switch (rows)
        {
            case 6: Columns<TOps, TV, Const6>(vectors, a, aRow, aStep, b, ldb, depth, c, ldc, ones); break;
            case 5: Columns<TOps, TV, Const5>(vectors, a, aRow, aStep, b, ldb, depth, c, ldc, ones); break;
            case 4: Columns<TOps, TV, Const4>(vectors, a, aRow, aStep, b, ldb, depth, c, ldc, ones); break;
            case 3: Columns<TOps, TV, Const3>(vectors, a, aRow, aStep, b, ldb, depth, c, ldc, ones); break;
            case 2: Columns<TOps, TV, Const2>(vectors, a, aRow, aStep, b, ldb, depth, c, ldc, ones); break;
            default: Columns<TOps, TV, Const1>(vectors, a, aRow, aStep, b, ldb, depth, c, ldc, ones); break;
        }
    }

    private static void Columns<TOps, TV, TRows>(int vectors, float* a, nint aRow, nint aStep, float* b, nint ldb, int depth, float* c, nint ldc, float* ones)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where TRows : struct, IConstant
    {
        switch (vectors)
        {
            case 4: MicroKernel.ScaleAccumulate<TOps, TV, TRows, Const4>(a, aRow, aStep, b, ldb, depth, c, ldc, ones); break;
            case 3: MicroKernel.ScaleAccumulate<TOps, TV, TRows, Const3>(a, aRow, aStep, b, ldb, depth, c, ldc, ones); break;
            case 2: MicroKernel.ScaleAccumulate<TOps, TV, TRows, Const2>(a, aRow, aStep, b, ldb, depth, c, ldc, ones); break;
            default: MicroKernel.ScaleAccumulate<TOps, TV, TRows, Const1>(a, aRow, aStep, b, ldb, depth, c, ldc, ones); break;
        }
    }
}
