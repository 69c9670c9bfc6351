using System;
using KernelDsl.Reference;
using KernelDsl.Samples.Library;
using KernelDsl.Tests.Numerics;
using Shouldly;
using Xunit;

namespace KernelDsl.Tests.Cpu;

/// <summary>Runs alone: it counts every managed byte the process allocates, on every thread.</summary>
[CollectionDefinition(nameof(AllocationCollection), DisableParallelization = true)]
public sealed class AllocationCollection;

/// <summary>
/// A CPU Forward allocates nothing after warm-up: per-thread pooled scratch, a pooled job, the work as a struct, the
/// span overloads' lengths on the stack. Counted with GC.GetTotalAllocatedBytes(precise: true), which covers the worker
/// threads (GC.GetAllocatedBytesForCurrentThread covers the caller alone and is checked too). Three rounds, the least
/// counted: the test host's own threads may allocate now and then, a Forward that allocates does so every round.
/// </summary>
[Collection(nameof(AllocationCollection))]
public sealed class ZeroAllocationTests(ITestOutputHelper output)
{
    private const int Calls = 500;

    [Fact]
    public void A_dense_fp32_forward_with_lse_allocates_nothing()
    {
        var shape = new AttentionShape(1, 70, 70, 4, 2, 64, 64);
        var random = new Random(1);
        float[] q = RandomTensors.Uniform<float>(random, 70 * 4 * 64), k = RandomTensors.Uniform<float>(random, 70 * 2 * 64), v = RandomTensors.Uniform<float>(random, 70 * 2 * 64);
        var o = new float[q.Length];
        var lse = new float[4 * 70];
        Expect(() => Fp32BshdNoMaskD64.Forward(q, k, v, o, lse, shape));
    }

    [Fact]
    public void A_causal_fp16_forward_allocates_nothing()
    {
        var shape = new AttentionShape(2, 33, 90, 2, 1, 64, 64);
        var random = new Random(2);
        Half[] q = RandomTensors.Uniform<Half>(random, 2 * 33 * 2 * 64), k = RandomTensors.Uniform<Half>(random, 2 * 90 * 64), v = RandomTensors.Uniform<Half>(random, 2 * 90 * 64);
        var o = new Half[q.Length];
        var lse = new float[2 * 2 * 33];
        Expect(() => Fp16BshdCausalTopLeftD64.Forward(q, k, v, o, lse, shape));
    }

    [Fact]
    public void A_forward_with_captured_buffers_and_a_block_mask_allocates_nothing()
    {
        var shape = new AttentionShape(1, 200, 200, 2, 2, 64, 64);
        var documents = DocumentMaskAttention.DocumentIds([50, 120, 30]);
        var mask = DocumentMaskAttention.CreateCpuBlockMask(shape, documents);
        var random = new Random(3);
        var q = RandomTensors.Uniform<BFloat16>(random, 200 * 2 * 64);
        var o = new BFloat16[q.Length];
        var lse = new float[2 * 200];
        Expect(() => DocumentMaskAttention.Forward(q, q, q, o, lse, documents, shape, mask));
    }

    private void Expect(Action forward) => Expect(output, forward);

    /// <summary>Warms <paramref name="call"/> up, then asserts 0 bytes over <see cref="Calls"/> calls (the least of 3 rounds).</summary>
    internal static void Expect(ITestOutputHelper output, Action forward)
    {
        for (int i = 0; i < 2000; i++)
        {
            forward(); // warm-up: scratch on every worker thread, tier-1 code
        }

        long least = long.MaxValue, leastCaller = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long total = GC.GetTotalAllocatedBytes(precise: true);
            long caller = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Calls; i++)
            {
                forward();
            }

            leastCaller = Math.Min(leastCaller, GC.GetAllocatedBytesForCurrentThread() - caller);
            least = Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - total);
        }

        output.WriteLine($"{Calls} calls: {least} bytes on all threads, {leastCaller} on the calling thread (least of 3 rounds)");
        leastCaller.ShouldBe(0);
        least.ShouldBe(0);
    }
}
