using System;
using System.Linq;
using KernelDsl.Reference;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// The serving device types (issue 11) on a real GPU: a paged cache and a batch's arrays round trip bit for bit, a batch
/// fits only the pool it was checked against. The GPU decode kernel reads exactly these buffers.
/// </summary>
[Collection(GpuCollection.Name)]
public class GpuPagedKvTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(PagedKvLayout.PageHeadSlot)]
    [InlineData(PagedKvLayout.PageSlotHead)]
    public void A_paged_cache_round_trips_bit_for_bit(PagedKvLayout layout)
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        var geometry = new PagedKvGeometry(Pages: 7, PageSize: 48, HeadsKv: 2, HeadDim: 64, ValueHeadDim: 32, layout);
        var cache = new PagedKvCache<BFloat16>(geometry);
        RandomTensors.Uniform<BFloat16>(random, cache.Keys.Length).CopyTo(cache.Keys);
        RandomTensors.Uniform<BFloat16>(random, cache.Values.Length).CopyTo(cache.Values);

        using var device = DevicePagedKvCache<BFloat16>.From(cache);
        device.Geometry.ShouldBe(geometry);
        device.Keys.Length.ShouldBe(geometry.PoolElements(64));
        device.Values.Length.ShouldBe(geometry.PoolElements(32));
        device.Keys.ToArray().Select(x => x.RawValue).ShouldBe(cache.Keys.ToArray().Select(x => x.RawValue));
        device.Values.ToArray().Select(x => x.RawValue).ShouldBe(cache.Values.ToArray().Select(x => x.RawValue));
        Should.Throw<ArgumentException>(() => device.Upload(new PagedKvCache<BFloat16>(geometry with { Pages = 8 }))).ParamName.ShouldBe("cache");
    }

    [Fact]
    public void A_batch_uploads_its_arrays_and_fits_only_its_pool()
    {
        TestSupport.RequireGpu();
        var geometry = new PagedKvGeometry(4, 16, 1, 64, 64);
        var batch = new PagedKvBatch([0, 1, 5], [17, 3], [2, 0, -1, 3, -1, -1], 3);
        using var device = batch.ToDevice(geometry, maxQueriesPerSequence: 4);
        device.QueryOffsets.ToArray().ShouldBe([0, 1, 5]);
        device.KvLengths.ToArray().ShouldBe([17, 3]);
        device.PageTable.ToArray().ShouldBe([2, 0, -1, 3, -1, -1]);
        (device.Sequences, device.TotalQueries, device.MaxQueriesPerSequence, device.MaxKvLength, device.TotalKvTokens, device.MaxPagesPerSequence)
            .ShouldBe((2, 5, 4, 17, 20L, 3));
        device.RequireGeometry(geometry, "cache");
        Should.Throw<ArgumentException>(() => device.RequireGeometry(geometry with { PageSize = 8 }, "cache")).ParamName.ShouldBe("cache");

        using var empty = new PagedKvBatch([0], [], [], 0).ToDevice(geometry, 1);
        empty.PageTable.Length.ShouldBe(1); // device buffers are never empty; the kernel reads none of it
        using var varlen = new VarlenBatch([0, 2, 2], [0, 5, 9]).ToDevice();
        varlen.KeyOffsets.ToArray().ShouldBe([0, 5, 9]);
        (varlen.TotalQueries, varlen.TotalKeys, varlen.MaxQueryLength, varlen.MaxKeyLength).ShouldBe((2, 9, 2, 5));
    }
}

/// <summary>A batch is checked against the pool before anything touches the device (so these run without a GPU too).</summary>
public class PagedKvUploadCheckTests
{
    [Fact]
    public void A_bad_batch_is_rejected_before_the_upload()
    {
        var geometry = new PagedKvGeometry(4, 16, 1, 64, 64);
        Should.Throw<ArgumentException>(() => new PagedKvBatch([0, 1], [17], [0, 9], 2).ToDevice(geometry, 1)).ParamName.ShouldBe("pageTable");
        Should.Throw<ArgumentException>(() => new PagedKvBatch([0, 2], [17], [0, 1], 2).ToDevice(geometry, 1)).ParamName.ShouldBe("queryOffsets");
        Should.Throw<ArgumentException>(() => new PagedKvBatch([0, 1], [33], [0, 1], 2).ToDevice(geometry, 1)).ParamName.ShouldBe("kvLengths");
    }
}
