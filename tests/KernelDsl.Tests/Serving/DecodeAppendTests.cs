using System;
using System.Linq;
using KernelDsl.Reference;
using KernelDsl.Tests.Numerics;
using KernelDsl.Tests.Shared;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Serving;

/// <summary>
/// The generated CPU <c>DecodeAppend</c> (issue 12, items 1–2): new tokens' q, k, v rotated, k and v appended at each sequence's
/// length, attention over the cache — against the float64 reference built from the definitions (RotaryEmbedding.Apply on q and
/// k, the tokens written into a copy of the cache, attention over the gathered contiguous K/V). Lengths before the step include
/// 0, 1 and page boundaries ± 1 (so appends start at slot pageSize − 1 and cross into the next page), 0–16 new tokens per
/// sequence, GQA, both pool layouts, both rotary conventions, partial rotary; two steps in a row; outputs NaN-poisoned; the
/// whole pool compared with the reference's (nothing else written). Fresh random inputs (seed printed).
/// </summary>
public sealed class DecodeAppendTests(ITestOutputHelper output)
{
    private delegate PagedKvBatch Step<TIn, TOut>(TIn[] q, TIn[] k, TIn[] v, PagedKvCache<TIn> cache, TOut[] output, float[]? lse, PagedKvBatch batch, int headsQ)
        where TIn : unmanaged
        where TOut : unmanaged;

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(48)]
    public void Fp32_half_split_step_matches_the_reference(int pageSize) =>
        Run<float, float>(pageSize, (q, k, v, c, o, l, b, h) => AppendRopeHalfSplitFp32.DecodeAppend(q, k, v, c, o, l, b, h), AppendRopeHalfSplitFp32.Plan.Parameters.BandFor,
            AppendRopeHalfSplitFp32.Serving.Rotary, 32, 32, DType.FP32, maxQueries: 16, lse: true);

    [Theory]
    [InlineData(16)]
    [InlineData(64)]
    public void Bf16_interleaved_partial_step_matches_the_reference(int pageSize) =>
        Run<BFloat16, BFloat16>(pageSize, (q, k, v, c, o, l, b, h) => AppendRopeInterleavedBf16.DecodeAppend(q, k, v, c, o, l, b, h), AppendRopeInterleavedBf16.Plan.Parameters.BandFor,
            AppendRopeInterleavedBf16.Serving.Rotary, 64, 64, DType.BF16, maxQueries: 16, lse: true);

    [Fact]
    public void Append_without_rotary_matches_the_reference() =>
        Run<float, float>(16, (q, k, v, c, o, _, b, h) => AppendOnlyFixedPage.DecodeAppend(q, k, v, c, o, b, h), AppendOnlyFixedPage.Plan.Parameters.BandFor,
            AppendOnlyFixedPage.Serving.Rotary, 16, 32, DType.FP32, maxQueries: 4, lse: false);

    [Fact]
    public void The_spec_constants_describe_its_rotary()
    {
        var rope = AppendRopeInterleavedBf16.Serving.Rotary!;
        (rope.HeadDim, rope.RotaryDim, rope.Base, rope.Convention).ShouldBe((64, 48, 500000.0, RotaryConvention.Interleaved));
        AppendRopeHalfSplitFp32.Serving.Rotary!.RotaryDim.ShouldBe(32);
        AppendOnlyFixedPage.Serving.Rotary.ShouldBeNull();
    }

    [Fact]
    public void A_step_that_needs_a_page_the_row_does_not_have_throws_before_writing()
    {
        var geometry = new PagedKvGeometry(2, 16, 1, 32, 32);
        var cache = new PagedKvCache<float>(geometry);
        var batch = new PagedKvBatch([0, 2], [15], [1], 1); // 15 + 2 tokens need two pages
        var q = new float[2 * 2 * 32];
        var kv = new float[2 * 32];
        var ex = Should.Throw<ArgumentException>(() => AppendRopeHalfSplitFp32.DecodeAppend(q, kv, kv, cache, new float[q.Length], new float[4], batch, 2));
        ex.ParamName.ShouldBe("kvLengths");
        cache.Keys.ToArray().ShouldAllBe(x => x == 0f);
    }

    [Fact]
    public void K_or_v_of_the_wrong_length_is_named()
    {
        var cache = new PagedKvCache<float>(new PagedKvGeometry(2, 16, 1, 32, 32));
        var batch = new PagedKvBatch([0, 1], [3], [0], 1);
        var q = new float[2 * 32];
        Should.Throw<ArgumentException>(() => AppendRopeHalfSplitFp32.DecodeAppend(q, new float[31], new float[32], cache, new float[q.Length], new float[2], batch, 2)).ParamName.ShouldBe("k");
        Should.Throw<ArgumentException>(() => AppendRopeHalfSplitFp32.DecodeAppend(q, new float[32], new float[33], cache, new float[q.Length], new float[2], batch, 2)).ParamName.ShouldBe("v");
        Should.Throw<ArgumentException>(() => AppendRopeHalfSplitFp32.DecodeAppend(q, cache.Keys.Span.Slice(0, 32).ToArray(), cache.Values.Slice(0, 32).ToArray(), cache, q, new float[2], batch, 2)).ParamName.ShouldBe("output");
    }

    private void Run<TIn, TOut>(int pageSize, Step<TIn, TOut> step, Func<AttentionShape, MaskBand> band, RotaryEmbedding? rope, int d, int dv, DType outputType, int maxQueries, bool lse)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        int seed = Random.Shared.Next();
        foreach (var (headsQ, headsKv) in new[] { (4, 4), (8, 2), (4, 1) })
        {
            var random = new Random(seed + (headsQ * 10) + headsKv);
            var layout = random.Next(2) == 0 ? PagedKvLayout.PageHeadSlot : PagedKvLayout.PageSlotHead;
            var before = PagedKvFixture<TIn>.RaggedLengths(random, pageSize, 7, Math.Min((2 * pageSize) + 5, 200));
            var first = before.Select(_ => random.Next(maxQueries + 1)).ToArray();
            first[random.Next(first.Length)] = maxQueries;
            first[Array.IndexOf(before, 0)] = Math.Max(first[Array.IndexOf(before, 0)], 1);
            var second = before.Select(_ => 1 + random.Next(maxQueries)).ToArray();
            var final = before.Select((l, s) => l + first[s] + second[s]).ToArray();

            // The fixture's pool and page table fit the lengths after both steps; its slots past `before` hold junk the steps overwrite.
            var fixture = PagedKvFixture<TIn>.Create(random, final, first, pageSize, headsKv, d, dv, layout, 0, new bool[final.Length]);
            var batch = new PagedKvBatch(fixture.Batch.QueryOffsets.Span, before, fixture.Batch.PageTable.Span, fixture.Batch.MaxPagesPerSequence);
            var expectedCache = new PagedKvCache<TIn>(fixture.Cache.Geometry, fixture.Cache.Keys.ToArray(), fixture.Cache.Values.ToArray());
            foreach (var queries in new[] { first, second })
            {
                if (queries == second)
                {
                    var offsets = new int[queries.Length + 1];
                    for (int s = 0; s < queries.Length; s++)
                    {
                        offsets[s + 1] = offsets[s] + queries[s];
                    }

                    batch = new PagedKvBatch(offsets, batch.KvLengths.Span, batch.PageTable.Span, batch.MaxPagesPerSequence);
                }

                int tokens = batch.TotalQueries;
                var q = RandomTensors.Uniform<TIn>(random, tokens * headsQ * d);
                var k = RandomTensors.Uniform<TIn>(random, tokens * headsKv * d);
                var v = RandomTensors.Uniform<TIn>(random, tokens * headsKv * dv);
                var expected = Reference(q, k, v, expectedCache, batch, headsQ, rope, band, d);
                var o = ServingCase.Poisoned<TOut>(tokens * headsQ * dv);
                var l = lse ? ServingCase.Poisoned<float>(tokens * headsQ) : null;

                var after = step(q, k, v, fixture.Cache, o, l, batch, headsQ);

                after.KvLengths.ToArray().ShouldBe(batch.KvLengths.ToArray().Select((n, s) => n + batch.QueryCount(s)).ToArray(), $"seed {seed}");
                fixture.Cache.Keys.ToArray().ShouldBe(expectedCache.Keys.ToArray(), $"seed {seed}: the pool holds the rotated keys at their positions, nothing else changed");
                fixture.Cache.Values.ToArray().ShouldBe(expectedCache.Values.ToArray(), $"seed {seed}");
                double outputError = ErrorMetrics.RelativeError<TOut>(o, expected.Output);
                double lseError = l is null ? 0 : ErrorMetrics.MaxLseError(l, expected.Lse);
                output.WriteLine($"page {pageSize} Hq/Hkv {headsQ}/{headsKv} {layout} before [{string.Join(", ", batch.KvLengths.ToArray())}] new [{string.Join(", ", queries)}]: O {outputError:E2}, LSE {lseError:E2} (seed {seed})");
                outputError.ShouldBeLessThan(Tolerances.Output(outputType, false), $"seed {seed}, Hq/Hkv {headsQ}/{headsKv}");
                lseError.ShouldBeLessThan(Tolerances.Lse(false) * 4, $"seed {seed}, Hq/Hkv {headsQ}/{headsKv}");
                batch = after;
            }
        }
    }

    /// <summary>
    /// From the definitions: q and k rotated by RotaryEmbedding.Apply (float64, at positions before[s] + i) and rounded to the
    /// element type, the tokens written one by one into <paramref name="cache"/>, then attention over the gathered K/V.
    /// </summary>
    private static ReferenceResult Reference<T>(T[] q, T[] k, T[] v, PagedKvCache<T> cache, PagedKvBatch batch, int headsQ, RotaryEmbedding? rope, Func<AttentionShape, MaskBand> band, int d)
        where T : unmanaged
    {
        var positions = new int[batch.TotalQueries];
        for (int s = 0; s < batch.Sequences; s++)
        {
            for (int i = 0; i < batch.QueryCount(s); i++)
            {
                positions[batch.QueryOffsets.Span[s] + i] = batch.KvLengths.Span[s] + i;
            }
        }

        var qRotated = Rotate(q, positions, rope);
        var kRotated = Rotate(k, positions, rope);
        var g = cache.Geometry;
        int keyRow = g.HeadsKv * g.HeadDim, valueRow = g.HeadsKv * g.ValueHeadDim;
        for (int s = 0; s < batch.Sequences; s++)
        {
            for (int i = 0; i < batch.QueryCount(s); i++)
            {
                int token = batch.QueryOffsets.Span[s] + i;
                cache.WriteToken(batch.PagesOf(s), positions[token], kRotated.AsSpan(token * keyRow, keyRow), v.AsSpan(token * valueRow, valueRow));
            }
        }

        return ServingReference.Decode<T>(qRotated, cache, batch.AfterAppend(), headsQ, 1 / Math.Sqrt(d), band);
    }

    private static T[] Rotate<T>(T[] x, int[] positions, RotaryEmbedding? rope)
        where T : unmanaged
    {
        if (rope is null)
        {
            return x;
        }

        var wide = x.Select(e => (float)Convert.ToDouble(e is BFloat16 b ? (float)b : e, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        rope.Apply(wide, positions, wide);
        return wide.Select(RandomTensors.FromFloat<T>).ToArray();
    }
}
