using System;
using KernelDsl;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

public class MaskBandTests
{
    [Fact]
    public void CausalAlignmentsFollowTheirDefinitions()
    {
        var topLeft = MaskBand.For(MaskKind.Causal, MaskAlignment.TopLeft, 0, 0, seqQ: 3, seqKv: 5);
        var bottomRight = MaskBand.For(MaskKind.Causal, MaskAlignment.BottomRight, 0, 0, seqQ: 3, seqKv: 5);
        topLeft.Keeps(0, 0).ShouldBeTrue();
        topLeft.Keeps(0, 1).ShouldBeFalse();
        bottomRight.Keeps(0, 2).ShouldBeTrue();   // i + Skv − Sq = 2
        bottomRight.Keeps(0, 3).ShouldBeFalse();
        bottomRight.Keeps(2, 4).ShouldBeTrue();   // the last query sees the last key
    }

    [Fact]
    public void BottomRightWithMoreQueriesThanKeysLeavesEarlyRowsEmpty()
    {
        var band = MaskBand.For(MaskKind.Causal, MaskAlignment.BottomRight, 0, 0, seqQ: 6, seqKv: 2);
        band.KeyRange(0, 1, 2).ShouldBe((0, 0));
        band.KeyRange(4, 5, 2).ShouldBe((0, 1));
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(3, 0)]
    [InlineData(0, 2)]
    [InlineData(5, -1)]
    [InlineData(-1, 4)]
    [InlineData(-1, -1)]
    public void KeyRangeAndWholeTileAgreeWithBruteForce(int left, int right)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        for (int trial = 0; trial < 300; trial++)
        {
            int seqQ = random.Next(1, 40), seqKv = random.Next(1, 40);
            var band = new MaskBand(left, right, random.Next(-20, 20));
            int q0 = random.Next(0, seqQ), q1 = random.Next(q0 + 1, seqQ + 1);
            int k0 = random.Next(0, seqKv), k1 = random.Next(k0 + 1, seqKv + 1);

            var (first, end) = band.KeyRange(q0, q1, seqKv);
            bool whole = true;
            for (int i = q0; i < q1; i++)
            {
                for (int j = 0; j < seqKv; j++)
                {
                    if (band.Keeps(i, j))
                    {
                        j.ShouldBeInRange(first, end - 1, $"kept key outside KeyRange (seed {seed})");
                    }

                    if (j >= k0 && j < k1 && !band.Keeps(i, j))
                    {
                        whole = false;
                    }
                }
            }

            band.KeepsWholeTile(q0, q1, k0, k1).ShouldBe(whole, $"band {band}, rows [{q0},{q1}), keys [{k0},{k1}) (seed {seed})");
        }
    }
}
