using System;
using System.Collections.Concurrent;
using System.Linq;
using KernelDsl.Cpu;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Cpu;

/// <summary>Tile loads (transpose-widen of Q, padded widen of K/V rows) and the worker pool.</summary>
public sealed unsafe class TileLoadTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(SimdWidth.All), MemberType = typeof(SimdWidth))]
    public void TransposeScaledAndWidenMatchScalarLoops(int bits)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        SimdWidth.Run(bits, new LoadTest(new Random(seed)));
    }

    [Fact]
    public void WorkersRunEveryItemOnceWithAlignedScratch()
    {
        var seen = new ConcurrentDictionary<int, int>();
        bool aligned = true;
        CpuWorkers.Run(1000, 100, (item, scratch) =>
        {
            seen.AddOrUpdate(item, 1, (_, n) => n + 1);
            aligned &= ((nuint)scratch % 64) == 0;
            scratch[99] = item; // the whole requested size is writable
        });
        seen.Count.ShouldBe(1000);
        seen.Values.ShouldAllBe(n => n == 1);
        aligned.ShouldBeTrue();
    }

    private sealed class LoadTest(Random random) : IWidthTest
    {
        public void Run<TOps, TV>()
            where TOps : struct, ISimdOps<TV>
            where TV : struct
        {
            int rows = 1 + random.Next(20), depth = 8 * (1 + random.Next(10)), ldq = depth + 24, width = 32, ldt = 40;
            var q = SimdWidth.RandomFloats(random, rows * ldq).Select(x => (BFloat16)x).ToArray();
            var qT = new float[depth * ldt];
            Array.Fill(qT, float.NaN);
            var buffer = new float[depth];
            fixed (BFloat16* pq = q)
            fixed (float* pt = qT, pb = buffer)
            {
                TileLoad.TransposeScaled<TOps, TV, BFloat16>(pq, ldq, rows, depth, pt, ldt, width, 0.5f, pb);
            }

            for (int d = 0; d < depth; d++)
            {
                for (int i = 0; i < width; i++)
                {
                    qT[(d * ldt) + i].ShouldBe(i < rows ? 0.5f * q[(i * ldq) + d] : 0f);
                }
            }

            int cols = 40, padded = 48;
            var v = SimdWidth.RandomFloats(random, rows * 50).Select(x => (Half)x).ToArray();
            var tile = new float[rows * padded];
            Array.Fill(tile, float.NaN);
            fixed (Half* pv = v)
            fixed (float* pt = tile)
            {
                TileLoad.Widen<TOps, TV, Half>(pv, 50, rows, cols, pt, padded, padded);
            }

            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < padded; c++)
                {
                    tile[(r * padded) + c].ShouldBe(c < cols ? (float)v[(r * 50) + c] : 0f);
                }
            }
        }
    }
}
