using System;
using KernelDsl.Cuda.Native;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// Memory and streams that "another library" owns — here the driver called directly, as cudaMalloc or PyTorch would —
/// used through non-owning views: the data round-trips, disposing a view frees nothing, and the driver's checks
/// reject ranges past the allocation, host pointers and foreign streams.
/// </summary>
[Collection(GpuCollection.Name)]
public class GpuExternalMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public unsafe void WrappedDriverAllocationRoundTripsAndOutlivesItsView()
    {
        TestSupport.RequireGpu();
        float[] host = TestSupport.RandomFloats(TestSupport.SeededRandom(output), 4096);
        ulong pointer = Allocate(host.Length * sizeof(float));
        try
        {
            using (var view = DeviceBuffer<float>.Wrap(pointer, host.Length))
            {
                view.OwnsMemory.ShouldBeFalse();
                view.DevicePointer.ShouldBe(pointer);
                view.Upload(host);
                view.ToArray().ShouldBe(host);
            }

            // The view is gone; the owner's memory is not.
            float[] back = new float[host.Length];
            fixed (float* destination = back)
            {
                CudaDriver.cuMemcpyDtoH_v2(destination, pointer, (nuint)(back.Length * sizeof(float))).ShouldBe(CudaResult.Success);
            }

            back.ShouldBe(host);
        }
        finally
        {
            CudaDriver.cuMemFree_v2(pointer).ShouldBe(CudaResult.Success);
        }
    }

    [Fact]
    public void ViewOfPartOfAnAllocationAndPastItsEnd()
    {
        TestSupport.RequireGpu();
        ulong pointer = Allocate(1024 * sizeof(float));
        try
        {
            using (var tail = DeviceBuffer<float>.Wrap(pointer + (256 * sizeof(float)), 768))
            {
                tail.Length.ShouldBe(768);
            }

            var error = Should.Throw<ArgumentOutOfRangeException>(() => DeviceBuffer<float>.Wrap(pointer + (256 * sizeof(float)), 769));
            error.ParamName.ShouldBe("length");
            error.Message.ShouldContain("at most 768 elements fit");
        }
        finally
        {
            CudaDriver.cuMemFree_v2(pointer).ShouldBe(CudaResult.Success);
        }
    }

    [Fact]
    public unsafe void HostPointerIsNotDeviceMemory()
    {
        TestSupport.RequireGpu();
        float[] host = new float[64];
        fixed (float* data = host)
        {
            ulong address = (ulong)data;
            Should.Throw<ArgumentException>(() => DeviceBuffer<float>.Wrap(address, host.Length)).ParamName.ShouldBe("devicePointer");
        }
    }

    [Fact]
    public void StridedTensorViewIsNotCopiedWholesale()
    {
        TestSupport.RequireGpu();
        // q of a packed [1, 16, 3, 2, 8] qkv tensor: uploading the view's span would overwrite k and v.
        ulong pointer = Allocate(16 * 3 * 2 * 8 * sizeof(ushort));
        try
        {
            using var q = DeviceTensor<Half>.Wrap(pointer, TensorLayout.BSHD, new[] { 1, 16, 2, 8 }, new long[] { 768, 48, 8, 1 });
            q.IsContiguous.ShouldBeFalse();
            q.Length.ShouldBe(16 * 2 * 8);
            q.Seq.ShouldBe(16);
            q.SeqStride.ShouldBe(48);
            Should.Throw<InvalidOperationException>(() => q.Upload(new Half[q.Length])).Message.ShouldContain("strided view");
            Should.Throw<InvalidOperationException>(() => q.Fill(Half.NaN));

            using var contiguous = DeviceTensor<Half>.Wrap(pointer, TensorLayout.BHSD, new[] { 1, 2, 16, 8 });
            contiguous.IsContiguous.ShouldBeTrue();
            contiguous.Strides.ToArray().ShouldBe(new nint[] { 256, 128, 8, 1 });
            contiguous.Fill(Half.One);
            contiguous.ToArray().ShouldAllBe(x => x == Half.One);
        }
        finally
        {
            CudaDriver.cuMemFree_v2(pointer).ShouldBe(CudaResult.Success);
        }
    }

    [Fact]
    public void WrappedDriverStreamOrdersWorkAndIsNotDestroyedWithItsView()
    {
        TestSupport.RequireGpu();
        Cuda.DefaultContext.MakeCurrent();
        CudaDriver.cuStreamCreate(out nint handle, 0).ShouldBe(CudaResult.Success);
        try
        {
            using (var stream = CudaStream.Wrap(handle))
            {
                stream.OwnsStream.ShouldBeFalse();
                stream.NativeHandle.ShouldBe(handle);
                stream.Synchronize();
            }

            Cuda.DefaultContext.MakeCurrent();
            CudaDriver.cuStreamSynchronize(handle).ShouldBe(CudaResult.Success);
        }
        finally
        {
            CudaDriver.cuStreamDestroy_v2(handle).ShouldBe(CudaResult.Success);
        }
    }

    [Fact]
    public void OwnStreamHandsOutItsHandle()
    {
        TestSupport.RequireGpu();
        using var owner = CudaStream.Create();
        owner.OwnsStream.ShouldBeTrue();
        using var view = CudaStream.Wrap(owner.NativeHandle);
        view.NativeHandle.ShouldBe(owner.NativeHandle);
        view.Synchronize();
    }

    [Fact]
    public void StreamFromAnotherDeviceIsRejected()
    {
        TestSupport.RequireGpu();
        Assert.SkipWhen(Cuda.DeviceCount < 2, "Needs two CUDA devices.");
        using var other = CudaStream.Create(CudaContext.ForDevice(1));
        Should.Throw<ArgumentException>(() => CudaStream.Wrap(other.NativeHandle, CudaContext.ForDevice(0))).ParamName.ShouldBe("handle");
    }

    private static ulong Allocate(long bytes)
    {
        Cuda.DefaultContext.MakeCurrent();
        CudaDriver.cuMemAlloc_v2(out ulong pointer, (nuint)bytes).ShouldBe(CudaResult.Success);
        return pointer;
    }
}
