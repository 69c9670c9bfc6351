using System;
using System.Linq;
using KernelDsl.Reference;
using KernelDsl.Tests.Shared;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Serving;

/// <summary>
/// Issue 12, item 4: the CPU decode's eviction scores (<c>[PagedKv(EvictionScores = true)]</c>, keyMass [Σ L, Hkv]) against
/// the float64 <see cref="ServingReference.AttentionMass{T}"/>: ragged lengths with 0, 1 and page/tile boundaries ± 1, a
/// sequence with no queries, 1–4 queries, MHA, GQA 4 and 8, MQA, both layouts, shared prefix pages; the scores buffer
/// NaN-poisoned first; bit-identical on a second run. Fresh random inputs (seed printed).
/// </summary>
public sealed class EvictionScoresTests(ITestOutputHelper output)
{
    /// <summary>(Hq, Hkv, most queries): group × queries ≤ the spec's 16-row BlockQ.</summary>
    private static readonly (int HeadsQ, int HeadsKv, int MaxQueries)[] Groups = [(2, 2, 4), (8, 2, 4), (8, 1, 2), (4, 1, 4)];

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(48)]
    public void Decode_scores_match_the_reference_mass(int pageSize)
    {
        int seed = Random.Shared.Next();
        foreach (var (headsQ, headsKv, maxQueries) in Groups)
        {
            var random = new Random(seed + (headsQ * 10) + headsKv);
            var layout = random.Next(2) == 0 ? PagedKvLayout.PageHeadSlot : PagedKvLayout.PageSlotHead;
            var lengths = PagedKvFixture<float>.RaggedLengths(random, pageSize, 7, Math.Min((2 * pageSize) + 40, 140));
            var queries = lengths.Select(_ => 1 + random.Next(maxQueries)).ToArray();
            queries[random.Next(queries.Length)] = 0; // a sequence with no queries: its keys get 0
            var fixture = PagedKvFixture<float>.Create(random, lengths, queries, pageSize, headsKv, 32, 32, layout, pageSize + 3, lengths.Select(_ => random.Next(3) > 0).ToArray());
            var batch = fixture.Batch;
            var q = RandomTensors.Uniform<float>(random, batch.TotalQueries * headsQ * 32);
            var o = ServingCase.Poisoned<float>(q.Length);
            var lse = ServingCase.Poisoned<float>(batch.TotalQueries * headsQ);
            var mass = ServingCase.Poisoned<float>((int)batch.TotalKvTokens * headsKv);

            EvictScoresFp32.Decode(q, fixture.Cache, o, lse, mass, batch, headsQ);

            var expected = ServingReference.AttentionMass<float>(q, fixture.Cache, batch, headsQ, 1 / Math.Sqrt(32), EvictScoresFp32.Serving.BandFor);
            double worst = 0;
            for (int i = 0; i < mass.Length; i++)
            {
                float.IsFinite(mass[i]).ShouldBeTrue($"seed {seed}, Hq/Hkv {headsQ}/{headsKv}, element {i} not written");
                worst = Math.Max(worst, Math.Abs(mass[i] - expected[i]) / (1 + expected[i]));
            }

            output.WriteLine($"page {pageSize} Hq/Hkv {headsQ}/{headsKv} {layout} lengths [{string.Join(", ", lengths)}] queries [{string.Join(", ", queries)}]: "
                             + $"worst |mass − reference| / (1 + reference) {worst:E2} (seed {seed})");
            worst.ShouldBeLessThan(2e-5, $"seed {seed}, Hq/Hkv {headsQ}/{headsKv}");
            SumsPerSequence(mass, lengths, queries, headsQ, headsKv, seed);

            // Deterministic: the same call again writes the same bits.
            var again = ServingCase.Poisoned<float>(mass.Length);
            EvictScoresFp32.Decode(q, fixture.Cache, o, lse, again, batch, headsQ);
            again.ShouldBe(mass, $"seed {seed}: a second run changed the scores");
        }
    }

    [Fact]
    public void The_fused_step_scores_its_cache_with_the_new_tokens_included()
    {
        int seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}");
        var random = new Random(seed);
        int headsQ = 8, headsKv = 2, d = 64, pageSize = 16;
        var lengths = new[] { 0, 15, 16, 31, 70 }; // before the step: empty, a page boundary − 1 (the new token fills the page), on it, long
        var fixture = PagedKvFixture<BFloat16>.Create(random, lengths, lengths.Select(_ => 1).ToArray(), pageSize, headsKv, d, d, PagedKvLayout.PageHeadSlot, 0, lengths.Select(_ => false).ToArray());
        // Room for the new token: a fresh table with one more page where a page fills.
        var before = fixture.Batch;
        var q = RandomTensors.Uniform<BFloat16>(random, lengths.Length * headsQ * d);
        var k = RandomTensors.Uniform<BFloat16>(random, lengths.Length * headsKv * d);
        var v = RandomTensors.Uniform<BFloat16>(random, lengths.Length * headsKv * d);
        var (cache, batch) = WithRoom(fixture.Cache, before, pageSize);
        var o = ServingCase.Poisoned<BFloat16>(q.Length);
        var mass = ServingCase.Poisoned<float>((lengths.Sum() + lengths.Length) * headsKv);

        var after = EvictAppendBf16.DecodeAppend(q, k, v, cache, o, mass, batch, headsQ);

        // The reference: q rotated at each sequence's position (as the prologue rounds it), over the cache the step wrote.
        var widened = q.Select(x => (float)x).ToArray();
        EvictAppendBf16.Serving.Rotary!.Apply(widened, lengths, widened);
        var rotated = widened.Select(x => (BFloat16)x).ToArray();
        var expected = ServingReference.AttentionMass<BFloat16>(rotated, cache, after, headsQ, 1 / Math.Sqrt(d), EvictAppendBf16.Serving.BandFor);
        for (int i = 0; i < mass.Length; i++)
        {
            ((double)mass[i]).ShouldBe(expected[i], 2e-5 * (1 + expected[i]), $"seed {seed}, element {i}");
        }

        SumsPerSequence(mass, after.KvLengths.ToArray(), lengths.Select(_ => 1).ToArray(), headsQ, headsKv, seed);
    }

    [Fact]
    public void A_scores_buffer_of_the_wrong_length_is_refused_before_the_step_writes_anything()
    {
        var geometry = new PagedKvGeometry(2, 16, 2, 64, 64);
        var cache = new PagedKvCache<BFloat16>(geometry);
        var batch = new PagedKvBatch([0, 1], [3], [0, 1], 2);
        var q = new BFloat16[8 * 64];
        var kv = Enumerable.Repeat((BFloat16)1f, 2 * 64).ToArray();
        var o = new BFloat16[q.Length];

        // After the step the sequence holds 4 tokens × 2 KV heads = 8 scores.
        Should.Throw<ArgumentException>(() => EvictAppendBf16.DecodeAppend(q, kv, kv, cache, o, new float[6], batch, 8)).ParamName.ShouldBe("keyMass");
        cache.Keys.ToArray().ShouldAllBe(x => (float)x == 0f); // nothing appended
        Should.Throw<ArgumentException>(() => EvictScoresFp32.Decode(new float[4 * 32], new PagedKvCache<float>(new PagedKvGeometry(2, 16, 1, 32, 32)), new float[4 * 32], new float[4], new float[2], new PagedKvBatch([0, 1], [3], [0], 1), 4))
            .ParamName.ShouldBe("keyMass");
    }

    [Fact]
    public void A_group_too_large_for_one_work_item_is_refused_naming_headsQ()
    {
        // BlockQ is 16: 8 query heads per KV head × 4 queries = 32 rows would need two work items writing the same scores.
        var cache = new PagedKvCache<float>(new PagedKvGeometry(2, 16, 1, 32, 32));
        var batch = new PagedKvBatch([0, 4], [5], [0], 1);
        Should.Throw<ArgumentException>(() => EvictScoresFp32.Decode(new float[4 * 8 * 32], cache, new float[4 * 8 * 32], new float[4 * 8], new float[5], batch, 8))
            .ParamName.ShouldBe("headsQ");
    }

    /// <summary>
    /// Each query row that keeps a key has probabilities summing to 1; under the bottom-right causal mask query i of q sees keys
    /// up to L − q + i, so min(q, L) queries do. A (sequence, KV head)'s masses sum to group × min(q, L).
    /// </summary>
    private static void SumsPerSequence(float[] mass, int[] lengths, int[] queries, int headsQ, int headsKv, int seed)
    {
        long start = 0;
        for (int s = 0; s < lengths.Length; s++)
        {
            for (int g = 0; g < headsKv; g++)
            {
                double sum = 0;
                for (int t = 0; t < lengths[s]; t++)
                {
                    sum += mass[((start + t) * headsKv) + g];
                }

                double expected = Math.Min(queries[s], lengths[s]) * (headsQ / headsKv);
                sum.ShouldBe(expected, 1e-4 * (1 + expected), $"seed {seed}, sequence {s}, KV head {g}");
            }

            start += lengths[s];
        }
    }

    /// <summary>A copy of the cache with one spare page per sequence in its table (the new token's page where one fills).</summary>
    private static (PagedKvCache<BFloat16> Cache, PagedKvBatch Batch) WithRoom(PagedKvCache<BFloat16> cache, PagedKvBatch batch, int pageSize)
    {
        var g = cache.Geometry;
        int extra = batch.Sequences;
        var grown = new PagedKvCache<BFloat16>(new PagedKvGeometry(g.Pages + extra, g.PageSize, g.HeadsKv, g.HeadDim, g.ValueHeadDim, g.Layout));
        cache.Keys.Span.CopyTo(grown.Keys.Span);
        cache.Values.Span.CopyTo(grown.Values.Span);
        int maxPages = batch.MaxPagesPerSequence + 1;
        var table = new int[batch.Sequences * maxPages];
        Array.Fill(table, -1);
        for (int s = 0; s < batch.Sequences; s++)
        {
            int used = PagedKvBatch.PagesNeeded(batch.KvLengths.Span[s], pageSize);
            batch.PagesOf(s)[..used].CopyTo(table.AsSpan(s * maxPages));
            table[(s * maxPages) + used] = g.Pages + s;
        }

        return (grown, new PagedKvBatch(batch.QueryOffsets.Span, batch.KvLengths.Span, table, maxPages));
    }
}
