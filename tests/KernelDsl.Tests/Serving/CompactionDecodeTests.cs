using System;
using System.Linq;
using KernelDsl.Reference;
using KernelDsl.Tests.Shared;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Serving;

/// <summary>
/// Issue 12, item 3, through the generated CPU <c>Decode</c>: K stored after rotary at its original positions, compacted
/// with a random keep mask, then decoded (outputs NaN-poisoned) — equal to the float64 reference over a fresh cache that
/// holds only the kept tokens. Fresh random inputs (seed printed).
/// </summary>
public sealed class CompactionDecodeTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(RotaryConvention.Interleaved, 16, 32, KeepPattern.Random)]
    [InlineData(RotaryConvention.HalfSplit, 16, 24, KeepPattern.Random)]
    [InlineData(RotaryConvention.HalfSplit, 7, 32, KeepPattern.Alternating)]
    [InlineData(RotaryConvention.Interleaved, 64, 16, KeepPattern.None)]
    public void Decode_over_the_compacted_cache_equals_the_reference_over_the_kept_tokens(RotaryConvention convention, int pageSize, int rotaryDim, KeepPattern pattern)
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int headsKv = 2, headsQ = 8, d = 32;
        var rope = new RotaryEmbedding(d, rotaryDim, 10000, convention);
        var lengths = PagedKvFixture<float>.RaggedLengths(random, pageSize, 6, (3 * pageSize) + 9);
        var layout = random.Next(2) == 0 ? PagedKvLayout.PageHeadSlot : PagedKvLayout.PageSlotHead;
        var fixture = CompactionCase.RotatedCache(random, lengths, pageSize, headsKv, d, layout, rope);
        var keep = CompactionCase.Mask(random, lengths, pattern);
        var q = RandomTensors.Uniform<float>(random, lengths.Length * headsQ * d);
        rope.Apply(q, lengths, q);
        var (keptCache, keptBatch) = CompactionCase.KeptOnly(fixture, keep, lengths, fixture.Cache.Geometry);
        double scale = 1 / Math.Sqrt(d);
        var expected = ServingReference.Decode<float>(q, keptCache, keptBatch, headsQ, scale, ServingCausalFp32.Plan.Parameters.BandFor);

        var result = fixture.Cache.Compact(fixture.Batch, keep);
        var compacted = new PagedKvBatch(fixture.Batch.QueryOffsets.Span, result.KvLengths, fixture.Batch.PageTable.Span, fixture.Batch.MaxPagesPerSequence);
        var o = ServingCase.Poisoned<float>(q.Length);
        var lse = ServingCase.Poisoned<float>(lengths.Length * headsQ);
        ServingCausalFp32.Decode(q, fixture.Cache, o, lse, compacted, headsQ);

        for (int i = 0; i < o.Length; i++)
        {
            ((double)o[i]).ShouldBe(expected.Output[i], 2e-5, $"seed {seed}, element {i}");
        }

        for (int i = 0; i < lse.Length; i++)
        {
            if (double.IsNegativeInfinity(expected.Lse[i]))
            {
                float.IsNegativeInfinity(lse[i]).ShouldBeTrue($"seed {seed}, row {i}: a sequence with nothing kept has LSE = −∞");
            }
            else
            {
                ((double)lse[i]).ShouldBe(expected.Lse[i], 2e-5, $"seed {seed}, row {i}");
            }
        }
    }
}
