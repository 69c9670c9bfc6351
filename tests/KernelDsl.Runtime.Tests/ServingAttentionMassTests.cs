using System;
using System.Linq;
using KernelDsl;
using KernelDsl.Reference;
using KernelDsl.Tests.Shared;
using Shouldly;
using Xunit;

namespace KernelDsl.Runtime.Tests;

/// <summary>
/// <see cref="ServingReference.AttentionMass{T}"/> from the definition, independently: for key t of sequence s and KV head g,
/// Σ over the group's query heads h and the sequence's queries i that keep t of exp(scale·q·k_t − LSE), with the LSE of
/// the dense reference (<see cref="ServingReference.Decode{T}"/>) and K as written (the fixture's dense copy, not the pages).
/// Ragged lengths with 0, shared prefix pages, both layouts, GQA.
/// </summary>
public sealed class ServingAttentionMassTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(48)]
    public void Mass_is_the_softmax_probability_summed_over_queries_and_the_group(int pageSize)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        int headsKv = 2, headsQ = 6, d = 8, group = headsQ / headsKv;
        double scale = 0.3;
        var lengths = PagedKvFixture<float>.RaggedLengths(random, pageSize, 5, (2 * pageSize) + 3);
        var queries = lengths.Select(_ => random.Next(4)).ToArray(); // 0–3 queries
        var layout = random.Next(2) == 0 ? PagedKvLayout.PageHeadSlot : PagedKvLayout.PageSlotHead;
        var fixture = PagedKvFixture<float>.Create(random, lengths, queries, pageSize, headsKv, d, d, layout, pageSize + 1, lengths.Select(_ => random.Next(2) == 0).ToArray());
        var batch = fixture.Batch;
        var q = RandomTensors.Uniform<float>(random, batch.TotalQueries * headsQ * d);
        MaskBand Band(AttentionShape shape) => MaskBand.For(MaskKind.Causal, MaskAlignment.BottomRight, 0, 0, shape.SeqQ, shape.SeqKv);

        var mass = ServingReference.AttentionMass<float>(q, fixture.Cache, batch, headsQ, scale, Band);
        var lse = ServingReference.Decode<float>(q, fixture.Cache, batch, headsQ, scale, Band).Lse;

        mass.Length.ShouldBe(lengths.Sum() * headsKv);
        var offsets = batch.QueryOffsets.Span;
        int keyStart = 0;
        for (int s = 0; s < lengths.Length; s++)
        {
            var band = Band(new AttentionShape(1, Math.Max(queries[s], 1), Math.Max(lengths[s], 1), headsQ, headsKv, d, d));
            for (int t = 0; t < lengths[s]; t++)
            {
                for (int g = 0; g < headsKv; g++)
                {
                    double expected = 0;
                    for (int h = g * group; h < (g + 1) * group; h++)
                    {
                        for (int i = 0; i < queries[s]; i++)
                        {
                            if (!band.Keeps(i, t))
                            {
                                continue;
                            }

                            double dot = 0;
                            for (int f = 0; f < d; f++)
                            {
                                dot += q[((((offsets[s] + i) * headsQ) + h) * d) + f] * (double)fixture.DenseKeys[s][(((t * headsKv) + g) * d) + f];
                            }

                            expected += Math.Exp((scale * dot) - lse[((offsets[s] + i) * headsQ) + h]);
                        }
                    }

                    mass[((keyStart + t) * headsKv) + g].ShouldBe(expected, 1e-12 * (1 + expected), $"seed {seed}, sequence {s}, key {t}, KV head {g}");
                }
            }

            keyStart += lengths[s];
        }
    }

    [Fact]
    public void A_head_count_that_is_not_a_multiple_of_the_kv_heads_is_refused()
    {
        var cache = new PagedKvCache<float>(new PagedKvGeometry(1, 4, 2, 8, 8));
        var batch = new PagedKvBatch([0, 1], [2], [0], 1);
        Should.Throw<ArgumentException>(() => ServingReference.AttentionMass<float>(new float[3 * 8], cache, batch, 3, 1.0, _ => MaskBand.None)).ParamName.ShouldBe("headsQ");
    }
}
