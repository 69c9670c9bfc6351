using System;
using KernelDsl.Cpu;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Cpu;

/// <summary>The per-vector helpers against scalar definitions: exp2, bf16 and fp16 conversions.</summary>
public sealed unsafe class VectorMathTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(SimdWidth.All), MemberType = typeof(SimdWidth))]
    public void Exp2MatchesMathPowAndFlushesBelowTheRange(int bits)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        SimdWidth.Run(bits, new Exp2Test(new Random(seed)));
    }

    [Theory]
    [MemberData(nameof(SimdWidth.All), MemberType = typeof(SimdWidth))]
    public void BFloat16RowsRoundTripLikeTheScalarType(int bits)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        SimdWidth.Run(bits, new BFloat16Test(new Random(seed)));
    }

    [Theory]
    [MemberData(nameof(SimdWidth.All), MemberType = typeof(SimdWidth))]
    public void HalfRowsConvertLikeTheScalarType(int bits)
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        SimdWidth.Run(bits, new HalfTest(new Random(seed)));
    }

    private sealed class Exp2Test(Random random) : IWidthTest
    {
        public void Run<TOps, TV>()
            where TOps : struct, ISimdOps<TV>
            where TV : struct
        {
            // Random points over the whole range softmax uses, plus the edges and the special values.
            var x = SimdWidth.RandomFloats(random, 4096, -130f, 0f);
            float[] specials = [0f, -0.5f, -1f, -124.9f, -125.01f, -126f, -200f, float.NegativeInfinity, -1e-8f, float.NaN, -float.NaN];
            specials.CopyTo(x, 0);
            var y = new float[x.Length];
            fixed (float* px = x, py = y)
            {
                for (int i = 0; i < x.Length; i += TOps.Lanes)
                {
                    TOps.Store(py + i, TOps.Exp2(TOps.Load(px + i)));
                }
            }

            double worst = 0;
            for (int i = 0; i < x.Length; i++)
            {
                if (float.IsNaN(x[i]))
                {
                    float.IsNaN(y[i]).ShouldBeTrue($"exp2(NaN) must be NaN (a NaN score must reach the row's sum), got {y[i]}");
                }
                else if (x[i] < -125f)
                {
                    y[i].ShouldBe(0f, $"exp2({x[i]}) must flush to exactly 0");
                }
                else if (x[i] >= -120f)
                {
                    double exact = Math.Pow(2, x[i]);
                    worst = Math.Max(worst, Math.Abs(y[i] - exact) / exact);
                }
            }

            worst.ShouldBeLessThan(3e-7);
        }
    }

    private sealed class BFloat16Test(Random random) : IWidthTest
    {
        public void Run<TOps, TV>()
            where TOps : struct, ISimdOps<TV>
            where TV : struct
        {
            int count = 200 + random.Next(40); // not a multiple of the vector width: the scalar tails run too
            var source = SimdWidth.RandomFloats(random, count, -1000f, 1000f);
            float[] specials = [float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1.00390625f, 1.01171875f, 3.4e38f, 1e-40f];
            specials.CopyTo(source, 0);
            for (int i = specials.Length; i < 40; i++)
            {
                // Exact ties between two bfloat16 values: the rounding must go to the even one.
                source[i] = BitConverter.UInt32BitsToSingle((BitConverter.SingleToUInt32Bits(source[i]) & 0xFFFF_0000u) | 0x8000u);
            }

            var narrowed = new BFloat16[count];
            var widened = new float[count];
            fixed (float* ps = source, pw = widened)
            fixed (BFloat16* pn = narrowed)
            {
                ElementRow.Narrow<TOps, TV, BFloat16>(ps, pn, count);
                ElementRow.Widen<TOps, TV, BFloat16>(pn, pw, count);
            }

            for (int i = 0; i < count; i++)
            {
                var expected = (BFloat16)source[i];
                if (float.IsNaN(source[i]))
                {
                    BFloat16.IsNaN(narrowed[i]).ShouldBeTrue();
                    float.IsNaN(widened[i]).ShouldBeTrue();
                    continue;
                }

                narrowed[i].RawValue.ShouldBe(expected.RawValue, $"narrowing {source[i]:R}");
                widened[i].ShouldBe((float)expected);
            }
        }
    }

    private sealed class HalfTest(Random random) : IWidthTest
    {
        public void Run<TOps, TV>()
            where TOps : struct, ISimdOps<TV>
            where TV : struct
        {
            int count = 100 + random.Next(30);
            var source = SimdWidth.RandomFloats(random, count, -70000f, 70000f);
            var narrowed = new Half[count];
            var widened = new float[count];
            fixed (float* ps = source, pw = widened)
            fixed (Half* pn = narrowed)
            {
                ElementRow.Narrow<TOps, TV, Half>(ps, pn, count);
                ElementRow.Widen<TOps, TV, Half>(pn, pw, count);
            }

            for (int i = 0; i < count; i++)
            {
                narrowed[i].ShouldBe((Half)source[i]);
                widened[i].ShouldBe((float)(Half)source[i]);
            }
        }
    }
}
