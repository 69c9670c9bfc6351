using System;
using KernelDsl;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

public class BFloat16Tests
{
    [Theory]
    [InlineData(1.0f, (ushort)0x3F80)]
    [InlineData(-2.0f, (ushort)0xC000)]
    [InlineData(0.0f, (ushort)0x0000)]
    [InlineData(float.PositiveInfinity, (ushort)0x7F80)]
    [InlineData(float.NegativeInfinity, (ushort)0xFF80)]
    public void ExactValuesConvertToTheirBits(float value, ushort bits) =>
        ((BFloat16)value).RawValue.ShouldBe(bits);

    [Fact]
    public void RoundsToNearestEven()
    {
        // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
        ((float)(BFloat16)(1f + MathF.Pow(2, -8))).ShouldBe(1f);
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
        ((float)(BFloat16)(1f + (3 * MathF.Pow(2, -8)))).ShouldBe(1f + MathF.Pow(2, -6));
        // Just above halfway rounds up.
        ((float)(BFloat16)(1f + MathF.Pow(2, -8) + MathF.Pow(2, -20))).ShouldBe(1f + MathF.Pow(2, -7));
    }

    [Fact]
    public void NaNStaysNaNAndNeverBecomesInfinity()
    {
        // A NaN whose payload lives only in the low 16 bits would truncate to infinity.
        float lowPayloadNaN = BitConverter.UInt32BitsToSingle(0x7F80_0001);
        BFloat16.IsNaN((BFloat16)lowPayloadNaN).ShouldBeTrue();
        BFloat16.IsNaN((BFloat16)float.NaN).ShouldBeTrue();
        float.IsNaN((float)BFloat16.NaN).ShouldBeTrue();
    }

    [Fact]
    public void RoundTripErrorIsWithinHalfAnUlpOnRandomValues()
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        for (int i = 0; i < 100_000; i++)
        {
            float x = (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-30, 30)));
            float back = (BFloat16)x;
            MathF.Abs(back - x).ShouldBeLessThanOrEqualTo(MathF.Abs(x) * BFloat16.Epsilon / 2, $"x = {x:R}, seed {seed}");
        }
    }

    [Fact]
    public void LargeFiniteValuesOverflowToInfinityOnlyPastMax()
    {
        ((float)(BFloat16)float.MaxValue).ShouldBe(float.PositiveInfinity); // rounds up past bf16's max
        ((float)BFloat16.MaxValue).ShouldBe(3.3895314e38f);
        ((float)(BFloat16)3.3895314e38f).ShouldBe(3.3895314e38f);
    }
}
