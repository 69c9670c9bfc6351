using System;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>
/// The aliasing check compares elements, not address ranges (TensorOverlap states the rule): against brute force on
/// random strided layouts, interleaved views of one buffer accepted at a cost of a few search nodes, true overlaps
/// (shared elements, partial rows) rejected.
/// </summary>
public sealed unsafe class TensorOverlapTests(ITestOutputHelper output)
{
    /// <summary>A packed buffer [B, S, 4, H, D] (slot 0..3 = q, k, v, o), as a model's fused projection writes it.</summary>
    private static readonly nint[] Lengths = [2, 5, 3, 8];

    private static nint[] PackedStrides(int slots) => [5 * slots * 3 * 8, slots * 3 * 8, 8, 1];

    [Fact]
    public void Interleaved_views_of_one_buffer_are_disjoint_at_a_small_cost()
    {
        nint[] strides = PackedStrides(4);
        for (int slot = 1; slot < 4; slot++)
        {
            bool overlaps = TensorOverlap.Overlaps(Arg("o", 0, 4, Lengths, strides), Arg("q", slot * 24 * 4, 4, Lengths, strides), out long visited);
            overlaps.ShouldBeFalse($"slot {slot}");
            output.WriteLine($"slot {slot}: {visited} search nodes");
            visited.ShouldBeLessThanOrEqualTo(16, "interleaved views must cost O(rank), not O(rows)");
        }
    }

    [Theory]
    [InlineData(0)]     // the same view
    [InlineData(4)]     // one element into the row: shares 7 elements of every row
    [InlineData(92)]    // the last element of slot 0's rows meets the first of slot 1's: 23 elements = 92 bytes
    public void Truly_overlapping_views_are_found(long offsetBytes)
    {
        nint[] strides = PackedStrides(4);
        TensorOverlap.Overlaps(Arg("o", 0, 4, Lengths, strides), Arg("q", offsetBytes, 4, Lengths, strides)).ShouldBeTrue();
        TensorOverlap.Overlaps(Arg("q", offsetBytes, 4, Lengths, strides), Arg("o", 0, 4, Lengths, strides)).ShouldBeTrue();
    }

    [Fact]
    public void Adjacent_rows_of_different_element_sizes_are_exact()
    {
        // fp16 rows of 8 (16 bytes) at a 64-byte pitch, and fp32 rows of 8 (32 bytes) at the same pitch: from byte 16 or
        // 32 the float rows fill gaps ([16, 48) or [32, 64) of every 64); from byte 12 each shares 4 bytes with a half row.
        nint[] halfStrides = [5 * 3 * 32, 3 * 32, 32, 1];
        nint[] floatStrides = [5 * 3 * 16, 3 * 16, 16, 1];
        TensorOverlap.Overlaps(Arg("o", 16, 4, Lengths, floatStrides), Arg("q", 0, 2, Lengths, halfStrides)).ShouldBeFalse();
        TensorOverlap.Overlaps(Arg("o", 32, 4, Lengths, floatStrides), Arg("q", 0, 2, Lengths, halfStrides)).ShouldBeFalse();
        TensorOverlap.Overlaps(Arg("o", 12, 4, Lengths, floatStrides), Arg("q", 0, 2, Lengths, halfStrides)).ShouldBeTrue();
    }

    /// <summary>Random small layouts (output: a padded, permuted row-major layout; input: any non-negative strides) against a byte map.</summary>
    [Fact]
    public void Agrees_with_brute_force_on_random_layouts()
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int overlapping = 0;
        long worst = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            int xSize = random.Next(2) == 0 ? 2 : 4, ySize = random.Next(2) == 0 ? 2 : 4;
            nint[] xLengths = RandomLengths(random), yLengths = RandomLengths(random);
            nint[] xStrides = NonOverlappingStrides(random, xLengths);
            nint[] yStrides = [random.Next(0, 40), random.Next(0, 40), random.Next(0, 40), 1];
            long xOffset = random.Next(0, 64) * xSize, yOffset = random.Next(0, 64) * ySize;
            bool expected = BruteForce(xOffset, xSize, xLengths, xStrides, yOffset, ySize, yLengths, yStrides);
            bool actual = TensorOverlap.Overlaps(Arg("x", xOffset, xSize, xLengths, xStrides), Arg("y", yOffset, ySize, yLengths, yStrides), out long visited);
            actual.ShouldBe(expected, $"trial {trial}: x +{xOffset} [{string.Join(",", xLengths)}] / [{string.Join(",", xStrides)}] × {xSize}, y +{yOffset} [{string.Join(",", yLengths)}] / [{string.Join(",", yStrides)}] × {ySize}");
            overlapping += expected ? 1 : 0;
            worst = Math.Max(worst, visited);
        }

        output.WriteLine($"{overlapping} of 3000 overlapping; at most {worst} search nodes");
        overlapping.ShouldBeInRange(300, 2700, "the random layouts must exercise both answers");
    }

    private static nint[] RandomLengths(Random random) => [random.Next(1, 4), random.Next(1, 4), random.Next(1, 4), random.Next(1, 5)];

    /// <summary>Row-major over a random order of the outer dims, with random padding: an output the binding accepts.</summary>
    private static nint[] NonOverlappingStrides(Random random, nint[] lengths)
    {
        var strides = new nint[4];
        strides[3] = 1;
        nint span = lengths[3] + random.Next(0, 4);
        int[] order = [0, 1, 2];
        random.Shuffle(order);
        foreach (int dim in order)
        {
            strides[dim] = span;
            span = (span * lengths[dim]) + random.Next(0, 4);
        }

        return strides;
    }

    private static bool BruteForce(long xOffset, int xSize, nint[] xl, nint[] xs, long yOffset, int ySize, nint[] yl, nint[] ys)
    {
        var bytes = new bool[4096];
        Visit(xOffset, xSize, xl, xs, at => bytes[at] = true);
        bool shared = false;
        Visit(yOffset, ySize, yl, ys, at => shared |= bytes[at]);
        return shared;
    }

    private static void Visit(long offset, int size, nint[] l, nint[] s, Action<long> visit)
    {
        for (int a = 0; a < l[0]; a++)
        {
            for (int b = 0; b < l[1]; b++)
            {
                for (int c = 0; c < l[2]; c++)
                {
                    for (int d = 0; d < l[3]; d++)
                    {
                        long element = offset + (((a * s[0]) + (b * s[1]) + (c * s[2]) + d) * size);
                        for (int k = 0; k < size; k++)
                        {
                            visit(element + k);
                        }
                    }
                }
            }
        }
    }

    /// <summary>A view at a fake address (never dereferenced: the check only does arithmetic on it).</summary>
    private static TensorArgument Arg(string name, long offsetBytes, int elementSize, nint[] lengths, nint[] strides) =>
        new(name, (void*)(0x10_0000 + offsetBytes), elementSize, lengths, strides);
}
