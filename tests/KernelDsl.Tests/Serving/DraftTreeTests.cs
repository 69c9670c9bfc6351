using System;
using System.Linq;
using KernelDsl.Reference;
using KernelDsl.Tests.Numerics;
using KernelDsl.Tests.Shared;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Serving;

/// <summary>
/// Speculative verification of random draft trees (<see cref="DraftTreeVerification"/>: a mask modifier reading the tree's
/// ancestry from a captured buffer, plus a softcap score modifier), fp16 in, fp32 out, against the float64 reference with
/// the same modifiers and buffers; 1–16 draft tokens per sequence, GQA 4, page sizes 1, 16 and 48.
/// </summary>
public sealed class DraftTreeTests(ITestOutputHelper output)
{
    private const int MaxDraft = 16;

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(48)]
    public void Random_draft_trees_match_the_reference(int pageSize)
    {
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        const int headsQ = 8, headsKv = 2, headDim = 64;
        int sequences = 5;
        var queries = Enumerable.Range(0, sequences).Select(s => s == 0 ? MaxDraft : 1 + random.Next(MaxDraft)).ToArray();
        var lengths = queries.Select(q => q + random.Next(3 * pageSize + 2)).ToArray(); // the draft tokens are in the cache
        var fixture = PagedKvFixture<Half>.Create(random, lengths, queries, pageSize, headsKv, headDim, headDim, PagedKvLayout.PageHeadSlot, pageSize, lengths.Select(_ => true).ToArray());

        // draftStart[b] = L − q; ancestors[b, i, j] = 1 when draft token j is token i or one of its ancestors.
        var draftStart = lengths.Zip(queries, (l, q) => l - q).ToArray();
        var ancestors = new int[sequences * MaxDraft * MaxDraft];
        for (int b = 0; b < sequences; b++)
        {
            var parent = Enumerable.Range(0, queries[b]).Select(i => i == 0 ? -1 : random.Next(-1, i)).ToArray();
            for (int i = 0; i < queries[b]; i++)
            {
                for (int j = i; j >= 0; j = parent[j])
                {
                    ancestors[(((b * MaxDraft) + i) * MaxDraft) + j] = 1;
                }
            }
        }

        var batch = fixture.Batch;
        var q = RandomTensors.Uniform<Half>(random, batch.TotalQueries * headsQ * headDim, 2f);
        var o = ServingCase.Poisoned<float>(batch.TotalQueries * headsQ * headDim);
        var lse = ServingCase.Poisoned<float>(batch.TotalQueries * headsQ);
        DraftTreeVerification.Decode(q, fixture.Cache, o, lse, draftStart, ancestors, batch, headsQ);

        var reference = ServingReference.Decode<Half>(q, fixture.Cache, batch, headsQ, 1 / Math.Sqrt(headDim), DraftTreeVerification.Serving.BandFor,
            DraftTreeVerification.ScoreModifierReference,
            (b, h, i, j) => DraftTreeVerification.MaskModifierReference(b, h, i, j, draftStart, ancestors));
        var (outputError, lseError) = ServingCase.Errors(o, lse, reference);
        output.WriteLine($"page {pageSize}: queries [{string.Join(", ", queries)}] lengths [{string.Join(", ", lengths)}]: O {outputError:E2}, LSE {lseError:E2} (seed {seed})");
        outputError.ShouldBeLessThan(Tolerances.Output(DType.FP32, false) * 4, $"seed {seed}");
        lseError.ShouldBeLessThan(Tolerances.Lse(false) * 4, $"seed {seed}");

        // The tree matters: a chain (every token sees all earlier draft tokens) gives another answer wherever the tree branches.
        var chain = Enumerable.Range(0, ancestors.Length).Select(x => (x % MaxDraft) <= (x / MaxDraft % MaxDraft) ? 1 : 0).ToArray();
        var chained = ServingCase.Poisoned<float>(o.Length);
        DraftTreeVerification.Decode(q, fixture.Cache, chained, lse, draftStart, chain, batch, headsQ);
        bool branches = !ancestors.SequenceEqual(chain.Select((x, at) => (at % MaxDraft < queries[at / (MaxDraft * MaxDraft)] && at / MaxDraft % MaxDraft < queries[at / (MaxDraft * MaxDraft)]) ? x : 0));
        (branches == !chained.SequenceEqual(o)).ShouldBeTrue($"seed {seed}");
    }

    [Fact]
    public void A_captured_buffer_of_the_wrong_length_is_named()
    {
        var fixture = PagedKvFixture<Half>.Create(new Random(1), [3], [1], 16, 2, 64, 64, PagedKvLayout.PageHeadSlot, 0, [false]);
        var q = new Half[8 * 64];
        var o = new float[8 * 64];
        var lse = new float[8];
        Should.Throw<ArgumentException>(() => DraftTreeVerification.Decode(q, fixture.Cache, o, lse, new int[1], new int[255], fixture.Batch, 8)).ParamName.ShouldBe("ancestors");
    }
}
