using System;
using System.Linq;
using KernelDsl.Cpu;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Cpu;

/// <summary>One online-softmax step, the tile mask and the LSE formula against their scalar definitions.</summary>
public sealed unsafe class OnlineSoftmaxTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(SimdWidth.All), MemberType = typeof(SimdWidth))]
    public void StepMatchesTheScalarRecurrence(int bits)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        SimdWidth.Run(bits, new StepTest(new Random(seed)));
    }

    [Fact]
    public void KeepColumnsMasksOutsideTheRangeAndClampsIt()
    {
        var row = Enumerable.Range(0, 16).Select(i => (float)i).ToArray();
        fixed (float* p = row)
        {
            TileMask.KeepColumns(p, 3, 7, 16);
        }

        row.Select(float.IsNegativeInfinity).ShouldBe(Enumerable.Range(0, 16).Select(c => c < 3 || c >= 7));
        row[3].ShouldBe(3f);

        var all = new float[8];
        fixed (float* p = all)
        {
            TileMask.KeepColumns(p, int.MinValue, int.MaxValue, 8);
            all.ShouldAllBe(x => x == 0f);
            TileMask.KeepColumns(p, 20, 30, 8); // the range lies past the row: everything masked
        }

        all.ShouldAllBe(x => float.IsNegativeInfinity(x));
    }

    [Fact]
    public void LogSumExpConvertsBaseTwoStatistics()
    {
        // Σ exp(s) over s = {1, 2}: in base 2, m = 2·log2 e and l = 1 + 2^(−log2 e).
        double m = 2 * Math.Log2(Math.E), l = 1 + Math.Pow(2, -Math.Log2(Math.E));
        TileStore.LogSumExp((float)m, (float)l).ShouldBe((float)Math.Log(Math.Exp(1) + Math.Exp(2)), 1e-6f);
        TileStore.LogSumExp(float.NegativeInfinity, 0f).ShouldBe(float.NegativeInfinity);
    }

    private sealed class StepTest(Random random) : IWidthTest
    {
        public void Run<TOps, TV>()
            where TOps : struct, ISimdOps<TV>
            where TV : struct
        {
            int lanes = TOps.Lanes;
            int vectors = 3, width = vectors * lanes, keys = 1 + random.Next(30);
            var s = SimdWidth.RandomFloats(random, keys * width, -20f, 20f);
            var m = SimdWidth.RandomFloats(random, width, -5f, 25f);
            var l = SimdWidth.RandomFloats(random, width, 0.5f, 10f);
            var alpha = new float[width];

            // Column 0: everything masked so far and in this block. Column 1: nothing before, keys now.
            m[0] = m[1] = float.NegativeInfinity;
            l[0] = l[1] = 0f;
            for (int j = 0; j < keys; j++)
            {
                s[j * width] = float.NegativeInfinity;
            }

            var (s0, m0, l0) = ((float[])s.Clone(), (float[])m.Clone(), (float[])l.Clone());
            fixed (float* ps = s, pm = m, pl = l, pa = alpha)
            {
                OnlineSoftmax.Step<TOps, TV>(ps, width, keys, vectors, pm, pl, pa);
            }

            for (int i = 0; i < width; i++)
            {
                double next = Math.Max(m0[i], Enumerable.Range(0, keys).Max(j => (double)s0[(j * width) + i]));
                double shift = double.IsNegativeInfinity(next) ? 0 : next;
                // The kernel subtracts in fp32 before exp2; do the same so only exp2's own error is measured.
                double rescale = Math.Pow(2, m0[i] - (float)shift);
                double sum = 0;
                for (int j = 0; j < keys; j++)
                {
                    double p = Math.Pow(2, s0[(j * width) + i] - (float)shift);
                    sum += p;
                    s[(j * width) + i].ShouldBe((float)p, 1e-6 * Math.Max(p, 1e-30), $"P[{j}][{i}]");
                }

                m[i].ShouldBe((float)next);
                alpha[i].ShouldBe((float)rescale, 1e-6 * Math.Max(rescale, 1e-30), $"alpha[{i}]");
                double expectedL = (l0[i] * rescale) + sum;
                l[i].ShouldBe((float)expectedL, 1e-6 * Math.Max(expectedL, 1), $"l[{i}]");
            }

            alpha[0].ShouldBe(0f);
            l[0].ShouldBe(0f);
        }
    }
}
