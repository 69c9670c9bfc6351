using System;
using KernelDsl.Cpu;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Cpu;

/// <summary>
/// The two tile products against plain triple loops, over sizes that hit every micro-kernel shape
/// (1–6 rows × 1–4 vectors) and strides wider than the data.
/// </summary>
public sealed unsafe class TileGemmTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(SimdWidth.All), MemberType = typeof(SimdWidth))]
    public void ScoresEqualKTimesQTransposed(int bits)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        SimdWidth.Run(bits, new ScoresTest(new Random(seed)));
    }

    [Theory]
    [MemberData(nameof(SimdWidth.All), MemberType = typeof(SimdWidth))]
    public void AccumulateRescalesThenAddsPTimesV(int bits)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        SimdWidth.Run(bits, new AccumulateTest(new Random(seed)));
    }

    private static void ShouldBeClose(float actual, double expected, double scale, string what) =>
        Math.Abs(actual - expected).ShouldBeLessThan(1e-5 * scale, what);

    private sealed class ScoresTest(Random random) : IWidthTest
    {
        public void Run<TOps, TV>()
            where TOps : struct, ISimdOps<TV>
            where TV : struct
        {
            int lanes = TOps.Lanes;
            foreach (int keys in new[] { 1, 5, 6, 7, 13, 24 })
            {
                foreach (int vectors in new[] { 1, 3, 4, 5, 9 })
                {
                    int depth = 1 + random.Next(70);
                    int ldk = depth + random.Next(5);           // K rows may be strided (read in place)
                    int ldq = (vectors * lanes) + (lanes * random.Next(2));
                    int lds = ldq;
                    var k = SimdWidth.RandomFloats(random, keys * ldk);
                    var qT = SimdWidth.RandomFloats(random, depth * ldq);
                    var s = new float[keys * lds];
                    fixed (float* pk = k, pq = qT, ps = s)
                    {
                        TileGemm.Scores<TOps, TV>(pk, ldk, keys, pq, ldq, depth, vectors, ps, lds);
                    }

                    for (int j = 0; j < keys; j++)
                    {
                        for (int i = 0; i < vectors * lanes; i++)
                        {
                            double expected = 0;
                            for (int d = 0; d < depth; d++)
                            {
                                expected += (double)k[(j * ldk) + d] * qT[(d * ldq) + i];
                            }

                            ShouldBeClose(s[(j * lds) + i], expected, depth, $"S[{j}][{i}] keys {keys} vectors {vectors} depth {depth}");
                        }
                    }
                }
            }
        }
    }

    private sealed class AccumulateTest(Random random) : IWidthTest
    {
        public void Run<TOps, TV>()
            where TOps : struct, ISimdOps<TV>
            where TV : struct
        {
            int lanes = TOps.Lanes;
            foreach (int queries in new[] { 1, 4, 6, 11, 17 })
            {
                foreach (int vectors in new[] { 1, 2, 4, 6 })
                {
                    int keys = 1 + random.Next(40);
                    int ldp = ((queries + lanes - 1) / lanes * lanes) + lanes;
                    int ldv = (vectors * lanes) + (lanes * random.Next(2));
                    int ldo = vectors * lanes;
                    var pT = SimdWidth.RandomFloats(random, keys * ldp, 0f, 1f);
                    var v = SimdWidth.RandomFloats(random, keys * ldv);
                    var o = SimdWidth.RandomFloats(random, queries * ldo);
                    var alpha = SimdWidth.RandomFloats(random, queries, 0f, 1f);
                    alpha[0] = 0f; // a row that had kept nothing before this block
                    var before = (float[])o.Clone();
                    fixed (float* pp = pT, pv = v, po = o, pa = alpha)
                    {
                        TileGemm.Accumulate<TOps, TV>(pp, ldp, keys, pv, ldv, vectors, po, ldo, pa, queries);
                    }

                    for (int i = 0; i < queries; i++)
                    {
                        for (int c = 0; c < vectors * lanes; c++)
                        {
                            double expected = alpha[i] * (double)before[(i * ldo) + c];
                            for (int j = 0; j < keys; j++)
                            {
                                expected += (double)pT[(j * ldp) + i] * v[(j * ldv) + c];
                            }

                            ShouldBeClose(o[(i * ldo) + c], expected, keys, $"O[{i}][{c}] queries {queries} vectors {vectors} keys {keys}");
                        }
                    }
                }
            }
        }
    }
}
