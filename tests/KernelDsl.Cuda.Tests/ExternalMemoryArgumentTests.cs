using System;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// Views of memory and streams that other libraries own (DeviceBuffer.Wrap, DeviceTensor.Wrap, CudaStream.Wrap):
/// the argument checks that run before the driver is asked anything, so they hold on every machine.
/// </summary>
public class ExternalMemoryArgumentTests
{
    [Fact]
    public void NullPointerIsRejected() =>
        Should.Throw<ArgumentException>(() => DeviceBuffer<float>.Wrap(0, 16)).ParamName.ShouldBe("devicePointer");

    [Theory]
    [InlineData(-1)]
    [InlineData(-5)]
    public void NegativeLengthIsRejected(long length) =>
        Should.Throw<ArgumentOutOfRangeException>(() => DeviceBuffer<float>.Wrap(0x7f0000000000, length)).ParamName.ShouldBe("length");

    /// <summary>An empty view addresses nothing, so any pointer will do (PyTorch's empty tensors may have data_ptr 0).</summary>
    [Fact]
    public void EmptyViewsAcceptAnyPointer()
    {
        Should.NotThrow(() => DeviceBuffer<float>.CheckWrapArguments(0, 0));
        Should.NotThrow(() => DeviceBuffer<float>.CheckWrapArguments(0x7f0000000002, 0));
        DeviceTensor<Half>.CheckViewArguments(TensorLayout.BSHD, new[] { 2, 0, 4, 8 }, new long[] { 0, 32, 8, 1 }).ShouldBe(0);
    }

    [Fact]
    public void MisalignedPointerIsRejectedNamingTheElementSize()
    {
        var error = Should.Throw<ArgumentException>(() => DeviceBuffer<float>.Wrap(0x7f0000000002, 4));
        error.ParamName.ShouldBe("devicePointer");
        error.Message.ShouldContain("not aligned to Single (4 bytes)");
        Should.NotThrow(() => DeviceBuffer<Half>.CheckWrapArguments(0x7f0000000002, 4));
    }

    [Fact]
    public void TensorViewNeedsFourLengthsAndFourStrides()
    {
        Should.Throw<ArgumentException>(() => DeviceTensor<Half>.Wrap(0x7f0000000000, TensorLayout.BSHD, new[] { 1, 2, 3 }))
            .ParamName.ShouldBe("lengths");
        Should.Throw<ArgumentException>(() => DeviceTensor<Half>.Wrap(0x7f0000000000, TensorLayout.BSHD, new[] { 1, 2, 3, 4 }, new long[] { 24, 12, 4 }))
            .ParamName.ShouldBe("strides");
    }

    [Fact]
    public void TensorViewRejectsNegativeLengthsNegativeStridesAndUnknownLayouts()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => DeviceTensor<Half>.Wrap(0x7f0000000000, TensorLayout.BSHD, new[] { 1, -1, 3, 4 }))
            .ParamName.ShouldBe("lengths");
        Should.Throw<ArgumentOutOfRangeException>(() => DeviceTensor<Half>.Wrap(0x7f0000000000, TensorLayout.BHSD, new[] { 1, 2, 3, 4 }, new long[] { 24, -12, 4, 1 }))
            .ParamName.ShouldBe("strides");
        Should.Throw<ArgumentOutOfRangeException>(() => DeviceTensor<Half>.Wrap(0x7f0000000000, (TensorLayout)7, new[] { 1, 2, 3, 4 }))
            .ParamName.ShouldBe("layout");
    }

    [Fact]
    public void TensorViewSpansItsLastElement()
    {
        // Contiguous [2, 3, 4, 8]: all 192 elements. q of a packed [2, 3, 3 (q/k/v), 4, 8] tensor: strides
        // [288, 96, 8, 1], so the view reaches element 1·288 + 2·96 + 3·8 + 7 = 511 — 512 elements, gaps included.
        DeviceTensor<Half>.CheckViewArguments(TensorLayout.BSHD, new[] { 2, 3, 4, 8 }, new long[] { 96, 32, 8, 1 }).ShouldBe(192);
        DeviceTensor<Half>.CheckViewArguments(TensorLayout.BSHD, new[] { 2, 3, 4, 8 }, new long[] { 288, 96, 8, 1 }).ShouldBe(512);
    }

    [Fact]
    public void StreamHandleZeroIsTheDefaultStreamAndIsRejected()
    {
        var error = Should.Throw<ArgumentException>(() => CudaStream.Wrap(0));
        error.ParamName.ShouldBe("handle");
        error.Message.ShouldContain("pass null");
    }

    [Fact]
    public void ValidArgumentsWithoutAGpuThrowUnavailable()
    {
        TestSupport.RequireNoGpu();
        Should.Throw<CudaUnavailableException>(() => DeviceBuffer<float>.Wrap(0x7f0000000000, 16));
        Should.Throw<CudaUnavailableException>(() => DeviceTensor<Half>.Wrap(0x7f0000000000, TensorLayout.BSHD, new[] { 1, 2, 3, 8 }));
        Should.Throw<CudaUnavailableException>(() => CudaStream.Wrap(0x1234));
    }
}
