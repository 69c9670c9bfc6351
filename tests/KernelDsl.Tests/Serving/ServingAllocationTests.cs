using System;
using KernelDsl.Tests.Cpu;
using KernelDsl.Reference;
using KernelDsl.Tests.Shared;
using Xunit;

namespace KernelDsl.Tests.Serving;

/// <summary>
/// The serving CPU entry points allocate nothing per call after warm-up (issue 15: 0 bytes per call in steady state):
/// the work-item offsets live in a per-thread pooled buffer, the work is a struct, the scratch is the workers' own.
/// Counted as <see cref="ZeroAllocationTests"/> counts (every thread, and the caller alone), in its collection.
/// </summary>
[Collection(nameof(AllocationCollection))]
public sealed class ServingAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public void A_paged_decode_with_lse_allocates_nothing()
    {
        var random = new Random(11);
        var fixture = PagedKvFixture<float>.Create(random, [0, 1, 17, 40, 65], [1, 1, 4, 16, 2], 16, 2, 32, 32, PagedKvLayout.PageHeadSlot, 19, [false, true, true, false, true]);
        var batch = fixture.Batch;
        var q = RandomTensors.Uniform<float>(random, batch.TotalQueries * 8 * 32);
        var o = new float[q.Length];
        var lse = new float[batch.TotalQueries * 8];
        ZeroAllocationTests.Expect(output, () => ServingCausalFp32.Decode(q, fixture.Cache, o, lse, batch, 8));
    }

    [Fact]
    public void A_draft_tree_verification_with_captured_buffers_allocates_nothing()
    {
        var random = new Random(12);
        var fixture = PagedKvFixture<Half>.Create(random, [20, 33], [4, 16], 16, 2, 64, 64, PagedKvLayout.PageSlotHead, 0, [false, false]);
        var batch = fixture.Batch;
        var q = RandomTensors.Uniform<Half>(random, batch.TotalQueries * 4 * 64);
        var o = new float[q.Length];
        var lse = new float[batch.TotalQueries * 4];
        int[] draftStart = [16, 17];
        var ancestors = new int[2 * 16 * 16];
        for (int at = 0; at < ancestors.Length; at++)
        {
            ancestors[at] = (at % 16) <= (at / 16 % 16) ? 1 : 0; // a chain
        }

        ZeroAllocationTests.Expect(output, () => DraftTreeVerification.Decode(q, fixture.Cache, o, lse, draftStart, ancestors, batch, 4));
    }

    [Fact]
    public void A_varlen_prefill_allocates_nothing()
    {
        var random = new Random(13);
        var batch = new VarlenBatch([0, 5, 5, 6, 70], [0, 0, 7, 8, 90]);
        var q = RandomTensors.Uniform<float>(random, batch.TotalQueries * 4 * 32);
        var k = RandomTensors.Uniform<float>(random, batch.TotalKeys * 2 * 32);
        var o = new float[q.Length];
        var lse = new float[batch.TotalQueries * 4];
        ZeroAllocationTests.Expect(output, () => ServingCausalFp32.ForwardVarlen(q, k, k, o, lse, batch, 4, 2));
    }
}
