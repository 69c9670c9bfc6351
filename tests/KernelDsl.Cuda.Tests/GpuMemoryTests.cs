using System;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using KernelDsl.Cuda.Native;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>Device buffers on a real GPU: round trips bit for bit, poisoning, copies, errors.</summary>
[Collection(GpuCollection.Name)]
public class GpuMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void FloatRoundTripIsBitExact()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        float[] host = TestSupport.RandomFloats(random, 1_000_003);

        using var buffer = DeviceBuffer<float>.From(host);
        buffer.Fill(float.NaN);  // make sure the download reads what the upload below writes
        buffer.Upload(host);
        float[] back = buffer.ToArray();

        MemoryMarshal.AsBytes(back.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(host.AsSpan())).ShouldBeTrue();
    }

    [Fact]
    public void HalfAndBFloat16RoundTripsAreBitExact()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        float[] values = TestSupport.RandomFloats(random, 4099);
        Half[] halves = values.Select(v => (Half)v).ToArray();
        BFloat16[] brains = values.Select(v => (BFloat16)v).ToArray();

        using var halfBuffer = DeviceBuffer<Half>.From(halves);
        using var brainBuffer = DeviceBuffer<BFloat16>.From(brains);
        Half[] halvesBack = new Half[halves.Length];
        BFloat16[] brainsBack = new BFloat16[brains.Length];
        halfBuffer.Download(halvesBack);
        brainBuffer.Download(brainsBack);

        halvesBack.Select(BitConverter.HalfToUInt16Bits).ShouldBe(halves.Select(BitConverter.HalfToUInt16Bits));
        brainsBack.Select(b => b.RawValue).ShouldBe(brains.Select(b => b.RawValue));
    }

    [Fact]
    public void FillPoisonsEveryElementWithNaN()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        int length = 777;

        using var floats = DeviceBuffer<float>.From(TestSupport.RandomFloats(random, length));
        floats.Fill(float.NaN);
        floats.ToArray().ShouldAllBe(v => float.IsNaN(v));

        using var halves = DeviceBuffer<Half>.From(TestSupport.RandomFloats(random, length).Select(v => (Half)v).ToArray());
        halves.Fill(Half.NaN);
        halves.ToArray().ShouldAllBe(v => Half.IsNaN(v));

        using var brains = DeviceBuffer<BFloat16>.From(TestSupport.RandomFloats(random, length).Select(v => (BFloat16)v).ToArray());
        brains.Fill(BFloat16.NaN);
        brains.ToArray().ShouldAllBe(v => BFloat16.IsNaN(v));
    }

    [Fact]
    public void MemsetWritesEveryByte()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        using var buffer = DeviceBuffer<float>.From(TestSupport.RandomFloats(random, 1001));

        buffer.Memset(0xFF);
        buffer.ToArray().ShouldAllBe(v => float.IsNaN(v) && BitConverter.SingleToUInt32Bits(v) == 0xFFFF_FFFFu);
        buffer.Clear();
        buffer.ToArray().ShouldAllBe(v => BitConverter.SingleToUInt32Bits(v) == 0u);
    }

    [Fact]
    public void DeviceToDeviceCopy()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        float[] host = TestSupport.RandomFloats(random, 4096);
        using var source = DeviceBuffer<float>.From(host);
        using var destination = new DeviceBuffer<float>(host.Length);
        destination.Fill(float.NaN);

        source.CopyTo(destination);

        destination.ToArray().ShouldBe(host);
    }

    [Fact]
    public void UsableFromAnotherThread()
    {
        TestSupport.RequireGpu();
        var random = TestSupport.SeededRandom(output);
        float[] host = TestSupport.RandomFloats(random, 513);
        using var buffer = new DeviceBuffer<float>(host.Length);

        // A fresh thread has no current context; the buffer must make its own current.
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                buffer.Upload(host);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();

        failure.ShouldBeNull();

        buffer.ToArray().ShouldBe(host);
    }

    [Fact]
    public void LengthMismatchNamesTheArgument()
    {
        TestSupport.RequireGpu();
        using var buffer = new DeviceBuffer<float>(10);

        Should.Throw<ArgumentException>(() => buffer.Upload(new float[9])).ParamName.ShouldBe("source");
        Should.Throw<ArgumentException>(() => buffer.Download(new float[11])).ParamName.ShouldBe("destination");
        using var other = new DeviceBuffer<float>(12);
        Should.Throw<ArgumentException>(() => buffer.CopyTo(other)).ParamName.ShouldBe("destination");
        Should.Throw<ArgumentOutOfRangeException>(() => new DeviceBuffer<float>(-1)).ParamName.ShouldBe("length");
    }

    /// <summary>An empty buffer (an empty batch or sequence) holds no memory; its copies and fills do nothing.</summary>
    [Fact]
    public void EmptyBufferHasNoMemoryAndEmptyCopies()
    {
        TestSupport.RequireGpu();
        using var empty = new DeviceBuffer<float>(0);
        empty.DevicePointer.ShouldBe(0UL);
        empty.Upload(ReadOnlySpan<float>.Empty);
        empty.Fill(float.NaN);
        empty.ToArray().ShouldBeEmpty();
        using var tensor = DeviceTensor<Half>.Create(TensorLayout.BSHD, 2, 0, 4, 64);
        tensor.Length.ShouldBe(0);
        DeviceBuffer<float>.Wrap(0, 0).Length.ShouldBe(0);
    }

    [Fact]
    public void ImpossibleAllocationIsACudaOutOfMemoryError()
    {
        TestSupport.RequireGpu();

        var error = Should.Throw<CudaException>(() => new DeviceBuffer<float>(1L << 48).Dispose());

        error.Result.ShouldBe(CudaResult.ErrorOutOfMemory);
        error.ErrorName.ShouldBe("CUDA_ERROR_OUT_OF_MEMORY");
        error.Call.ShouldBe("cuMemAlloc_v2");
    }

    [Fact]
    public void DisposeFreesAndInvalidates()
    {
        TestSupport.RequireGpu();
        long before = Cuda.DefaultContext.GetMemoryInfo().Free;
        var buffer = new DeviceBuffer<float>(64L << 20);  // 256 MiB, far above allocator granularity
        long during = Cuda.DefaultContext.GetMemoryInfo().Free;
        buffer.Dispose();
        long after = Cuda.DefaultContext.GetMemoryInfo().Free;
        output.WriteLine($"free: {before >> 20} → {during >> 20} → {after >> 20} MiB");

        (before - during).ShouldBeGreaterThanOrEqualTo(256L << 20);
        (after - during).ShouldBeGreaterThanOrEqualTo(256L << 20);
        Should.Throw<ObjectDisposedException>(() => _ = buffer.DevicePointer);
    }
}
