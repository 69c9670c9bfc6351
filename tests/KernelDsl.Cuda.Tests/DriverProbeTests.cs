using System;
using KernelDsl.Cuda.Native;
using Shouldly;
using Xunit;

namespace KernelDsl.Cuda.Tests;

/// <summary>
/// Every way the driver can be unusable, with a fake driver, so each reason is tested on any machine
/// (the real probe can only show the one state of the machine it runs on).
/// </summary>
public class DriverProbeTests
{
    [Fact]
    public void MissingLibraryGivesTheLibraryNotFoundReason()
    {
        var state = CudaAvailability.Probe(new FakeDriver { Throw = new DllNotFoundException("libcuda.so.1: cannot open shared object file") }, null);

        state.IsAvailable.ShouldBeFalse();
        state.Reason.ShouldBe("NVIDIA driver library libcuda.so.1 not found");
        state.DeviceCount.ShouldBe(0);
    }

    [Fact]
    public void MissingEntryPointSaysTheDriverIsTooOld()
    {
        var state = CudaAvailability.Probe(new FakeDriver { Throw = new EntryPointNotFoundException("cuInit") }, null);

        state.IsAvailable.ShouldBeFalse();
        state.Reason.ShouldNotBeNull().ShouldContain("too old");
    }

    [Fact]
    public void FailingInitNamesTheCallAndTheResult()
    {
        var state = CudaAvailability.Probe(new FakeDriver { InitResult = CudaResult.ErrorNoDevice }, null);

        state.IsAvailable.ShouldBeFalse();
        state.Reason.ShouldNotBeNull().ShouldContain("cuInit failed");
        state.Reason.ShouldContain("(100)");
    }

    [Fact]
    public void FailingDeviceCountNamesTheCall()
    {
        var state = CudaAvailability.Probe(new FakeDriver { CountResult = CudaResult.ErrorUnknown }, null);

        state.IsAvailable.ShouldBeFalse();
        state.Reason.ShouldNotBeNull().ShouldContain("cuDeviceGetCount failed");
    }

    [Fact]
    public void NoDevicesIsUnavailable()
    {
        var state = CudaAvailability.Probe(new FakeDriver { Count = 0, Version = 12040 }, null);

        state.IsAvailable.ShouldBeFalse();
        state.Reason.ShouldBe("no CUDA device found (driver 12.4 reports 0 devices)");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("true")]
    [InlineData("TRUE")]
    public void EnvironmentSwitchDisablesWithoutTouchingTheDriver(string value)
    {
        var driver = new FakeDriver { Count = 1 };
        var state = CudaAvailability.Probe(driver, value);

        state.IsAvailable.ShouldBeFalse();
        state.Reason.ShouldNotBeNull().ShouldContain(CudaAvailability.DisableVariable);
        driver.InitCalls.ShouldBe(0);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("")]
    [InlineData("false")]
    public void OtherSwitchValuesDoNotDisable(string value) =>
        CudaAvailability.Probe(new FakeDriver { Count = 1 }, value).IsAvailable.ShouldBeTrue();

    [Fact]
    public void WorkingDriverReportsVersionAndDevices()
    {
        var state = CudaAvailability.Probe(new FakeDriver { Count = 2, Version = 12080 }, null);

        state.ShouldBe(new CudaAvailability(true, null, 12080, 2));
        CudaAvailability.FormatVersion(state.DriverVersion).ShouldBe("12.8");
    }

    private sealed class FakeDriver : IDriverProbe
    {
        public Exception? Throw { get; init; }

        public CudaResult InitResult { get; init; }

        public CudaResult CountResult { get; init; }

        public int Count { get; init; }

        public int Version { get; init; } = 12000;

        public int InitCalls { get; private set; }

        public CudaResult Init()
        {
            InitCalls++;
            if (Throw is not null)
            {
                throw Throw;
            }

            return InitResult;
        }

        public CudaResult GetDriverVersion(out int version)
        {
            version = Version;
            return CudaResult.Success;
        }

        public CudaResult GetDeviceCount(out int count)
        {
            count = Count;
            return CountResult;
        }
    }
}
