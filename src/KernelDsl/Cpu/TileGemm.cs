using System;
using System.Runtime.CompilerServices;

namespace KernelDsl.Cpu;

/// <summary>
/// The two tile products of the CPU kernel, cut into <see cref="MicroKernel"/> calls of at most 6 rows × 4
/// vectors (smaller tiles only at the edges).
/// Scores are computed transposed, Sᵀ = K·Qᵀ (keys as rows, queries as columns): K rows are then read as
/// they lie in memory (no per-block transpose — Q is transposed once per query block instead), and the
/// softmax statistics, which run over keys, become element-wise vector ops across queries.
/// </summary>
public static unsafe class TileGemm
{
    /// <summary>
    /// Sᵀ[j][i] = Σ_d K[j][d] · Qᵀ[d][i] for <paramref name="keys"/> rows of K (row stride <paramref name="ldk"/>)
    /// and <paramref name="queryVectors"/> vectors of query columns.
    /// </summary>
    public static void Scores<TOps, TV>(float* k, nint ldk, int keys, float* qT, nint ldq, int depth, int queryVectors, float* sT, nint lds)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        int lanes = TOps.Lanes;
        for (int j = 0; j < keys; j += MicroKernel.MaxRows)
        {
            int rows = Math.Min(MicroKernel.MaxRows, keys - j);
            for (int v = 0; v < queryVectors; v += MicroKernel.MaxVectors)
            {
                int cols = Math.Min(MicroKernel.MaxVectors, queryVectors - v);
                Dispatch<TOps, TV>(rows, cols, new Operands(k + (j * ldk), ldk, 1, qT + (v * lanes), ldq, depth, sT + (j * lds) + (v * lanes), lds, null));
            }
        }
    }

    /// <summary>
    /// O[i][c] = alpha[i] · O[i][c] + Σ_j Pᵀ[j][i] · V[j][c] for <paramref name="queries"/> rows of O, over
    /// <paramref name="keys"/> keys and <paramref name="valueVectors"/> vectors of V's columns.
    /// </summary>
    public static void Accumulate<TOps, TV>(float* pT, nint ldp, int keys, float* v, nint ldv, int valueVectors, float* o, nint ldo, float* alpha, int queries)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        int lanes = TOps.Lanes;
        for (int i = 0; i < queries; i += MicroKernel.MaxRows)
        {
            int rows = Math.Min(MicroKernel.MaxRows, queries - i);
            for (int c = 0; c < valueVectors; c += MicroKernel.MaxVectors)
            {
                int cols = Math.Min(MicroKernel.MaxVectors, valueVectors - c);
                Dispatch<TOps, TV>(rows, cols, new Operands(pT + i, 1, ldp, v + (c * lanes), ldv, keys, o + (i * ldo) + (c * lanes), ldo, alpha + i));
            }
        }
    }

    /// <summary>
    /// As <see cref="Accumulate{TOps, TV}"/>, but the terms whose weight P is exactly 0 (masked keys, exp2 of −∞) are
    /// skipped instead of multiplied: 0·NaN would be NaN, so a NaN or ±∞ in the V row of a key that a query does not keep
    /// would reach that query, unlike in the reference (which sums over kept keys only). Scalar over (query, key) pairs,
    /// vector over V's columns: only blocks whose V holds a non-finite value take it (<see cref="TileLoad.AnyNonFinite{TOps, TV}"/>).
    /// </summary>
    public static void AccumulateNonZero<TOps, TV>(float* pT, nint ldp, int keys, float* v, nint ldv, int valueVectors, float* o, nint ldo, float* alpha, int queries)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        int lanes = TOps.Lanes;
        for (int i = 0; i < queries; i++)
        {
            float* row = o + (i * ldo);
            TV rescale = TOps.Broadcast(alpha[i]);
            for (int c = 0; c < valueVectors; c++)
            {
                TOps.Store(row + (c * lanes), TOps.Multiply(TOps.Load(row + (c * lanes)), rescale));
            }

            for (int j = 0; j < keys; j++)
            {
                float p = pT[(j * ldp) + i];
                if (p == 0f)
                {
                    continue;
                }

                TV weight = TOps.Broadcast(p);
                float* value = v + (j * ldv);
                for (int c = 0; c < valueVectors; c++)
                {
                    TOps.Store(row + (c * lanes), TOps.MultiplyAdd(weight, TOps.Load(value + (c * lanes)), TOps.Load(row + (c * lanes))));
                }
            }
        }
    }

    /// <summary>One micro-kernel call's pointers and strides; Alpha non-null selects the rescale-accumulate form.</summary>
    private readonly struct Operands
    {
        public readonly float* A, B, C, Alpha;
        public readonly nint ARow, AStep, Ldb, Ldc;
        public readonly int Depth;

        public Operands(float* a, nint aRow, nint aStep, float* b, nint ldb, int depth, float* c, nint ldc, float* alpha)
        {
            A = a;
            ARow = aRow;
            AStep = aStep;
            B = b;
            Ldb = ldb;
            Depth = depth;
            C = c;
            Ldc = ldc;
            Alpha = alpha;
        }
    }

    private static void Dispatch<TOps, TV>(int rows, int cols, in Operands x)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
    {
        switch (rows)
        {
            case 6: Columns<TOps, TV, Const6>(cols, x); break;
            case 5: Columns<TOps, TV, Const5>(cols, x); break;
            case 4: Columns<TOps, TV, Const4>(cols, x); break;
            case 3: Columns<TOps, TV, Const3>(cols, x); break;
            case 2: Columns<TOps, TV, Const2>(cols, x); break;
            default: Columns<TOps, TV, Const1>(cols, x); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Columns<TOps, TV, TRows>(int cols, in Operands x)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where TRows : struct, IConstant
    {
        switch (cols)
        {
            case 4: Call<TOps, TV, TRows, Const4>(x); break;
            case 3: Call<TOps, TV, TRows, Const3>(x); break;
            case 2: Call<TOps, TV, TRows, Const2>(x); break;
            default: Call<TOps, TV, TRows, Const1>(x); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Call<TOps, TV, TRows, TCols>(in Operands x)
        where TOps : struct, ISimdOps<TV>
        where TV : struct
        where TRows : struct, IConstant
        where TCols : struct, IConstant
    {
        if (x.Alpha == null)
        {
            MicroKernel.Product<TOps, TV, TRows, TCols>(x.A, x.ARow, x.AStep, x.B, x.Ldb, x.Depth, x.C, x.Ldc);
        }
        else
        {
            MicroKernel.ScaleAccumulate<TOps, TV, TRows, TCols>(x.A, x.ARow, x.AStep, x.B, x.Ldb, x.Depth, x.C, x.Ldc, x.Alpha);
        }
    }
}
