using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>The host-side split-KV rule of the device Decode (DecodeSplits): no split when the grid fills the SMs, else at most one wave of two CTAs per SM, at least 256 keys per split, at most 64.</summary>
public sealed class DecodeSplitsTests
{
    [Theory]
    [InlineData(8, 16384, 132, 33)]     // B 1 x Hkv 8: floor(264 / 8) = 33
    [InlineData(32, 4096, 132, 8)]      // B 4 x Hkv 8: floor(264 / 32) = 8 (ceil, 9, made 288 CTAs: 1.09 waves)
    [InlineData(8, 1024, 132, 4)]       // capped by length: ceil(1024 / 256) = 4
    [InlineData(1, 65536, 132, 64)]     // capped at 64
    [InlineData(128, 65536, 132, 2)]    // B 16 x Hkv 8 = 128 CTAs: floor(264 / 128) = 2
    [InlineData(16, 65536, 132, 16)]    // B 1 x Hkv 16: floor(264 / 16) = 16 (ceil, 17, made 272 CTAs)
    [InlineData(131, 65536, 132, 2)]    // just under the SM count: two splits fit one wave
    [InlineData(132, 65536, 132, 1)]    // the grid fills the GPU
    [InlineData(512, 65536, 132, 1)]
    [InlineData(8, 256, 132, 1)]        // one split's worth of keys
    [InlineData(8, 0, 132, 1)]
    public void The_rule_picks_the_split_count(long ctas, int maxKvLength, int sms, int expected) =>
        DecodeSplits.Choose(ctas, maxKvLength, sms).ShouldBe(expected);

    [Fact]
    public void A_forced_count_wins_on_its_thread_and_is_checked()
    {
        DecodeSplits.Forced = 5;
        try
        {
            DecodeSplits.Choose(1000, 10, 132).ShouldBe(5);
            int elsewhere = 0;
            var thread = new System.Threading.Thread(() => elsewhere = DecodeSplits.Choose(1000, 10, 132));
            thread.Start();
            thread.Join();
            elsewhere.ShouldBe(1);
        }
        finally
        {
            DecodeSplits.Forced = null;
        }

        DecodeSplits.Choose(1000, 10, 132).ShouldBe(1);
        Should.Throw<System.ArgumentOutOfRangeException>(() => DecodeSplits.Forced = 0);
        Should.Throw<System.ArgumentOutOfRangeException>(() => DecodeSplits.Forced = 65);
    }
}
