using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>The host-side split-KV rule of the device Decode (DecodeSplits): no split when the grid fills the SMs, else about two CTAs per SM, at least 256 keys per split, at most 64.</summary>
public sealed class DecodeSplitsTests
{
    [Theory]
    [InlineData(8, 16384, 132, 33)]     // B 1 x Hkv 8: ceil(264 / 8) = 33
    [InlineData(32, 4096, 132, 9)]      // B 4 x Hkv 8: ceil(264 / 32) = 9
    [InlineData(8, 1024, 132, 4)]       // capped by length: ceil(1024 / 256) = 4
    [InlineData(1, 65536, 132, 64)]     // capped at 64
    [InlineData(128, 65536, 132, 3)]    // B 16 x Hkv 8 = 128 CTAs: ceil(264 / 128) = 3
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
