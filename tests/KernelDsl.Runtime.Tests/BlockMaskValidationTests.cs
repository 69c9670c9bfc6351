using System;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>The BlockMask constructor refuses arrays that do not fit the layout the kernels read (a bad mask would make the GPU read out of bounds).</summary>
public sealed class BlockMaskValidationTests
{
    // Sq = Skv = 100 with 64x32 tiles: 2 query blocks x 4 KV blocks, one shared row set.
    private static BlockMask Make(int[] counts, int[] indices) => new(100, 100, 64, 32, 1, 1, counts, indices);

    [Fact]
    public void AValidMaskReportsItsStatistics()
    {
        var mask = Make([1, 1, 0, 2], [3, 0, -1, -1, 1, 2, -1, -1]);
        (mask.QueryBlocks, mask.KvBlocks).ShouldBe((2, 4));
        mask.PartialBlocks.ShouldBe(1);
        mask.FullBlocks.ShouldBe(3);
        mask.Density.ShouldBe(4.0 / 8);
    }

    [Fact]
    public void ArraysOfTheWrongLengthAreRejected() =>
        Should.Throw<ArgumentException>(() => Make([1, 1, 0], [3, 0, -1, -1, 1, 2, -1, -1])).Message.ShouldContain("do not match");

    [Fact]
    public void AListedBlockOutsideTheKeysIsRejected() =>
        Should.Throw<ArgumentException>(() => Make([1, 0, 0, 0], [4, -1, -1, -1, -1, -1, -1, -1])).Message.ShouldContain("KV block 4");

    [Fact]
    public void CountsBeyondTheRowAreRejected() =>
        Should.Throw<ArgumentException>(() => Make([3, 2, 0, 0], [0, 1, 2, 3, -1, -1, -1, -1])).Message.ShouldContain("3 partial and 2 full");

    [Fact]
    public void NonPositiveDimensionsAreRejected() =>
        Should.Throw<ArgumentException>(() => new BlockMask(0, 100, 64, 32, 1, 1, [], []));
}
