using System;
using System.Linq;
using KernelDsl;
using KernelDsl.Reference;
using KernelDsl.Tests.Shared;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>The serving runtime types (issue 11): every misuse is an ArgumentException naming the bad argument.</summary>
public class ServingTypesTests
{
    private static readonly PagedKvGeometry Pool = new(Pages: 4, PageSize: 16, HeadsKv: 2, HeadDim: 8, ValueHeadDim: 8);

    [Theory]
    [InlineData(0)]
    [InlineData(257)]
    public void Page_sizes_outside_1_to_256_are_rejected(int pageSize) =>
        Should.Throw<ArgumentException>(() => (Pool with { PageSize = pageSize }).Validate()).ParamName.ShouldBe("geometry");

    [Fact]
    public void Geometry_rejects_empty_pools_and_head_counts() =>
        Should.Throw<ArgumentException>(() => new PagedKvCache<float>(Pool with { Pages = 0 })).ParamName.ShouldBe("geometry");

    [Fact]
    public void Query_offsets_must_start_at_zero_and_not_decrease()
    {
        Should.Throw<ArgumentException>(() => new PagedKvBatch([1, 2], [3], [0], 1)).ParamName.ShouldBe("queryOffsets");
        Should.Throw<ArgumentException>(() => new PagedKvBatch([0, 2, 1], [3, 3], [0, 1], 1)).ParamName.ShouldBe("queryOffsets");
        Should.Throw<ArgumentException>(() => new PagedKvBatch([0, 1], [3, 3], [0, 1], 1)).ParamName.ShouldBe("queryOffsets");
        Should.Throw<ArgumentException>(() => new VarlenBatch([0, 3, 2], [0, 1, 2])).ParamName.ShouldBe("queryOffsets");
        Should.Throw<ArgumentException>(() => new VarlenBatch([0, 1, 2], [0, 5, 4])).ParamName.ShouldBe("keyOffsets");
        Should.Throw<ArgumentException>(() => new VarlenBatch([0, 1, 2], [1, 5, 6])).ParamName.ShouldBe("keyOffsets");
        Should.Throw<ArgumentException>(() => new VarlenBatch([0, 1, 2], [0, 5])).ParamName.ShouldBe("keyOffsets");
    }

    [Fact]
    public void Negative_lengths_and_a_mis_sized_page_table_are_rejected()
    {
        Should.Throw<ArgumentException>(() => new PagedKvBatch([0, 1], [-1], [0], 1)).ParamName.ShouldBe("kvLengths");
        Should.Throw<ArgumentException>(() => new PagedKvBatch([0, 1, 2], [1, 1], [0, 1, 2], 2)).ParamName.ShouldBe("pageTable");
    }

    [Fact]
    public void A_page_outside_the_pool_is_rejected_where_it_is_read_only()
    {
        // Sequence 1 has 17 tokens: it reads entries 0 and 1 of its row; entry 2 may hold anything (−1 here).
        var batch = new PagedKvBatch([0, 1, 2], [16, 17], [0, -1, -1, 1, 2, -1], 3);
        batch.Validate(Pool, 1);
        var bad = new PagedKvBatch([0, 1, 2], [16, 17], [0, -1, -1, 1, 4, -1], 3);
        var error = Should.Throw<ArgumentException>(() => bad.Validate(Pool, 1));
        error.ParamName.ShouldBe("pageTable");
        error.Message.ShouldContain("entry [1, 1] is page 4");
    }

    [Fact]
    public void A_length_beyond_the_page_table_is_rejected()
    {
        var batch = new PagedKvBatch([0, 1], [33], [0, 1], 2);
        var error = Should.Throw<ArgumentException>(() => batch.Validate(Pool, 1));
        error.ParamName.ShouldBe("kvLengths");
        error.Message.ShouldContain("need 3 pages");
    }

    [Fact]
    public void More_queries_than_the_spec_allows_are_rejected()
    {
        var batch = new PagedKvBatch([0, 5], [8], [0], 1);
        batch.Validate(Pool, 5);
        Should.Throw<ArgumentException>(() => batch.Validate(Pool, 4)).ParamName.ShouldBe("queryOffsets");
    }

    [Fact]
    public void Batches_copy_their_arrays()
    {
        int[] lengths = [5], table = [2];
        var batch = new PagedKvBatch([0, 1], lengths, table, 1);
        lengths[0] = 99;
        table[0] = 99;
        batch.KvLengths.Span[0].ShouldBe(5);
        batch.PageTable.Span[0].ShouldBe(2);
    }

    [Theory]
    [InlineData(PagedKvLayout.PageHeadSlot)]
    [InlineData(PagedKvLayout.PageSlotHead)]
    public void Rows_of_both_layouts_are_disjoint_and_cover_the_pool(PagedKvLayout layout)
    {
        var g = Pool with { Layout = layout, ValueHeadDim = 16 };
        var seen = new bool[g.PoolElements(g.ValueHeadDim)];
        for (int page = 0; page < g.Pages; page++)
        {
            for (int slot = 0; slot < g.PageSize; slot++)
            {
                for (int h = 0; h < g.HeadsKv; h++)
                {
                    long at = g.Offset(page, slot, h, g.ValueHeadDim);
                    for (int d = 0; d < g.ValueHeadDim; d++)
                    {
                        seen[at + d].ShouldBeFalse();
                        seen[at + d] = true;
                    }
                }
            }
        }

        seen.ShouldAllBe(x => x);
        g.SlotStride(g.HeadDim).ShouldBe(layout == PagedKvLayout.PageHeadSlot ? g.HeadDim : g.HeadsKv * g.HeadDim);
    }

    [Fact]
    public void Write_token_names_a_position_beyond_the_row_and_a_page_outside_the_pool()
    {
        var cache = new PagedKvCache<float>(Pool);
        var k = new float[Pool.HeadsKv * Pool.HeadDim];
        Should.Throw<ArgumentException>(() => cache.WriteToken([0, 1], 32, k, k)).ParamName.ShouldBe("pages");
        Should.Throw<ArgumentException>(() => cache.WriteToken([7], 0, k, k)).ParamName.ShouldBe("pages");
        Should.Throw<ArgumentException>(() => cache.WriteToken([0], 0, k.AsSpan(1), k)).ParamName.ShouldBe("key");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(48)]
    [InlineData(64)]
    [InlineData(256)]
    public void Decode_reference_equals_the_dense_reference_on_each_sequence(int pageSize)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        int headsKv = 2, headsQ = 4, d = 8;
        var lengths = PagedKvFixture<float>.RaggedLengths(random, pageSize, 5, 2 * pageSize + 3);
        var queries = lengths.Select(_ => 1 + random.Next(4)).ToArray();
        var layout = random.Next(2) == 0 ? PagedKvLayout.PageHeadSlot : PagedKvLayout.PageSlotHead;
        var fixture = PagedKvFixture<float>.Create(random, lengths, queries, pageSize, headsKv, d, d, layout, pageSize + 1, lengths.Select(_ => random.Next(2) == 0).ToArray());
        var batch = fixture.Batch;
        var q = RandomTensors.Uniform<float>(random, batch.TotalQueries * headsQ * d);
        MaskBand Band(AttentionShape shape) => MaskBand.For(MaskKind.Causal, MaskAlignment.BottomRight, 0, 0, shape.SeqQ, shape.SeqKv);
        var result = ServingReference.Decode<float>(q, fixture.Cache, batch, headsQ, 0.3, Band);

        var offsets = batch.QueryOffsets.Span;
        for (int s = 0; s < batch.Sequences; s++)
        {
            int nq = queries[s], at = offsets[s];
            if (lengths[s] == 0)
            {
                result.Output.AsSpan(at * headsQ * d, nq * headsQ * d).ToArray().ShouldAllBe(x => x == 0, $"seed {seed}");
                result.Lse.AsSpan(at * headsQ, nq * headsQ).ToArray().ShouldAllBe(x => double.IsNegativeInfinity(x), $"seed {seed}");
                continue;
            }

            var shape = new AttentionShape(1, nq, lengths[s], headsQ, headsKv, d, d);
            var dense = AttentionReference.Compute<float>(q.AsSpan(at * headsQ * d, nq * headsQ * d), fixture.DenseKeys[s], fixture.DenseValues[s], shape, TensorLayout.BSHD, 0.3, Band(shape));
            result.Output.AsSpan(at * headsQ * d, nq * headsQ * d).ToArray().ShouldBe(dense.Output, $"seed {seed}");
            for (int i = 0; i < nq; i++)
            {
                for (int h = 0; h < headsQ; h++)
                {
                    result.Lse[((at + i) * headsQ) + h].ShouldBe(dense.Lse[(h * nq) + i], $"seed {seed}");
                }
            }
        }
    }

    [Fact]
    public void A_single_decode_query_sees_its_whole_sequence_and_later_draft_tokens_see_less()
    {
        // Bottom-right per sequence: with L = 3 and q = 2, query 0 sees keys 0..1 and query 1 sees 0..2. Give key 2 a
        // distinct value and a huge score: query 1's output is (nearly) that value, query 0's is not.
        var geometry = new PagedKvGeometry(2, 2, 1, 8, 8);
        var cache = new PagedKvCache<float>(geometry);
        var key = new float[8];
        var value = new float[8];
        for (int t = 0; t < 3; t++)
        {
            Array.Fill(key, t == 2 ? 10f : 0f);
            Array.Fill(value, t);
            cache.WriteToken([1, 0], t, key, value);
        }

        var batch = new PagedKvBatch([0, 2], [3], [1, 0], 2);
        var q = Enumerable.Repeat(1f, 16).ToArray();
        var result = ServingReference.Decode<float>(q, cache, batch, 1, 1.0, shape => MaskBand.For(MaskKind.Causal, MaskAlignment.BottomRight, 0, 0, shape.SeqQ, shape.SeqKv));
        result.Output[0].ShouldBe(0.5, 1e-12);   // keys 0 and 1, equal scores: mean of 0 and 1
        result.Output[8].ShouldBe(2.0, 1e-6);    // key 2 dominates
    }

    [Fact]
    public void Varlen_reference_slices_each_sequence_and_passes_its_index_to_the_modifiers()
    {
        var random = new Random(Environment.TickCount);
        var batch = new VarlenBatch([0, 2, 2, 5], [0, 3, 4, 4]);
        int hq = 2, hkv = 1, d = 8;
        var q = RandomTensors.Uniform<float>(random, batch.TotalQueries * hq * d);
        var k = RandomTensors.Uniform<float>(random, batch.TotalKeys * hkv * d);
        var v = RandomTensors.Uniform<float>(random, batch.TotalKeys * hkv * d);
        var seenSequences = new System.Collections.Generic.HashSet<int>();
        var result = ServingReference.Varlen<float>(q, k, v, batch, hq, hkv, d, d, 0.5, _ => MaskBand.None, maskMod: (b, _, _, _) => seenSequences.Add(b) || true);
        seenSequences.ShouldBe([0], ignoreOrder: true); // sequence 1 has no queries, sequence 2 no keys
        result.Lse.Skip(2 * hq).ShouldAllBe(x => double.IsNegativeInfinity(x));
        result.Output.Skip(2 * hq * d).ShouldAllBe(x => x == 0);

        var dense = AttentionReference.Compute<float>(q.AsSpan(0, 2 * hq * d), k.AsSpan(0, 3 * d), v.AsSpan(0, 3 * d), new AttentionShape(1, 2, 3, hq, hkv, d, d), TensorLayout.BSHD, 0.5, MaskBand.None);
        result.Output.Take(2 * hq * d).ShouldBe(dense.Output);
    }
}
