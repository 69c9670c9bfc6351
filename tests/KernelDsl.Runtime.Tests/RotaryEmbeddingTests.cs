using System;
using System.Linq;
using System.Numerics;
using KernelDsl;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>
/// <see cref="RotaryEmbedding.Apply"/> against an independent formulation: each pair as the complex number x₀ + i·x₁
/// multiplied by e^{i·pos·θ}, θ = exp(−(2i / rotaryDim)·ln base); fresh random inputs and positions (seed printed).
/// </summary>
public sealed class RotaryEmbeddingTests
{
    [Theory]
    [InlineData(RotaryConvention.Interleaved, 64, 64, 10000.0)]
    [InlineData(RotaryConvention.HalfSplit, 64, 64, 10000.0)]
    [InlineData(RotaryConvention.Interleaved, 80, 32, 500000.0)]   // partial rotary
    [InlineData(RotaryConvention.HalfSplit, 96, 48, 10000.0)]      // partial rotary
    [InlineData(RotaryConvention.HalfSplit, 8, 2, 1.5)]
    public void Apply_equals_complex_multiplication_by_the_position_phase(RotaryConvention convention, int headDim, int rotaryDim, double @base)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        int tokens = 1 + random.Next(6), heads = 1 + random.Next(4);
        var positions = Enumerable.Range(0, tokens).Select(_ => random.Next(3) == 0 ? 0 : random.Next(200_000)).ToArray();
        var x = RandomTensors.Uniform<float>(random, tokens * heads * headDim, 3f);
        var y = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        new RotaryEmbedding(headDim, rotaryDim, @base, convention).Apply(x, positions, y);

        int half = rotaryDim / 2;
        for (int t = 0; t < tokens; t++)
        {
            for (int h = 0; h < heads; h++)
            {
                int row = ((t * heads) + h) * headDim;
                for (int i = 0; i < half; i++)
                {
                    // Interleaved: features (2i, 2i+1); half-split: the first half holds the real parts, the second the imaginary.
                    int re = row + (convention == RotaryConvention.Interleaved ? 2 * i : i);
                    int im = row + (convention == RotaryConvention.Interleaved ? (2 * i) + 1 : i + half);
                    double theta = Math.Exp(-(2.0 * i / rotaryDim) * Math.Log(@base));
                    var z = new Complex(x[re], x[im]) * Complex.FromPolarCoordinates(1, positions[t] * theta);
                    ((double)y[re]).ShouldBe(z.Real, 2e-6 * (1 + Math.Abs(z.Real)), $"seed {seed}, token {t}, head {h}, pair {i}");
                    ((double)y[im]).ShouldBe(z.Imaginary, 2e-6 * (1 + Math.Abs(z.Imaginary)), $"seed {seed}, token {t}, head {h}, pair {i}");
                }

                for (int f = rotaryDim; f < headDim; f++)
                {
                    y[row + f].ShouldBe(x[row + f], $"seed {seed}: feature {f} is past the rotary dim and must pass through unchanged");
                }
            }
        }
    }

    [Theory]
    [InlineData(RotaryConvention.Interleaved)]
    [InlineData(RotaryConvention.HalfSplit)]
    public void Rotation_preserves_the_norm_of_every_pair_and_position_zero_is_the_identity(RotaryConvention convention)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        var rope = new RotaryEmbedding(32, 24, 10000, convention);
        int[] positions = [0, 1, 7, 4096, 1_000_000];
        var x = RandomTensors.Uniform<float>(random, positions.Length * 2 * 32, 5f);
        var y = new float[x.Length];
        rope.Apply(x, positions, y);
        for (int r = 0; r < positions.Length * 2; r++)
        {
            for (int i = 0; i < 12; i++)
            {
                var (a, b) = rope.PairFeatures(i);
                double before = Math.Sqrt((double)x[(r * 32) + a] * x[(r * 32) + a] + ((double)x[(r * 32) + b] * x[(r * 32) + b]));
                double after = Math.Sqrt((double)y[(r * 32) + a] * y[(r * 32) + a] + ((double)y[(r * 32) + b] * y[(r * 32) + b]));
                after.ShouldBe(before, 1e-5 * (1 + before), $"seed {seed}, row {r}, pair {i}");
            }
        }

        y.AsSpan(0, 64).ToArray().ShouldBe(x.AsSpan(0, 64).ToArray(), $"seed {seed}: position 0 rotates by 0");
        y.AsSpan(64).ToArray().ShouldNotBe(x.AsSpan(64).ToArray());
    }

    [Fact]
    public void The_conventions_pair_different_features_and_in_place_equals_out_of_place()
    {
        var random = new Random(Environment.TickCount);
        var x = RandomTensors.Uniform<float>(random, 3 * 16);
        int[] positions = [3, 11, 250];
        var interleaved = new float[x.Length];
        var halfSplit = new float[x.Length];
        new RotaryEmbedding(16, 16).Apply(x, positions, interleaved);
        new RotaryEmbedding(16, 16, convention: RotaryConvention.HalfSplit).Apply(x, positions, halfSplit);
        interleaved.ShouldNotBe(halfSplit);
        new RotaryEmbedding(16, 16).PairFeatures(3).ShouldBe((6, 7));
        new RotaryEmbedding(16, 16, convention: RotaryConvention.HalfSplit).PairFeatures(3).ShouldBe((3, 11));

        var inPlace = x.ToArray();
        new RotaryEmbedding(16, 16).Apply(inPlace, positions, inPlace);
        inPlace.ShouldBe(interleaved);
    }

    [Theory]
    [InlineData(64, 63, "rotaryDim")]    // odd
    [InlineData(64, 66, "rotaryDim")]    // larger than D
    [InlineData(64, 0, "rotaryDim")]
    [InlineData(64, -2, "rotaryDim")]
    [InlineData(0, 2, "headDim")]
    public void Bad_dims_are_rejected_naming_the_parameter(int headDim, int rotaryDim, string parameter) =>
        Should.Throw<ArgumentException>(() => new RotaryEmbedding(headDim, rotaryDim)).ParamName.ShouldBe(parameter);

    [Theory]
    [InlineData(0.0)]
    [InlineData(-10000.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_non_positive_or_non_finite_base_is_rejected(double @base) =>
        Should.Throw<ArgumentException>(() => new RotaryEmbedding(64, 64, @base)).ParamName.ShouldBe("base");

    [Fact]
    public void Mis_sized_or_overlapping_tensors_are_rejected()
    {
        var rope = new RotaryEmbedding(8, 4);
        var x = new float[2 * 3 * 8];
        Should.Throw<ArgumentException>(() => rope.Apply(x.AsSpan(1), [0, 1], new float[x.Length - 1])).ParamName.ShouldBe("x");
        Should.Throw<ArgumentException>(() => rope.Apply(x, [0, 1], new float[x.Length + 8])).ParamName.ShouldBe("y");
        Should.Throw<ArgumentException>(() => rope.Apply(x.AsSpan(0, 16), [0, 1], x.AsSpan(8, 16))).ParamName.ShouldBe("y");
        Should.Throw<ArgumentException>(() => rope.Apply(x, [], new float[x.Length])).ParamName.ShouldBe("x");
        rope.Apply([], [], []);
    }
}
