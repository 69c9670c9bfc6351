using System;
using System.Linq;
using KernelDsl.Cuda;
using KernelDsl.Reference;
using KernelDsl.Tests.Shared;
using Shouldly;
using Xunit;

namespace KernelDsl.Gpu.Tests.Serving;

/// <summary>
/// The generated device <c>Decode</c> (issue 11) against the float64 reference on each sequence's gathered K/V: page sizes 1,
/// 16, 48, 64 and 256, shuffled page tables with pages shared as a common prefix, both pool layouts, ragged lengths (0, 1,
/// page boundaries ± 1), 1–16 queries per sequence, GQA 1/4/8 and MQA, random draft trees, a sliding window, split counts
/// forced to 1 and to many giving the same answer; outputs NaN-poisoned; fresh random inputs (seed printed).
/// </summary>
[Collection(nameof(GpuCollection))]
public sealed class GpuDecodeTests(ITestOutputHelper output)
{
    /// <summary>(Hq, Hkv): MHA, GQA 4, GQA 8, MQA.</summary>
    private static readonly (int HeadsQ, int HeadsKv)[] Groups = [(4, 4), (8, 2), (16, 2), (4, 1)];

    public static TheoryData<int> PageSizes => new(1, 16, 48, 64, 256);

    private static void RequireGpu() => Assert.SkipUnless(Cuda.Cuda.IsAvailable, $"No CUDA GPU: {Cuda.Cuda.UnavailableReason}");

    [Theory]
    [MemberData(nameof(PageSizes))]
    public void Bf16_decode_matches_the_reference(int pageSize)
    {
        RequireGpu();
        int seed = Random.Shared.Next();
        foreach (var (headsQ, headsKv) in Groups)
        {
            var random = new Random(seed + (headsQ * 10) + headsKv);
            var layout = random.Next(2) == 0 ? PagedKvLayout.PageHeadSlot : PagedKvLayout.PageSlotHead;
            var lengths = PagedKvFixture<BFloat16>.RaggedLengths(random, pageSize, 7, Math.Min((2 * pageSize) + 5, 600));
            var queries = lengths.Select(_ => 1 + random.Next(16)).ToArray();
            queries[random.Next(queries.Length)] = 16;
            queries[random.Next(queries.Length)] = 1;
            var (o, lse, reference, label) = RunCausal(random, pageSize, headsQ, headsKv, layout, lengths, queries, splits: null);
            var (outputError, lseError) = (ErrorMetrics.RelativeError<BFloat16>(o, reference.Output), ErrorMetrics.MaxLseError(lse, reference.Lse));
            output.WriteLine($"{label}: O {outputError:E2}, LSE {lseError:E2} (seed {seed})");
            outputError.ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: true), $"{label} seed {seed}");
            lseError.ShouldBeLessThan(GpuTolerances.Lse(1), $"{label} seed {seed}");
        }
    }

    /// <summary>Split-KV: the same long ragged batch with the split count forced to 1, 3 and 64 (and the automatic rule) matches the reference each time, and the results agree.</summary>
    [Fact]
    public void Forced_split_counts_give_the_same_result()
    {
        RequireGpu();
        int seed = Random.Shared.Next();
        int[] lengths = [3000, 0, 1, 1537, 4096, 257];
        int[] queries = [1, 1, 1, 4, 16, 2];
        float[]? first = null;
        foreach (int? splits in new int?[] { 1, 3, 64, null })
        {
            var (o, lse, reference, label) = RunCausal(new Random(seed), 16, 32, 8, PagedKvLayout.PageHeadSlot, lengths, queries, splits);
            var (outputError, lseError) = (ErrorMetrics.RelativeError<BFloat16>(o, reference.Output), ErrorMetrics.MaxLseError(lse, reference.Lse));
            output.WriteLine($"splits {(splits?.ToString() ?? "auto")}: {label}: O {outputError:E2}, LSE {lseError:E2} (seed {seed})");
            outputError.ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: true), $"splits {splits} seed {seed}");
            lseError.ShouldBeLessThan(GpuTolerances.Lse(1), $"splits {splits} seed {seed}");
            var asFloat = o.Select(x => (float)x).ToArray();
            if (first is null)
            {
                first = asFloat;
            }
            else
            {
                ErrorMetrics.RelativeError<float>(asFloat, first.Select(x => (double)x).ToArray()).ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: true), $"splits {splits} vs 1, seed {seed}");
            }
        }
    }

    /// <summary>
    /// D = 256 runs the two-stage ring (the others run three stages): sequences of many tiles, so the ring wraps, with the split
    /// count forced to 1 and 3, match the reference.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void The_two_stage_ring_at_head_dim_256_matches_the_reference(int splits)
    {
        RequireGpu();
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        const int headsQ = 8, headsKv = 2, headDim = 256, pageSize = 16;
        int[] lengths = [1500, 0, 1, 700, 64, 65];
        int[] queries = [1, 1, 1, 4, 2, 3];
        var fixture = PagedKvFixture<BFloat16>.Create(random, lengths, queries, pageSize, headsKv, headDim, headDim, PagedKvLayout.PageHeadSlot, pageSize + 3, lengths.Select(_ => random.Next(2) == 0).ToArray());
        var batch = fixture.Batch;
        var q = RandomTensors.Uniform<BFloat16>(random, batch.TotalQueries * headsQ * headDim);
        using var dq = Packed(q, batch.TotalQueries, headsQ, headDim);
        using var cache = DevicePagedKvCache<BFloat16>.From(fixture.Cache);
        using var dbatch = batch.ToDevice(fixture.Cache.Geometry, GpuDecodeD256Bf16.Serving.MaxQueriesPerSequence);
        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, batch.TotalQueries, headsQ, headDim);
        using var dlse = new DeviceBuffer<float>((long)batch.TotalQueries * headsQ);
        dout.Fill(RandomTensors.FromFloat<BFloat16>(float.NaN));
        dlse.Fill(float.NaN);
        DecodeSplits.Forced = splits;
        try
        {
            GpuDecodeD256Bf16.Decode(dq, cache, dout, dlse, dbatch, headsQ);
        }
        finally
        {
            DecodeSplits.Forced = null;
        }

        var reference = ServingReference.Decode<BFloat16>(q, fixture.Cache, batch, headsQ, 1 / Math.Sqrt(headDim), GpuDecodeD256Bf16.Serving.BandFor);
        var (outputError, lseError) = (ErrorMetrics.RelativeError<BFloat16>(dout.ToArray(), reference.Output), ErrorMetrics.MaxLseError(dlse.ToArray(), reference.Lse));
        output.WriteLine($"D 256, splits {splits}: lengths [{string.Join(", ", lengths)}] queries [{string.Join(", ", queries)}]: O {outputError:E2}, LSE {lseError:E2} (seed {seed})");
        outputError.ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: true), $"splits {splits} seed {seed}");
        lseError.ShouldBeLessThan(GpuTolerances.Lse(1), $"splits {splits} seed {seed}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    public void Sequences_without_keys_give_zeros_and_minus_infinity(int splits)
    {
        RequireGpu();
        var random = new Random(Random.Shared.Next());
        var (o, lse, _, _) = RunCausal(random, 16, 8, 2, PagedKvLayout.PageHeadSlot, [0, 0, 5], [1, 3, 2], splits);
        int emptyRows = 4 * 8;
        o.Take(emptyRows * 128).ShouldAllBe(x => (float)x == 0f);
        lse.Take(emptyRows).ShouldAllBe(x => float.IsNegativeInfinity(x));
        lse.Skip(emptyRows).ShouldAllBe(x => float.IsFinite(x));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(16, 1)]
    [InlineData(48, 5)]
    public void Random_draft_trees_match_the_reference(int pageSize, int splits)
    {
        RequireGpu();
        const int maxDraft = 16, headsQ = 8, headsKv = 2, headDim = 64;
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        int sequences = 5;
        var queries = Enumerable.Range(0, sequences).Select(s => s == 0 ? maxDraft : 1 + random.Next(maxDraft)).ToArray();
        var lengths = queries.Select(q => q + random.Next((40 * pageSize) + 2)).ToArray();
        var fixture = PagedKvFixture<Half>.Create(random, lengths, queries, pageSize, headsKv, headDim, headDim, PagedKvLayout.PageHeadSlot, pageSize, lengths.Select(_ => true).ToArray());
        var draftStart = lengths.Zip(queries, (l, q) => l - q).ToArray();
        var ancestors = new int[sequences * maxDraft * maxDraft];
        for (int b = 0; b < sequences; b++)
        {
            var parent = Enumerable.Range(0, queries[b]).Select(i => i == 0 ? -1 : random.Next(-1, i)).ToArray();
            for (int i = 0; i < queries[b]; i++)
            {
                for (int j = i; j >= 0; j = parent[j])
                {
                    ancestors[(((b * maxDraft) + i) * maxDraft) + j] = 1;
                }
            }
        }

        var batch = fixture.Batch;
        var q = RandomTensors.Uniform<Half>(random, batch.TotalQueries * headsQ * headDim, 2f);
        using var dq = Packed(q, batch.TotalQueries, headsQ, headDim);
        using var cache = DevicePagedKvCache<Half>.From(fixture.Cache);
        using var dbatch = batch.ToDevice(fixture.Cache.Geometry, GpuDecodeDraftTree.Serving.MaxQueriesPerSequence);
        using var dout = DeviceTensor<float>.Create(TensorLayout.BSHD, batch.TotalQueries, 1, headsQ, headDim);
        using var dlse = new DeviceBuffer<float>((long)batch.TotalQueries * headsQ);
        using var dstart = DeviceBuffer<int>.From(draftStart);
        using var dancestors = DeviceBuffer<int>.From(ancestors);
        dout.Fill(float.NaN);
        dlse.Fill(float.NaN);
        DecodeSplits.Forced = splits;
        try
        {
            GpuDecodeDraftTree.Decode(dq, cache, dout, dlse, dstart, dancestors, dbatch, headsQ);
        }
        finally
        {
            DecodeSplits.Forced = null;
        }

        var reference = ServingReference.Decode<Half>(q, fixture.Cache, batch, headsQ, 1 / Math.Sqrt(headDim), GpuDecodeDraftTree.Serving.BandFor,
            GpuDecodeDraftTree.ScoreModifierReference,
            (b, h, i, j) => GpuDecodeDraftTree.MaskModifierReference(b, h, i, j, draftStart, ancestors));
        double outputError = ErrorMetrics.RelativeError<float>(dout.ToArray(), reference.Output);
        double lseError = ErrorMetrics.MaxLseError(dlse.ToArray(), reference.Lse);
        output.WriteLine($"page {pageSize}, splits {splits}: queries [{string.Join(", ", queries)}] lengths [{string.Join(", ", lengths)}]: O {outputError:E2}, LSE {lseError:E2} (seed {seed})");
        outputError.ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: false), $"seed {seed}");
        lseError.ShouldBeLessThan(GpuTolerances.Lse(2), $"seed {seed}");
    }

    [Theory]
    [InlineData(16, 1)]
    [InlineData(64, 4)]
    public void A_sliding_window_matches_the_reference(int pageSize, int splits)
    {
        RequireGpu();
        const int headsQ = 6, headsKv = 3, headDim = 64, valueHeadDim = 32;
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        int[] lengths = [0, 1, 99, 100, 101, 700, 1500];
        var queries = lengths.Select(_ => 1 + random.Next(4)).ToArray();
        var fixture = PagedKvFixture<Half>.Create(random, lengths, queries, pageSize, headsKv, headDim, valueHeadDim, PagedKvLayout.PageSlotHead, pageSize, lengths.Select(_ => random.Next(2) == 0).ToArray());
        var batch = fixture.Batch;
        var q = RandomTensors.Uniform<Half>(random, batch.TotalQueries * headsQ * headDim);
        using var dq = Packed(q, batch.TotalQueries, headsQ, headDim);
        using var cache = DevicePagedKvCache<Half>.From(fixture.Cache);
        using var dbatch = batch.ToDevice(fixture.Cache.Geometry, GpuDecodeWindowFp16.Serving.MaxQueriesPerSequence);
        using var dout = DeviceTensor<Half>.Create(TensorLayout.BSHD, batch.TotalQueries, 1, headsQ, valueHeadDim);
        dout.Fill(Half.NaN);
        DecodeSplits.Forced = splits;
        try
        {
            GpuDecodeWindowFp16.Decode(dq, cache, dout, dbatch, headsQ);
        }
        finally
        {
            DecodeSplits.Forced = null;
        }

        var reference = ServingReference.Decode<Half>(q, fixture.Cache, batch, headsQ, 1 / Math.Sqrt(headDim), GpuDecodeWindowFp16.Serving.BandFor);
        double outputError = ErrorMetrics.RelativeError<Half>(dout.ToArray(), reference.Output);
        output.WriteLine($"page {pageSize}, splits {splits}: O {outputError:E2} (seed {seed})");
        outputError.ShouldBeLessThan(GpuTolerances.Output(bf16Inputs: false), $"seed {seed}");
    }

    /// <summary>After the first calls (JIT, workspace), a device Decode allocates no managed memory, with and without a KV split.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    public void A_steady_state_decode_allocates_nothing(int splits)
    {
        RequireGpu();
        var fixture = PagedKvFixture<BFloat16>.Create(new Random(3), [700, 1300, 5], [1, 1, 1], 16, 2, 128, 128, PagedKvLayout.PageHeadSlot, 0, [false, false, false]);
        using var cache = DevicePagedKvCache<BFloat16>.From(fixture.Cache);
        using var dbatch = fixture.Batch.ToDevice(fixture.Cache.Geometry, 16);
        using var dq = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 3, 1, 8, 128);
        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 3, 1, 8, 128);
        using var dlse = new DeviceBuffer<float>(3 * 8);
        DecodeSplits.Forced = splits;
        try
        {
            for (int i = 0; i < 3; i++)
            {
                GpuDecodeCausalBf16.Decode(dq, cache, dout, dlse, dbatch, 8);
            }

            Cuda.Cuda.Synchronize();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 200; i++)
            {
                GpuDecodeCausalBf16.Decode(dq, cache, dout, dlse, dbatch, 8);
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Cuda.Cuda.Synchronize();
            output.WriteLine($"splits {splits}: {allocated} bytes over 200 calls");
            allocated.ShouldBe(0);
        }
        finally
        {
            DecodeSplits.Forced = null;
        }
    }

    [Fact]
    public void Misuse_at_the_call_names_the_argument()
    {
        RequireGpu();
        var random = new Random(1);
        var fixture = PagedKvFixture<BFloat16>.Create(random, [5, 17], [1, 2], 16, 2, 128, 128, PagedKvLayout.PageHeadSlot, 0, [false, false]);
        using var cache = DevicePagedKvCache<BFloat16>.From(fixture.Cache);
        using var dbatch = fixture.Batch.ToDevice(fixture.Cache.Geometry, 16);
        using var dq = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 3, 1, 8, 128);
        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 3, 1, 8, 128);
        using var dlse = new DeviceBuffer<float>(3 * 8);
        GpuDecodeCausalBf16.Decode(dq, cache, dout, dlse, dbatch, 8);

        Should.Throw<ArgumentException>(() => GpuDecodeCausalBf16.Decode(dq, cache, dout, dlse, dbatch, 6)).ParamName.ShouldBe("q");
        using var wrongOut = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 2, 1, 8, 128);
        Should.Throw<ArgumentException>(() => GpuDecodeCausalBf16.Decode(dq, cache, wrongOut, dlse, dbatch, 8)).ParamName.ShouldBe("output");
        using var shortLse = new DeviceBuffer<float>(3 * 8 - 1);
        Should.Throw<ArgumentException>(() => GpuDecodeCausalBf16.Decode(dq, cache, dout, shortLse, dbatch, 8)).ParamName.ShouldBe("lse");
        var otherFixture = PagedKvFixture<BFloat16>.Create(random, [5, 17], [1, 2], 8, 2, 128, 128, PagedKvLayout.PageHeadSlot, 0, [false, false]);
        using var otherCache = DevicePagedKvCache<BFloat16>.From(otherFixture.Cache);
        Should.Throw<ArgumentException>(() => GpuDecodeCausalBf16.Decode(dq, otherCache, dout, dlse, dbatch, 8)).ParamName.ShouldBe("batch");
        using var bshdStrided = DeviceTensor<BFloat16>.Create(TensorLayout.BHSD, 3, 1, 8, 128);
        Should.Throw<ArgumentException>(() => GpuDecodeCausalBf16.Decode(bshdStrided, cache, dout, dlse, dbatch, 8)).ParamName.ShouldBe("q");
    }

    /// <summary>One causal bf16 decode of a random fixture; returns O, LSE, the reference and a label.</summary>
    private static (BFloat16[] Output, float[] Lse, ReferenceResult Reference, string Label) RunCausal(
        Random random, int pageSize, int headsQ, int headsKv, PagedKvLayout layout, int[] lengths, int[] queries, int? splits)
    {
        const int headDim = 128;
        var shares = lengths.Select(_ => random.Next(3) > 0).ToArray();
        var fixture = PagedKvFixture<BFloat16>.Create(random, lengths, queries, pageSize, headsKv, headDim, headDim, layout, pageSize + 3, shares);
        var batch = fixture.Batch;
        var q = RandomTensors.Uniform<BFloat16>(random, batch.TotalQueries * headsQ * headDim);
        using var dq = Packed(q, batch.TotalQueries, headsQ, headDim);
        using var cache = DevicePagedKvCache<BFloat16>.From(fixture.Cache);
        using var dbatch = batch.ToDevice(fixture.Cache.Geometry, GpuDecodeCausalBf16.Serving.MaxQueriesPerSequence);
        using var dout = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, batch.TotalQueries, headsQ, headDim);
        using var dlse = new DeviceBuffer<float>((long)batch.TotalQueries * headsQ);
        dout.Fill(RandomTensors.FromFloat<BFloat16>(float.NaN));
        dlse.Fill(float.NaN);
        DecodeSplits.Forced = splits;
        try
        {
            GpuDecodeCausalBf16.Decode(dq, cache, dout, dlse, dbatch, headsQ);
        }
        finally
        {
            DecodeSplits.Forced = null;
        }

        var reference = ServingReference.Decode<BFloat16>(q, fixture.Cache, batch, headsQ, 1 / Math.Sqrt(headDim), GpuDecodeCausalBf16.Serving.BandFor);
        string label = $"page {pageSize} Hq/Hkv {headsQ}/{headsKv} {layout} lengths [{string.Join(", ", lengths)}] queries [{string.Join(", ", queries)}]";
        return (dout.ToArray(), dlse.ToArray(), reference, label);
    }

    /// <summary>q as [tokens, 1, heads, dim] on the device.</summary>
    private static DeviceTensor<T> Packed<T>(T[] data, int tokens, int heads, int dim)
        where T : unmanaged
    {
        var tensor = DeviceTensor<T>.Create(TensorLayout.BSHD, tokens, 1, heads, dim);
        tensor.Upload(data);
        return tensor;
    }
}
