using System;
using System.Linq;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// The fills of a device Forward with no keys (Skv = 0: O = 0) cover exactly a tensor's elements, never the gaps of a
/// strided view: checked here without a GPU by applying the planes to a byte map.
/// </summary>
public sealed class EmptyDeviceCallTests
{
    [Theory]
    [InlineData(new[] { 2, 3, 4, 8 }, new long[] { 96, 32, 8, 1 }, 2)]      // contiguous: one fill
    [InlineData(new[] { 2, 3, 4, 8 }, new long[] { 288, 96, 8, 1 }, 2)]     // q of a packed qkv tensor [2, 3, 3, 4, 8]
    [InlineData(new[] { 2, 4, 3, 8 }, new long[] { 288, 8, 96, 1 }, 4)]     // BHSD view of the same (heads outer in lengths)
    [InlineData(new[] { 3, 5, 1, 16 }, new long[] { 200, 40, 7, 1 }, 4)]    // a head dim of 1 with an odd stride
    [InlineData(new[] { 1, 1, 1, 8 }, new long[] { 8, 8, 8, 1 }, 2)]
    public void Fills_cover_exactly_the_elements(int[] lengths, long[] strides, int elementSize)
    {
        var nLengths = lengths.Select(l => (nint)l).ToArray();
        var nStrides = strides.Select(s => (nint)s).ToArray();
        long extent = 1 + Enumerable.Range(0, 4).Sum(i => (lengths[i] - 1) * strides[i]);
        var expected = new bool[extent * elementSize];
        for (int a = 0; a < lengths[0]; a++)
        {
            for (int b = 0; b < lengths[1]; b++)
            {
                for (int c = 0; c < lengths[2]; c++)
                {
                    for (int d = 0; d < lengths[3]; d++)
                    {
                        long at = (a * strides[0]) + (b * strides[1]) + (c * strides[2]) + d;
                        for (int byteIndex = 0; byteIndex < elementSize; byteIndex++)
                        {
                            expected[(at * elementSize) + byteIndex] = true;
                        }
                    }
                }
            }
        }

        var written = new int[expected.Length];
        var planes = EmptyDeviceCall.Planes(nLengths, nStrides, elementSize).ToList();
        foreach (var plane in planes)
        {
            plane.Pitch.ShouldBeGreaterThanOrEqualTo(plane.Width, "cuMemsetD2D8 needs pitch >= width");
            for (long row = 0; row < plane.Height; row++)
            {
                for (long x = 0; x < plane.Width; x++)
                {
                    written[plane.Offset + (row * plane.Pitch) + x]++;
                }
            }
        }

        for (int n = 0; n < expected.Length; n++)
        {
            written[n].ShouldBe(expected[n] ? 1 : 0, $"byte {n}");
        }

        bool contiguous = strides[0] == (long)lengths[1] * lengths[2] * lengths[3] && strides[1] == (long)lengths[2] * lengths[3] && strides[2] == lengths[3];
        if (contiguous)
        {
            planes.Count.ShouldBe(1);
        }
    }

    [Fact]
    public void An_empty_tensor_needs_no_fill() =>
        EmptyDeviceCall.Planes(new nint[] { 2, 0, 4, 8 }, new nint[] { 0, 32, 8, 1 }, 2).ShouldBeEmpty();
}
