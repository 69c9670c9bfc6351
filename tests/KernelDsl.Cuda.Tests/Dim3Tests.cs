using System;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

public class Dim3Tests
{
    [Fact]
    public void ConvertsFromIntsAndTuples()
    {
        Dim3 a = 5;
        Dim3 b = (2, 3);
        Dim3 c = (4, 5, 6);

        (a.X, a.Y, a.Z).ShouldBe((5u, 1u, 1u));
        (b.X, b.Y, b.Z).ShouldBe((2u, 3u, 1u));
        c.Volume.ShouldBe(120);
        c.ToString().ShouldBe("(4, 5, 6)");
    }

    [Theory]
    [InlineData(0, 1, 1)]
    [InlineData(1, -1, 1)]
    [InlineData(1, 1, 0)]
    public void RejectsEmptyExtents(int x, int y, int z) =>
        Should.Throw<ArgumentOutOfRangeException>(() => new Dim3(x, y, z));
}
