using System;
using System.Linq;
using KernelDsl;
using KernelDsl.Reference;
using KernelDsl.Tests.Shared;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>
/// <see cref="KvCompaction.Compact{T}"/> (issue 12, item 3) on random paged caches with shuffled page tables and junk in
/// unused pages: lengths 0, 1, page boundaries ± 1 and long ones; masks keep none, all, alternating and random; both
/// layouts; fresh random inputs (seed printed).
/// </summary>
public sealed class KvCompactionTests
{
    [Theory]
    [InlineData(KeepPattern.None, 1)]
    [InlineData(KeepPattern.All, 16)]
    [InlineData(KeepPattern.Alternating, 16)]
    [InlineData(KeepPattern.Alternating, 7)]
    [InlineData(KeepPattern.Random, 1)]
    [InlineData(KeepPattern.Random, 16)]
    [InlineData(KeepPattern.Random, 48)]
    public void Kept_tokens_move_to_the_front_in_order_and_the_pages_past_them_are_freed(KeepPattern pattern, int pageSize)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        var lengths = PagedKvFixture<float>.RaggedLengths(random, pageSize, 7, (3 * pageSize) + 5);
        var layout = random.Next(2) == 0 ? PagedKvLayout.PageHeadSlot : PagedKvLayout.PageSlotHead;
        var fixture = PagedKvFixture<float>.Create(random, lengths, lengths.Select(_ => 1).ToArray(), pageSize, 2, 8, 4, layout, 0, new bool[lengths.Length]);
        var keep = CompactionCase.Mask(random, lengths, pattern);
        var poolK = fixture.Cache.Keys.ToArray();
        var poolV = fixture.Cache.Values.ToArray();

        var result = fixture.Cache.Compact(fixture.Batch, keep);

        var compacted = new PagedKvBatch(fixture.Batch.QueryOffsets.Span, result.KvLengths, fixture.Batch.PageTable.Span, fixture.Batch.MaxPagesPerSequence);
        var expectedFreed = new System.Collections.Generic.List<int>();
        for (int s = 0; s < lengths.Length; s++)
        {
            var mask = CompactionCase.MaskOf(keep, lengths, s);
            var kept = Enumerable.Range(0, lengths[s]).Where(t => mask[t]).ToArray();
            result.KvLengths[s].ShouldBe(kept.Length, $"seed {seed}, sequence {s}");
            var (keys, values) = ServingReference.Gather(fixture.Cache, compacted, s);
            keys.ShouldBe(kept.SelectMany(t => fixture.DenseKeys[s].Skip(t * 16).Take(16)).ToArray(), $"seed {seed}, sequence {s}");
            values.ShouldBe(kept.SelectMany(t => fixture.DenseValues[s].Skip(t * 8).Take(8)).ToArray(), $"seed {seed}, sequence {s}");
            var row = fixture.Batch.PagesOf(s);
            for (int p = PagedKvBatch.PagesNeeded(kept.Length, pageSize); p < PagedKvBatch.PagesNeeded(lengths[s], pageSize); p++)
            {
                expectedFreed.Add(row[p]);
            }
        }

        result.FreedPages.ShouldBe(expectedFreed.ToArray(), $"seed {seed}");
        if (pattern == KeepPattern.All)
        {
            result.FreedPages.ShouldBeEmpty();
        }

        // Nothing outside the kept tokens' new slots was written: junk pages, freed pages and stale tail slots are as before.
        var g = fixture.Cache.Geometry;
        var live = new System.Collections.Generic.HashSet<(int Page, int Slot)>();
        for (int s = 0; s < lengths.Length; s++)
        {
            for (int t = 0; t < result.KvLengths[s]; t++)
            {
                live.Add((compacted.PagesOf(s)[t / pageSize], t % pageSize));
            }
        }

        for (int page = 0; page < g.Pages; page++)
        {
            for (int slot = 0; slot < pageSize; slot++)
            {
                if (live.Contains((page, slot)))
                {
                    continue;
                }

                for (int h = 0; h < g.HeadsKv; h++)
                {
                    fixture.Cache.KeyRow(page, slot, h).ToArray().ShouldBe(poolK.AsSpan((int)g.Offset(page, slot, h, 8), 8).ToArray(), $"seed {seed}, page {page}, slot {slot}");
                    fixture.Cache.ValueRow(page, slot, h).ToArray().ShouldBe(poolV.AsSpan((int)g.Offset(page, slot, h, 4), 4).ToArray(), $"seed {seed}, page {page}, slot {slot}");
                }
            }
        }
    }

    [Theory]
    [InlineData(RotaryConvention.Interleaved, 16, 16)]
    [InlineData(RotaryConvention.HalfSplit, 16, 8)]
    [InlineData(RotaryConvention.HalfSplit, 1, 16)]
    [InlineData(RotaryConvention.Interleaved, 5, 12)]
    public void Attention_after_compaction_equals_attention_over_the_kept_tokens_at_their_original_positions(RotaryConvention convention, int pageSize, int rotaryDim)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        int headsKv = 2, headsQ = 4, d = 16;
        var rope = new RotaryEmbedding(d, rotaryDim, 10000, convention);
        var lengths = PagedKvFixture<float>.RaggedLengths(random, pageSize, 6, (3 * pageSize) + 9);
        var fixture = CompactionCase.RotatedCache(random, lengths, pageSize, headsKv, d, PagedKvLayout.PageHeadSlot, rope);
        var keep = CompactionCase.Mask(random, lengths, KeepPattern.Random);

        // One decode query per sequence, rotated at the position after the sequence's last original token.
        var q = RandomTensors.Uniform<float>(random, lengths.Length * headsQ * d);
        rope.Apply(q, lengths, q);
        var before = ServingReference.Decode<float>(q, fixture.Cache, fixture.Batch, headsQ, 0.25, _ => MaskBand.None, maskMod: (b, _, _, kv) => CompactionCase.MaskOf(keep, lengths, b)[kv]);
        var (keptCache, keptBatch) = CompactionCase.KeptOnly(fixture, keep, lengths, fixture.Cache.Geometry);
        var expected = ServingReference.Decode<float>(q, keptCache, keptBatch, headsQ, 0.25, _ => MaskBand.None);

        var result = fixture.Cache.Compact(fixture.Batch, keep);
        var compacted = new PagedKvBatch(fixture.Batch.QueryOffsets.Span, result.KvLengths, fixture.Batch.PageTable.Span, fixture.Batch.MaxPagesPerSequence);
        var after = ServingReference.Decode<float>(q, fixture.Cache, compacted, headsQ, 0.25, _ => MaskBand.None);

        after.Output.ShouldBe(expected.Output, $"seed {seed}");
        after.Lse.ShouldBe(expected.Lse, $"seed {seed}");
        for (int i = 0; i < after.Output.Length; i++)
        {
            after.Output[i].ShouldBe(before.Output[i], 1e-12, $"seed {seed}: the uncompacted cache with the dropped tokens masked");
        }

        for (int i = 0; i < after.Lse.Length; i++)
        {
            if (!double.IsNegativeInfinity(after.Lse[i]))
            {
                after.Lse[i].ShouldBe(before.Lse[i], 1e-12, $"seed {seed}");
            }
        }
    }

    [Fact]
    public void A_shared_prefix_page_may_be_kept_whole_but_never_rewritten_or_freed()
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        int pageSize = 4;
        int[] lengths = [10, 7, 3];
        var fixture = PagedKvFixture<float>.Create(random, lengths, [1, 1, 1], pageSize, 1, 8, 8, PagedKvLayout.PageSlotHead, pageSize, [true, true, false]);
        int sharedPage = fixture.Batch.PagesOf(0)[0];
        fixture.Batch.PagesOf(1)[0].ShouldBe(sharedPage);
        var poolK = fixture.Cache.Keys.ToArray();

        // Sequence 1 drops token 2, inside the shared page: refused before anything moves (sequence 0's drops included).
        var bad = CompactionCase.Mask(random, lengths, KeepPattern.All);
        bad[1] = false;
        bad[10 + 2] = false;
        var error = Should.Throw<ArgumentException>(() => fixture.Cache.Compact(fixture.Batch, bad));
        error.ParamName.ShouldBe("pageTable");
        error.Message.ShouldContain($"page {sharedPage} (entry [0, 0])");
        fixture.Cache.Keys.ToArray().ShouldBe(poolK, $"seed {seed}: a refused call leaves the cache as it was");

        // Keeping all of the shared page and dropping later tokens is fine; the shared page is untouched and not freed.
        var keep = CompactionCase.Mask(random, lengths, KeepPattern.Alternating);
        for (int t = 0; t < pageSize; t++)
        {
            keep[t] = true;
            keep[10 + t] = true;
        }

        var result = fixture.Cache.Compact(fixture.Batch, keep);
        result.FreedPages.ShouldNotContain(sharedPage);
        result.KvLengths.ShouldBe([4 + 3, 4 + 2, 2]);
        var g = fixture.Cache.Geometry;
        fixture.Cache.Keys.Span.Slice((int)g.Offset(sharedPage, 0, 0, 8), pageSize * 8).ToArray()
            .ShouldBe(poolK.AsSpan((int)g.Offset(sharedPage, 0, 0, 8), pageSize * 8).ToArray());
    }

    [Fact]
    public void A_keep_mask_of_the_wrong_length_names_keep()
    {
        var cache = new PagedKvCache<float>(new PagedKvGeometry(2, 4, 1, 8, 8));
        var batch = new PagedKvBatch([0, 1, 2], [3, 2], [0, 1], 1);
        Should.Throw<ArgumentException>(() => cache.Compact(batch, new bool[4])).ParamName.ShouldBe("keep");
        Should.Throw<ArgumentException>(() => cache.Compact(new PagedKvBatch([0, 1], [3], [5], 1), new bool[3])).ParamName.ShouldBe("pageTable");
    }
}
