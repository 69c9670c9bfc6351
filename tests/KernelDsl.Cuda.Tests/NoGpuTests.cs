using System;
using KernelDsl.Cuda;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// On a machine without a usable GPU (CI): the runtime says so, with a reason, and every GPU API throws
/// <see cref="CudaUnavailableException"/> instead of crashing.
/// </summary>
public class NoGpuTests
{
    [Fact]
    public void AvailabilityIsFalseWithAReason()
    {
        TestSupport.RequireNoGpu();

        Cuda.IsAvailable.ShouldBeFalse();
        Cuda.UnavailableReason.ShouldNotBeNullOrWhiteSpace();
        Cuda.DeviceCount.ShouldBe(0);
        Cuda.DriverVersionText.ShouldBeEmpty();
    }

    [Fact]
    public void MissingDriverLibraryIsNamed()
    {
        TestSupport.RequireNoGpu();
        Assert.SkipWhen(TestSupport.DriverLibraryLoads(), "libcuda.so.1 loads here; the GPU is missing for another reason: " + Cuda.UnavailableReason);

        Cuda.UnavailableReason.ShouldBe("NVIDIA driver library libcuda.so.1 not found");
    }

    public static TheoryData<string> GpuOperations() => new(
        "Cuda.RequireAvailable",
        "Cuda.DefaultContext",
        "Cuda.GetDevice",
        "Cuda.Synchronize",
        "CudaContext.ForDevice",
        "new DeviceBuffer",
        "DeviceBuffer.From",
        "DeviceTensor.Create",
        "CudaStream.Create",
        "new CudaEvent",
        "new CudaTimer");

    [Theory]
    [MemberData(nameof(GpuOperations))]
    public void GpuOperationsThrowUnavailableWithTheReason(string operation)
    {
        TestSupport.RequireNoGpu();
        Action action = operation switch
        {
            "Cuda.RequireAvailable" => Cuda.RequireAvailable,
            "Cuda.DefaultContext" => () => _ = Cuda.DefaultContext,
            "Cuda.GetDevice" => () => Cuda.GetDevice(),
            "Cuda.Synchronize" => Cuda.Synchronize,
            "CudaContext.ForDevice" => () => CudaContext.ForDevice(0),
            "new DeviceBuffer" => () => new DeviceBuffer<float>(16).Dispose(),
            "DeviceBuffer.From" => () => DeviceBuffer<Half>.From(new Half[4]).Dispose(),
            "DeviceTensor.Create" => () => DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, 2, 3, 4).Dispose(),
            "CudaStream.Create" => () => CudaStream.Create().Dispose(),
            "new CudaEvent" => () => new CudaEvent().Dispose(),
            "new CudaTimer" => () => new CudaTimer().Dispose(),
            _ => throw new ArgumentOutOfRangeException(nameof(operation)),
        };

        var error = Should.Throw<CudaUnavailableException>(action);
        error.Reason.ShouldBe(Cuda.UnavailableReason);
        error.Message.ShouldContain(Cuda.UnavailableReason!);
    }
}
