using System.Runtime.CompilerServices;

namespace KernelDsl.Cpu;

/// <summary>
/// The register-blocked GEMM micro-kernel both products of the CPU kernel run on: a tile of TRows rows ×
/// TCols vectors of C held in registers (up to 6 × 4 = 24 accumulators, which with AVX-512's 32 registers
/// leaves room for the 4 B vectors and one broadcast), updated once per step k by broadcast-FMA:
/// C[r][v] += A[r][k] · B[k][v]. A is read as scalars at a + r·aRow + k·aStep (so it may be row-major or
/// transposed); B as vectors at b + k·ldb + v·Lanes. Row and column counts are type arguments, so each
/// shape compiles to straight-line code with no dead accumulators.
/// </summary>
public static unsafe class MicroKernel
{
    /// <summary>The largest tile: rows of A per call.</summary>
    public const int MaxRows = 6;

    /// <summary>The largest tile: vectors of B per call.</summary>
    public const int MaxVectors = 4;

    /// <summary>C = A·B over <paramref name="depth"/> steps (C is overwritten).</summary>
    public static void Product<TOps, TV, TRows, TCols>(float* a, nint aRow, nint aStep, float* b, nint ldb, int depth, float* c, nint ldc)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where TRows : struct, IConstant
        where TCols : struct, IConstant =>
        Core<TOps, TV, TRows, TCols>(a, aRow, aStep, b, ldb, depth, c, ldc, null, accumulate: false);

    /// <summary>C = diag(alpha)·C + A·B: the online-softmax rescale of O folded into the load of the accumulators.</summary>
    public static void ScaleAccumulate<TOps, TV, TRows, TCols>(float* a, nint aRow, nint aStep, float* b, nint ldb, int depth, float* c, nint ldc, float* alpha)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where TRows : struct, IConstant
        where TCols : struct, IConstant =>
        Core<TOps, TV, TRows, TCols>(a, aRow, aStep, b, ldb, depth, c, ldc, alpha, accumulate: true);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Core<TOps, TV, TRows, TCols>(float* a, nint aRow, nint aStep, float* b, nint ldb, int depth, float* c, nint ldc, float* alpha, bool accumulate)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where TRows : struct, IConstant
        where TCols : struct, IConstant
    {
        int rows = TRows.Value, cols = TCols.Value, lanes = TOps.Lanes;
        TV c00 = TOps.Zero, c01 = TOps.Zero, c02 = TOps.Zero, c03 = TOps.Zero, c10 = TOps.Zero, c11 = TOps.Zero, c12 = TOps.Zero, c13 = TOps.Zero, c20 = TOps.Zero, c21 = TOps.Zero, c22 = TOps.Zero, c23 = TOps.Zero;
        TV c30 = TOps.Zero, c31 = TOps.Zero, c32 = TOps.Zero, c33 = TOps.Zero, c40 = TOps.Zero, c41 = TOps.Zero, c42 = TOps.Zero, c43 = TOps.Zero, c50 = TOps.Zero, c51 = TOps.Zero, c52 = TOps.Zero, c53 = TOps.Zero;
        nint a1 = 1 * aRow, a2 = 2 * aRow, a3 = 3 * aRow, a4 = 4 * aRow, a5 = 5 * aRow;
        if (accumulate)
        {
            // Rescale the running output rows by alpha while loading them into registers.
            if (rows > 0)
            {
                TV s = TOps.Broadcast(alpha[0]);
                float* row = c + (0 * ldc);
                c00 = TOps.Multiply(TOps.Load(row), s);
                if (cols > 1) c01 = TOps.Multiply(TOps.Load(row + (1 * lanes)), s);
                if (cols > 2) c02 = TOps.Multiply(TOps.Load(row + (2 * lanes)), s);
                if (cols > 3) c03 = TOps.Multiply(TOps.Load(row + (3 * lanes)), s);
            }

            if (rows > 1)
            {
                TV s = TOps.Broadcast(alpha[1]);
                float* row = c + (1 * ldc);
                c10 = TOps.Multiply(TOps.Load(row), s);
                if (cols > 1) c11 = TOps.Multiply(TOps.Load(row + (1 * lanes)), s);
                if (cols > 2) c12 = TOps.Multiply(TOps.Load(row + (2 * lanes)), s);
                if (cols > 3) c13 = TOps.Multiply(TOps.Load(row + (3 * lanes)), s);
            }

            if (rows > 2)
            {
                TV s = TOps.Broadcast(alpha[2]);
                float* row = c + (2 * ldc);
                c20 = TOps.Multiply(TOps.Load(row), s);
                if (cols > 1) c21 = TOps.Multiply(TOps.Load(row + (1 * lanes)), s);
                if (cols > 2) c22 = TOps.Multiply(TOps.Load(row + (2 * lanes)), s);
                if (cols > 3) c23 = TOps.Multiply(TOps.Load(row + (3 * lanes)), s);
            }

            if (rows > 3)
            {
                TV s = TOps.Broadcast(alpha[3]);
                float* row = c + (3 * ldc);
                c30 = TOps.Multiply(TOps.Load(row), s);
                if (cols > 1) c31 = TOps.Multiply(TOps.Load(row + (1 * lanes)), s);
                if (cols > 2) c32 = TOps.Multiply(TOps.Load(row + (2 * lanes)), s);
                if (cols > 3) c33 = TOps.Multiply(TOps.Load(row + (3 * lanes)), s);
            }

            if (rows > 4)
            {
                TV s = TOps.Broadcast(alpha[4]);
                float* row = c + (4 * ldc);
                c40 = TOps.Multiply(TOps.Load(row), s);
                if (cols > 1) c41 = TOps.Multiply(TOps.Load(row + (1 * lanes)), s);
                if (cols > 2) c42 = TOps.Multiply(TOps.Load(row + (2 * lanes)), s);
                if (cols > 3) c43 = TOps.Multiply(TOps.Load(row + (3 * lanes)), s);
            }

            if (rows > 5)
            {
                TV s = TOps.Broadcast(alpha[5]);
                float* row = c + (5 * ldc);
                c50 = TOps.Multiply(TOps.Load(row), s);
                if (cols > 1) c51 = TOps.Multiply(TOps.Load(row + (1 * lanes)), s);
                if (cols > 2) c52 = TOps.Multiply(TOps.Load(row + (2 * lanes)), s);
                if (cols > 3) c53 = TOps.Multiply(TOps.Load(row + (3 * lanes)), s);
            }
        }

        float* pa = a, pb = b;
        for (int k = 0; k < depth; k++, pa += aStep, pb += ldb)
        {
            TV b0 = TOps.Load(pb);
            TV b1 = cols > 1 ? TOps.Load(pb + (1 * lanes)) : TOps.Zero;
            TV b2 = cols > 2 ? TOps.Load(pb + (2 * lanes)) : TOps.Zero;
            TV b3 = cols > 3 ? TOps.Load(pb + (3 * lanes)) : TOps.Zero;
            TV x0 = TOps.Broadcast(*pa);
            c00 = TOps.MultiplyAdd(x0, b0, c00);
            if (cols > 1) c01 = TOps.MultiplyAdd(x0, b1, c01);
            if (cols > 2) c02 = TOps.MultiplyAdd(x0, b2, c02);
            if (cols > 3) c03 = TOps.MultiplyAdd(x0, b3, c03);

            if (rows > 1)
            {
                TV x1 = TOps.Broadcast(pa[a1]);
                c10 = TOps.MultiplyAdd(x1, b0, c10);
                if (cols > 1) c11 = TOps.MultiplyAdd(x1, b1, c11);
                if (cols > 2) c12 = TOps.MultiplyAdd(x1, b2, c12);
                if (cols > 3) c13 = TOps.MultiplyAdd(x1, b3, c13);
            }

            if (rows > 2)
            {
                TV x2 = TOps.Broadcast(pa[a2]);
                c20 = TOps.MultiplyAdd(x2, b0, c20);
                if (cols > 1) c21 = TOps.MultiplyAdd(x2, b1, c21);
                if (cols > 2) c22 = TOps.MultiplyAdd(x2, b2, c22);
                if (cols > 3) c23 = TOps.MultiplyAdd(x2, b3, c23);
            }

            if (rows > 3)
            {
                TV x3 = TOps.Broadcast(pa[a3]);
                c30 = TOps.MultiplyAdd(x3, b0, c30);
                if (cols > 1) c31 = TOps.MultiplyAdd(x3, b1, c31);
                if (cols > 2) c32 = TOps.MultiplyAdd(x3, b2, c32);
                if (cols > 3) c33 = TOps.MultiplyAdd(x3, b3, c33);
            }

            if (rows > 4)
            {
                TV x4 = TOps.Broadcast(pa[a4]);
                c40 = TOps.MultiplyAdd(x4, b0, c40);
                if (cols > 1) c41 = TOps.MultiplyAdd(x4, b1, c41);
                if (cols > 2) c42 = TOps.MultiplyAdd(x4, b2, c42);
                if (cols > 3) c43 = TOps.MultiplyAdd(x4, b3, c43);
            }

            if (rows > 5)
            {
                TV x5 = TOps.Broadcast(pa[a5]);
                c50 = TOps.MultiplyAdd(x5, b0, c50);
                if (cols > 1) c51 = TOps.MultiplyAdd(x5, b1, c51);
                if (cols > 2) c52 = TOps.MultiplyAdd(x5, b2, c52);
                if (cols > 3) c53 = TOps.MultiplyAdd(x5, b3, c53);
            }
        }

        float* out0 = c + (0 * ldc);
        TOps.Store(out0, c00);
        if (cols > 1) TOps.Store(out0 + (1 * lanes), c01);
        if (cols > 2) TOps.Store(out0 + (2 * lanes), c02);
        if (cols > 3) TOps.Store(out0 + (3 * lanes), c03);

        if (rows > 1)
        {
            float* out1 = c + (1 * ldc);
            TOps.Store(out1, c10);
            if (cols > 1) TOps.Store(out1 + (1 * lanes), c11);
            if (cols > 2) TOps.Store(out1 + (2 * lanes), c12);
            if (cols > 3) TOps.Store(out1 + (3 * lanes), c13);
        }

        if (rows > 2)
        {
            float* out2 = c + (2 * ldc);
            TOps.Store(out2, c20);
            if (cols > 1) TOps.Store(out2 + (1 * lanes), c21);
            if (cols > 2) TOps.Store(out2 + (2 * lanes), c22);
            if (cols > 3) TOps.Store(out2 + (3 * lanes), c23);
        }

        if (rows > 3)
        {
            float* out3 = c + (3 * ldc);
            TOps.Store(out3, c30);
            if (cols > 1) TOps.Store(out3 + (1 * lanes), c31);
            if (cols > 2) TOps.Store(out3 + (2 * lanes), c32);
            if (cols > 3) TOps.Store(out3 + (3 * lanes), c33);
        }

        if (rows > 4)
        {
            float* out4 = c + (4 * ldc);
            TOps.Store(out4, c40);
            if (cols > 1) TOps.Store(out4 + (1 * lanes), c41);
            if (cols > 2) TOps.Store(out4 + (2 * lanes), c42);
            if (cols > 3) TOps.Store(out4 + (3 * lanes), c43);
        }

        if (rows > 5)
        {
            float* out5 = c + (5 * ldc);
            TOps.Store(out5, c50);
            if (cols > 1) TOps.Store(out5 + (1 * lanes), c51);
            if (cols > 2) TOps.Store(out5 + (2 * lanes), c52);
            if (cols > 3) TOps.Store(out5 + (3 * lanes), c53);
        }
    }
}
