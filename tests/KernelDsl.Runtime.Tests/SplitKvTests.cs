using System;
using System.Linq;
using KernelDsl;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>The split-KV LSE merge (SplitKvMerge), against attention over all keys at once. The split count rule is the device
/// launcher's (KernelDsl.Cuda.DecodeSplits, tested in DecodeSplitsTests).</summary>
public class SplitKvTests
{
    [Theory]
    [InlineData(3, 17)]
    [InlineData(5, 64)]
    [InlineData(1, 9)]
    public void Merged_splits_equal_attention_over_all_keys(int splits, int keysPerSplit)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        int sq = 4, skv = ((splits - 1) * keysPerSplit) + 1 + random.Next(keysPerSplit), hq = 4, hkv = 2, d = 16;
        var shape = new AttentionShape(1, sq, skv, hq, hkv, d, d);
        var q = RandomTensors.Uniform<float>(random, sq * hq * d, 2f);
        var k = RandomTensors.Uniform<float>(random, skv * hkv * d, 2f);
        var v = RandomTensors.Uniform<float>(random, skv * hkv * d);
        var band = MaskBand.For(MaskKind.Causal, MaskAlignment.BottomRight, 0, 0, sq, skv);
        var whole = AttentionReference.Compute<float>(q, k, v, shape, TensorLayout.BSHD, 0.25, band);

        // Each split: the same attention restricted to its keys (the reference's LSE is [1, Hq, Sq]; the merge wants [rows = Sq·Hq]).
        int rows = sq * hq;
        var partialOutput = new float[splits * rows * d];
        var partialLse = new float[splits * rows];
        for (int c = 0; c < splits; c++)
        {
            int first = c * keysPerSplit, end = first + keysPerSplit;
            var part = AttentionReference.Compute<float>(q, k, v, shape, TensorLayout.BSHD, 0.25, band, null, (_, _, _, j) => j >= first && j < end);
            for (int i = 0; i < sq; i++)
            {
                for (int h = 0; h < hq; h++)
                {
                    int row = (i * hq) + h;
                    partialLse[(c * rows) + row] = (float)part.Lse[(h * sq) + i];
                    for (int x = 0; x < d; x++)
                    {
                        partialOutput[(((c * rows) + row) * d) + x] = (float)part.Output[(row * d) + x];
                    }
                }
            }
        }

        var output = new float[rows * d];
        var lse = new float[rows];
        SplitKvMerge.Merge<float>(partialOutput, partialLse, splits, d, output, lse);
        ErrorMetrics.RelativeError<float>(output, whole.Output).ShouldBeLessThan(1e-6, $"seed {seed}");
        var expectedLse = Enumerable.Range(0, rows).Select(row => whole.Lse[(row % hq * sq) + (row / hq)]).ToArray();
        ErrorMetrics.MaxLseError(lse, expectedLse).ShouldBeLessThan(1e-5, $"seed {seed}");
    }

    [Fact]
    public void A_row_whose_splits_kept_no_key_gives_zero_and_minus_infinity()
    {
        var partialOutput = new float[] { 0, 0, 5, 7 };
        var partialLse = new[] { float.NegativeInfinity, float.NegativeInfinity };
        var output = new float[] { float.NaN, float.NaN };
        var lse = new[] { float.NaN };
        SplitKvMerge.Merge<float>(partialOutput, partialLse, 2, 2, output, lse);
        output.ShouldBe([0f, 0f]);
        float.IsNegativeInfinity(lse[0]).ShouldBeTrue();

        partialLse[1] = 1.5f; // one split kept keys: the row is that split's
        SplitKvMerge.Merge<float>(partialOutput, partialLse, 2, 2, output, lse);
        output.ShouldBe([5f, 7f]);
        lse[0].ShouldBe(1.5f);
    }

    [Fact]
    public void Mis_sized_partials_are_named() =>
        Should.Throw<ArgumentException>(() => SplitKvMerge.Merge<float>(new float[5], new float[2], 2, 2, new float[2], default)).ParamName.ShouldBe("partialOutput");
}
