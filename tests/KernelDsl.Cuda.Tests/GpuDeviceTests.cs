using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>Device query on a real GPU.</summary>
[Collection(GpuCollection.Name)]
public class GpuDeviceTests(ITestOutputHelper output)
{
    [Fact]
    public void DeviceReportsPlausibleProperties()
    {
        TestSupport.RequireGpu();
        CudaDevice device = Cuda.GetDevice(0);
        output.WriteLine($"driver {Cuda.DriverVersionText}, {Cuda.DeviceCount} device(s); device 0: {device}");

        Cuda.IsAvailable.ShouldBeTrue();
        Cuda.UnavailableReason.ShouldBeNull();
        Cuda.DriverVersion.ShouldBeGreaterThanOrEqualTo(11080, "PTX ISA 7.8 needs a CUDA 11.8+ driver");
        device.Name.ShouldNotBeNullOrWhiteSpace();
        device.ComputeCapabilityMajor.ShouldBeGreaterThanOrEqualTo(5);
        device.Architecture.ShouldBe($"sm_{device.ComputeCapabilityMajor}{device.ComputeCapabilityMinor}");
        device.MultiprocessorCount.ShouldBeGreaterThan(0);
        device.WarpSize.ShouldBe(32);
        device.SharedMemoryPerBlock.ShouldBe(48 * 1024);
        device.SharedMemoryPerBlockOptIn.ShouldBeGreaterThanOrEqualTo(device.SharedMemoryPerBlock);
        device.SharedMemoryPerMultiprocessor.ShouldBeGreaterThanOrEqualTo(device.SharedMemoryPerBlockOptIn);
        device.RegistersPerMultiprocessor.ShouldBe(65536);
        device.TotalMemoryBytes.ShouldBeGreaterThan(1L << 30);
    }

    [Fact]
    public void ContextIsSharedAndReportsMemory()
    {
        TestSupport.RequireGpu();

        CudaContext.ForDevice(0).ShouldBeSameAs(Cuda.DefaultContext);
        var (free, total) = Cuda.DefaultContext.GetMemoryInfo();
        output.WriteLine($"free {free >> 20} MiB of {total >> 20} MiB");
        // cuMemGetInfo and cuDeviceTotalMem may differ by what the driver keeps for itself.
        total.ShouldBeInRange(Cuda.GetDevice().TotalMemoryBytes * 9 / 10, Cuda.GetDevice().TotalMemoryBytes);
        free.ShouldBeInRange(1, total);
    }

    [Fact]
    public void DeviceOrdinalOutOfRangeIsAnArgumentError()
    {
        TestSupport.RequireGpu();
        Should.Throw<System.ArgumentOutOfRangeException>(() => CudaContext.ForDevice(Cuda.DeviceCount));
    }
}
