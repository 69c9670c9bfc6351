using System;
using System.Linq;
using KernelDsl;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

// The reference defines the semantics, so these tests check it against properties that hold by definition
// rather than against another implementation of the same formula.
public class AttentionReferenceTests
{
    private static float[] RandomData(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();

    [Fact]
    public void ARowThatSeesOneKeyReturnsThatKeysValue()
    {
        // Causal top-left: query 0 sees only key 0, so o_0 = v_0 and lse_0 = scale·(q_0·k_0).
        var random = new Random(Environment.TickCount);
        var shape = new AttentionShape(1, 3, 3, 1, 1, 8, 8);
        float[] q = RandomData(random, 24), k = RandomData(random, 24), v = RandomData(random, 24);
        var band = MaskBand.For(MaskKind.Causal, MaskAlignment.TopLeft, 0, 0, 3, 3);
        var result = AttentionReference.Compute<float>(q, k, v, shape, TensorLayout.BSHD, 0.5, band);
        for (int d = 0; d < 8; d++)
        {
            result.Output[d].ShouldBe(v[d], 1e-12);
        }

        double dot = Enumerable.Range(0, 8).Sum(d => (double)q[d] * k[d]);
        result.Lse[0].ShouldBe(0.5 * dot, 1e-12);
    }

    [Fact]
    public void EqualScoresAverageTheValues()
    {
        // q = 0 makes every score equal: o = mean of v, lse = ln(Skv).
        var random = new Random(Environment.TickCount);
        var shape = new AttentionShape(1, 2, 5, 1, 1, 8, 8);
        var q = new float[16];
        float[] k = RandomData(random, 40), v = RandomData(random, 40);
        var result = AttentionReference.Compute<float>(q, k, v, shape, TensorLayout.BSHD, 1.0, MaskBand.None);
        for (int d = 0; d < 8; d++)
        {
            double mean = Enumerable.Range(0, 5).Average(j => (double)v[(j * 8) + d]);
            result.Output[d].ShouldBe(mean, 1e-12);
        }

        result.Lse[1].ShouldBe(Math.Log(5), 1e-12);
    }

    [Fact]
    public void FullyMaskedRowsGiveZeroAndNegativeInfinity()
    {
        var random = new Random(Environment.TickCount);
        var shape = new AttentionShape(1, 4, 2, 1, 1, 8, 8);
        float[] q = RandomData(random, 32), k = RandomData(random, 16), v = RandomData(random, 16);
        var band = MaskBand.For(MaskKind.Causal, MaskAlignment.BottomRight, 0, 0, 4, 2);
        var result = AttentionReference.Compute<float>(q, k, v, shape, TensorLayout.BSHD, 1.0, band);
        result.Output.Take(16).ShouldAllBe(x => x == 0);
        result.Lse[0].ShouldBe(double.NegativeInfinity);
        result.Lse[1].ShouldBe(double.NegativeInfinity);
        double.IsFinite(result.Lse[2]).ShouldBeTrue();
    }

    [Fact]
    public void GroupedQueryHeadsReadTheirSharedKeyValueHead()
    {
        // With Hq = 4, Hkv = 2, query heads 0,1 read kv head 0 and heads 2,3 read kv head 1: equal to running
        // MHA with the kv heads repeated.
        var random = new Random(Environment.TickCount);
        var gqa = new AttentionShape(1, 3, 4, 4, 2, 8, 8);
        float[] q = RandomData(random, 3 * 4 * 8), k = RandomData(random, 4 * 2 * 8), v = RandomData(random, 4 * 2 * 8);
        float[] Repeat(float[] t) => Enumerable.Range(0, 4 * 4 * 8).Select(i =>
        {
            int s = i / 32, h = (i / 8) % 4, d = i % 8;
            return t[(((s * 2) + (h / 2)) * 8) + d];
        }).ToArray();

        var expected = AttentionReference.Compute<float>(q, Repeat(k), Repeat(v), gqa with { HeadsKv = 4 }, TensorLayout.BSHD, 0.3, MaskBand.None);
        var actual = AttentionReference.Compute<float>(q, k, v, gqa, TensorLayout.BSHD, 0.3, MaskBand.None);
        actual.Output.ShouldBe(expected.Output);
    }

    [Fact]
    public void LayoutsDescribeTheSameTensor()
    {
        var random = new Random(Environment.TickCount);
        var shape = new AttentionShape(2, 3, 5, 2, 2, 8, 8);
        float[] q = RandomData(random, 2 * 3 * 2 * 8), k = RandomData(random, 2 * 5 * 2 * 8), v = RandomData(random, 2 * 5 * 2 * 8);
        float[] ToBhsd(float[] t, int seq) => Enumerable.Range(0, t.Length).Select(i =>
        {
            int b = i / (2 * seq * 8), h = (i / (seq * 8)) % 2, s = (i / 8) % seq, d = i % 8;
            return t[new ContiguousIndex(TensorLayout.BSHD, 2, seq, 2, 8).At(b, s, h, d)];
        }).ToArray();

        var bshd = AttentionReference.Compute<float>(q, k, v, shape, TensorLayout.BSHD, 0.4, MaskBand.None);
        var bhsd = AttentionReference.Compute<float>(ToBhsd(q, 3), ToBhsd(k, 5), ToBhsd(v, 5), shape, TensorLayout.BHSD, 0.4, MaskBand.None);
        var bshdIndex = new ContiguousIndex(TensorLayout.BSHD, 2, 3, 2, 8);
        var bhsdIndex = new ContiguousIndex(TensorLayout.BHSD, 2, 3, 2, 8);
        for (int b = 0; b < 2; b++)
        {
            for (int s = 0; s < 3; s++)
            {
                for (int h = 0; h < 2; h++)
                {
                    for (int d = 0; d < 8; d++)
                    {
                        bhsd.Output[bhsdIndex.At(b, s, h, d)].ShouldBe(bshd.Output[bshdIndex.At(b, s, h, d)], 1e-12);
                    }
                }
            }
        }
    }

    [Fact]
    public void RelativeErrorIsNaNWhenAnyOutputIsNaN()
    {
        var actual = new[] { 1f, float.NaN };
        double.IsNaN(ErrorMetrics.RelativeError<float>(actual, new[] { 1.0, 2.0 })).ShouldBeTrue();
        ErrorMetrics.RelativeError<float>(new[] { 1f, 2f }, new[] { 1.0, 2.0 }).ShouldBe(0);
        ErrorMetrics.MaxLseError(new[] { float.NegativeInfinity }, new[] { 0.0 }).ShouldBe(double.PositiveInfinity);
    }
}
