using System;
using System.Linq;
using KernelDsl.Reference;
using KernelDsl.Tests.Numerics;
using KernelDsl.Tests.Shared;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Serving;

/// <summary>
/// The generated CPU <c>Decode</c> over a paged cache against the float64 reference on the gathered contiguous K/V: shuffled,
/// non-contiguous page tables with pages shared as a common prefix, both pool layouts, ragged lengths (0, 1, page
/// boundaries ± 1), 1–16 queries per sequence, GQA ratios 1, 4, 8 and MQA, page sizes 1, 16, 48, 64 and 256; outputs
/// NaN-poisoned; fresh random inputs (seed printed).
/// </summary>
public sealed class PagedDecodeTests(ITestOutputHelper output)
{
    /// <summary>(Hq, Hkv): MHA, GQA 4, GQA 8, MQA.</summary>
    private static readonly (int HeadsQ, int HeadsKv)[] Groups = [(2, 2), (8, 2), (8, 1), (4, 1)];

    public static TheoryData<int> PageSizes => new(1, 16, 48, 64, 256);

    [Theory]
    [MemberData(nameof(PageSizes))]
    public void Fp32_decode_matches_the_reference(int pageSize) =>
        Run<float, float>(pageSize, (q, cache, o, lse, batch, hq) => ServingCausalFp32.Decode(q, cache, o, lse, batch, hq), ServingCausalFp32.Plan.Parameters.BandFor, 32, DType.FP32, maxQueries: 16);

    [Theory]
    [MemberData(nameof(PageSizes))]
    public void Bf16_decode_matches_the_reference(int pageSize) =>
        Run<BFloat16, BFloat16>(pageSize, (q, cache, o, lse, batch, hq) => ServingCausalBf16.Decode(q, cache, o, lse, batch, hq), ServingCausalBf16.Plan.Parameters.BandFor, 64, DType.BF16, maxQueries: 16);

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(48)]
    public void Sliding_window_decode_matches_the_reference(int pageSize) =>
        Run<float, float>(pageSize, (q, cache, o, lse, batch, hq) => WindowDecodeFp32.Decode(q, cache, o, lse, batch, hq), WindowDecodeFp32.Plan.Parameters.BandFor, 32, DType.FP32, maxQueries: 4, maxLength: 200);

    private delegate void DecodeCall<TIn, TOut>(TIn[] q, PagedKvCache<TIn> cache, TOut[] output, float[] lse, PagedKvBatch batch, int headsQ)
        where TIn : unmanaged
        where TOut : unmanaged;

    private void Run<TIn, TOut>(int pageSize, DecodeCall<TIn, TOut> decode, Func<AttentionShape, MaskBand> band, int headDim, DType outputType, int maxQueries, int maxLength = 0)
        where TIn : unmanaged
        where TOut : unmanaged
    {
        int seed = Random.Shared.Next();
        foreach (var (headsQ, headsKv) in Groups)
        {
            var random = new Random(seed + (headsQ * 10) + headsKv);
            var layout = random.Next(2) == 0 ? PagedKvLayout.PageHeadSlot : PagedKvLayout.PageSlotHead;
            var lengths = PagedKvFixture<TIn>.RaggedLengths(random, pageSize, 7, maxLength > 0 ? maxLength : Math.Min((2 * pageSize) + 5, 300));
            var queries = lengths.Select(_ => 1 + random.Next(maxQueries)).ToArray();
            queries[random.Next(queries.Length)] = maxQueries;
            var shares = lengths.Select(_ => random.Next(3) > 0).ToArray();
            var fixture = PagedKvFixture<TIn>.Create(random, lengths, queries, pageSize, headsKv, headDim, headDim, layout, pageSize + 3, shares);
            var batch = fixture.Batch;
            var q = RandomTensors.Uniform<TIn>(random, batch.TotalQueries * headsQ * headDim);
            var o = ServingCase.Poisoned<TOut>(batch.TotalQueries * headsQ * headDim);
            var lse = ServingCase.Poisoned<float>(batch.TotalQueries * headsQ);

            decode(q, fixture.Cache, o, lse, batch, headsQ);

            var reference = ServingReference.Decode<TIn>(q, fixture.Cache, batch, headsQ, 1 / Math.Sqrt(headDim), band);
            var (outputError, lseError) = ServingCase.Errors(o, lse, reference);
            output.WriteLine($"page {pageSize} Hq/Hkv {headsQ}/{headsKv} {layout} lengths [{string.Join(", ", lengths)}] queries [{string.Join(", ", queries)}]: "
                             + $"O {outputError:E2}, LSE {lseError:E2} (seed {seed})");
            outputError.ShouldBeLessThan(Tolerances.Output(outputType, false), $"seed {seed}, Hq/Hkv {headsQ}/{headsKv}");
            lseError.ShouldBeLessThan(Tolerances.Lse(false) * 4, $"seed {seed}, Hq/Hkv {headsQ}/{headsKv}");
        }
    }

    [Fact]
    public void A_sequence_of_length_0_gives_zeros_and_minus_infinity()
    {
        var geometry = new PagedKvGeometry(2, 16, 1, 32, 32);
        var cache = new PagedKvCache<float>(geometry);
        var batch = new PagedKvBatch([0, 2, 3], [0, 5], [-1, 1], 1);
        var random = new Random(Random.Shared.Next());
        var q = RandomTensors.Uniform<float>(random, 3 * 2 * 32);
        var o = ServingCase.Poisoned<float>(q.Length);
        var lse = ServingCase.Poisoned<float>(3 * 2);
        ServingCausalFp32.Decode(q, cache, o, lse, batch, 2);
        o.Take(2 * 2 * 32).ShouldAllBe(x => x == 0f);
        lse.Take(4).ShouldAllBe(x => float.IsNegativeInfinity(x));
        lse.Skip(4).ShouldAllBe(x => float.IsFinite(x));
    }

    /// <summary>The CPU side of GpuEmptyBackwardAndDecodeTests' decode cases (same fixtures): no sequences or no queries is a no-op, no keys anywhere gives 0 and −∞.</summary>
    [Theory]
    [InlineData(new int[0], new int[0])]
    [InlineData(new[] { 5, 17 }, new[] { 0, 0 })]
    [InlineData(new[] { 0, 0, 0 }, new[] { 1, 3, 2 })]
    public void An_empty_batch_is_a_no_op_or_gives_zeros_and_minus_infinity(int[] lengths, int[] queries)
    {
        var random = new Random(Random.Shared.Next());
        var fixture = PagedKvFixture<float>.Create(random, lengths, queries, 16, 1, 32, 32, PagedKvLayout.PageHeadSlot, 0, lengths.Select(_ => false).ToArray());
        int rows = fixture.Batch.TotalQueries * 2;
        var q = RandomTensors.Uniform<float>(random, rows * 32);
        var o = ServingCase.Poisoned<float>(rows * 32);
        var lse = ServingCase.Poisoned<float>(rows);
        ServingCausalFp32.Decode(q, fixture.Cache, o, lse, fixture.Batch, 2);
        o.ShouldAllBe(x => x == 0f);
        lse.ShouldAllBe(x => float.IsNegativeInfinity(x));
    }

    [Fact]
    public void Misuse_at_the_call_names_the_argument()
    {
        var geometry = new PagedKvGeometry(2, 16, 1, 32, 32);
        var cache = new PagedKvCache<float>(geometry);
        var batch = new PagedKvBatch([0, 1], [17], [0, 1], 2);
        var q = new float[2 * 32];
        var o = new float[2 * 32];
        var lse = new float[2];
        ServingCausalFp32.Decode(q, cache, o, lse, batch, 2);

        Should.Throw<ArgumentException>(() => ServingCausalFp32.Decode(q, new PagedKvCache<float>(geometry with { HeadDim = 16 }), o, lse, batch, 2)).ParamName.ShouldBe("cache");
        Should.Throw<ArgumentException>(() => ServingCausalFp32.Decode(q, cache, o, lse, new PagedKvBatch([0, 1], [17], [0, 2], 2), 2)).ParamName.ShouldBe("pageTable");
        Should.Throw<ArgumentException>(() => ServingCausalFp32.Decode(q, cache, o, lse, new PagedKvBatch([0, 1], [33], [0, 1], 2), 2)).ParamName.ShouldBe("kvLengths");
        Should.Throw<ArgumentException>(() => ServingCausalFp32.Decode(q, cache, o, lse, new PagedKvBatch([0, 17], [17], [0, 1], 2), 2)).ParamName.ShouldBe("queryOffsets");
        Should.Throw<ArgumentException>(() => ServingCausalFp32.Decode(q, cache, o, lse, batch, 3)).ParamName.ShouldBe("q");
        Should.Throw<ArgumentException>(() => ServingCausalFp32.Decode(q, cache, o, lse.AsSpan(1), batch, 2)).ParamName.ShouldBe("lse");
        Should.Throw<ArgumentException>(() => ServingCausalFp32.Decode(q, cache, cache.Keys.Span.Slice(0, o.Length), lse, batch, 2)).ParamName.ShouldBe("output");
        var wrongPageSize = Should.Throw<ArgumentException>(() => FixedPageDecode.Decode(new float[16], new PagedKvCache<float>(new PagedKvGeometry(1, 8, 1, 16, 32)), new float[32], new PagedKvBatch([0, 1], [1], [0], 1), 1));
        wrongPageSize.ParamName.ShouldBe("cache");
        wrongPageSize.Message.ShouldContain("pages of 16 tokens");
    }

    [Fact]
    public void A_fixed_page_size_spec_decodes_its_page_size()
    {
        var random = new Random(Random.Shared.Next());
        int[] lengths = [16, 17, 40];
        var fixture = PagedKvFixture<float>.Create(random, lengths, [1, 1, 1], 16, 1, 16, 32, PagedKvLayout.PageSlotHead, 16, [true, true, false]);
        var q = RandomTensors.Uniform<float>(random, 3 * 2 * 16);
        var o = ServingCase.Poisoned<float>(3 * 2 * 32);
        FixedPageDecode.Decode(q, fixture.Cache, o, fixture.Batch, 2);
        var reference = ServingReference.Decode<float>(q, fixture.Cache, fixture.Batch, 2, 0.25, FixedPageDecode.Plan.Parameters.BandFor);
        ErrorMetrics.RelativeError<float>(o, reference.Output).ShouldBeLessThan(Tolerances.Output(DType.FP32, false));
    }
}
