using System;
using System.Linq;
using KernelDsl;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

// The reference backward against central finite differences of the forward reference, all in float64: the
// analytic gradient of L = Σ dO ∘ O must match (L(x + h) − L(x − h)) / 2h for every element of Q, K, V and of a
// learnable buffer. Small shapes, so every element is perturbed.
public class AttentionReferenceBackwardTests
{
    private const double Step = 1e-5;

    private readonly ITestOutputHelper _output;

    public AttentionReferenceBackwardTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void GroupedQueryHeadsMatchFiniteDifferences()
    {
        var shape = new AttentionShape(2, 5, 7, 4, 2, 4, 3);
        Check(shape, TensorLayout.BSHD, MaskBand.None, null, null, null);
    }

    [Fact]
    public void CausalWithFullyMaskedRowsMatchesFiniteDifferences()
    {
        // Bottom-right causal with Sq > Skv: the first two query rows see no key and must get zero gradients.
        var shape = new AttentionShape(1, 6, 4, 3, 1, 5, 5);
        var band = MaskBand.For(MaskKind.Causal, MaskAlignment.BottomRight, 0, 0, 6, 4);
        var result = Check(shape, TensorLayout.BHSD, band, null, null, null);
        var qIndex = new ContiguousIndex(TensorLayout.BHSD, 1, 6, 3, 5);
        for (int h = 0; h < 3; h++)
        {
            for (int d = 0; d < 5; d++)
            {
                result.DQ[qIndex.At(0, 0, h, d)].ShouldBe(0);
                result.DQ[qIndex.At(0, 1, h, d)].ShouldBe(0);
            }
        }
    }

    [Fact]
    public void SoftcapModifierMatchesFiniteDifferences()
    {
        var shape = new AttentionShape(1, 4, 6, 2, 2, 4, 4);
        Check(
            shape,
            TensorLayout.BSHD,
            MaskBand.None,
            (s, b, h, i, j) => 0.5 * Math.Tanh(s / 0.5),
            (s, b, h, i, j, g) => g * (1 - (Math.Tanh(s / 0.5) * Math.Tanh(s / 0.5))),
            null,
            magnitude: 3);
    }

    [Fact]
    public void LearnableAlibiSlopesAndEmptyRowsMatchFiniteDifferences()
    {
        // score − slope[h]·|i − j|, with a mask modifier that keeps no key for query 2 (its row gives no gradient).
        var shape = new AttentionShape(1, 5, 6, 3, 1, 4, 4);
        var random = Seeded(out _);
        double[] slopes = Enumerable.Range(0, 3).Select(_ => random.NextDouble()).ToArray();
        var gradient = new double[3];
        var data = RandomInputs(random, shape, TensorLayout.BSHD, 1);
        Func<int, int, int, int, bool> keep = (b, h, i, j) => i != 2;
        double Loss(double[] s) => LossOf(data, shape, TensorLayout.BSHD, MaskBand.None, (x, b, h, i, j) => x - (s[h] * Math.Abs(i - j)), keep);

        AttentionReferenceBackward.Compute<double, double>(
            data.Q, data.K, data.V, data.DO, shape, TensorLayout.BSHD, data.Scale, MaskBand.None,
            (x, b, h, i, j) => x - (slopes[h] * Math.Abs(i - j)),
            (x, b, h, i, j, g) =>
            {
                gradient[h] += -g * Math.Abs(i - j);
                return g;
            },
            keep);

        var numeric = FiniteDifferences(slopes, () => Loss(slopes));
        double error = ErrorMetrics.RelativeError<double>(gradient, numeric);
        _output.WriteLine($"dSlopes relative error vs finite differences: {error:E2}");
        error.ShouldBeLessThan(1e-8);
        gradient.ShouldAllBe(g => g != 0);
    }

    [Fact]
    public void ABackwardWithoutItsModifierIsRejected()
    {
        var shape = new AttentionShape(1, 1, 1, 1, 1, 8, 8);
        var data = new double[8];
        Should.Throw<ArgumentException>(() => AttentionReferenceBackward.Compute<double, double>(
            data, data, data, data, shape, TensorLayout.BSHD, 1, MaskBand.None, null, (s, b, h, i, j, g) => g, null));
    }

    private ReferenceGradients Check(
        AttentionShape shape,
        TensorLayout layout,
        MaskBand band,
        Func<double, int, int, int, int, double>? scoreMod,
        ScoreModifierBackward? backward,
        Func<int, int, int, int, bool>? maskMod,
        float magnitude = 1)
    {
        var random = Seeded(out int seed);
        var data = RandomInputs(random, shape, layout, magnitude);
        var result = AttentionReferenceBackward.Compute<double, double>(data.Q, data.K, data.V, data.DO, shape, layout, data.Scale, band, scoreMod, backward, maskMod);
        double Loss() => LossOf(data, shape, layout, band, scoreMod, maskMod);
        foreach (var (name, input, analytic) in new[] { ("dQ", data.Q, result.DQ), ("dK", data.K, result.DK), ("dV", data.V, result.DV) })
        {
            var numeric = FiniteDifferences(input, Loss);
            double error = ErrorMetrics.RelativeError<double>(analytic, numeric);
            _output.WriteLine($"seed {seed}: {name} relative error vs finite differences: {error:E2}");
            error.ShouldBeLessThan(1e-8, $"{name}, seed {seed}");
        }

        return result;
    }

    /// <summary>Central differences of <paramref name="loss"/> with respect to each element of <paramref name="x"/> (perturbed in place, restored).</summary>
    private static double[] FiniteDifferences(double[] x, Func<double> loss)
    {
        var numeric = new double[x.Length];
        for (int n = 0; n < x.Length; n++)
        {
            double saved = x[n];
            x[n] = saved + Step;
            double plus = loss();
            x[n] = saved - Step;
            double minus = loss();
            x[n] = saved;
            numeric[n] = (plus - minus) / (2 * Step);
        }

        return numeric;
    }

    private static double LossOf(Inputs data, AttentionShape shape, TensorLayout layout, MaskBand band, Func<double, int, int, int, int, double>? scoreMod, Func<int, int, int, int, bool>? maskMod)
    {
        var output = AttentionReference.Compute<double>(data.Q, data.K, data.V, shape, layout, data.Scale, band, scoreMod, maskMod).Output;
        double loss = 0;
        for (int n = 0; n < output.Length; n++)
        {
            loss += data.DO[n] * output[n];
        }

        return loss;
    }

    private sealed record Inputs(double[] Q, double[] K, double[] V, double[] DO, double Scale);

    private static Inputs RandomInputs(Random random, AttentionShape shape, TensorLayout layout, float magnitude)
    {
        double[] Data(int count) => Enumerable.Range(0, count).Select(_ => magnitude * ((random.NextDouble() * 2) - 1)).ToArray();
        int d = shape.HeadDim, dv = shape.ValueHeadDim;
        return new Inputs(
            Data(shape.Batch * shape.SeqQ * shape.HeadsQ * d),
            Data(shape.Batch * shape.SeqKv * shape.HeadsKv * d),
            Data(shape.Batch * shape.SeqKv * shape.HeadsKv * dv),
            Data(shape.Batch * shape.SeqQ * shape.HeadsQ * dv),
            1.0 / Math.Sqrt(d));
    }

    private Random Seeded(out int seed)
    {
        seed = Environment.TickCount;
        _output.WriteLine($"seed {seed}");
        return new Random(seed);
    }
}
