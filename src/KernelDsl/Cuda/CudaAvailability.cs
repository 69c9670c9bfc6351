using System;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>The three driver calls that decide whether CUDA can run; an interface so tests can fake each failure.</summary>
internal interface IDriverProbe
{
    CudaResult Init();

    CudaResult GetDriverVersion(out int version);

    CudaResult GetDeviceCount(out int count);
}

/// <summary>The real driver.</summary>
internal sealed class NativeDriverProbe : IDriverProbe
{
    public CudaResult Init() => CudaDriver.cuInit(0);

    public CudaResult GetDriverVersion(out int version) => CudaDriver.cuDriverGetVersion(out version);

    public CudaResult GetDeviceCount(out int count) => CudaDriver.cuDeviceGetCount(out count);
}

/// <summary>
/// The outcome of probing the driver once per process: either usable (driver version, device count) or not,
/// with a reason a person can act on. Probing never throws: a missing library, an old driver, a failing cuInit
/// and an empty device list all become a reason.
/// </summary>
internal sealed record CudaAvailability(bool IsAvailable, string? Reason, int DriverVersion, int DeviceCount)
{
    /// <summary>Set to 1 or true to make the runtime behave as if there were no GPU (forces the CPU path).</summary>
    internal const string DisableVariable = "KERNELDSL_DISABLE_CUDA";

    internal const string LibraryNotFoundReason = "NVIDIA driver library libcuda.so.1 not found";

    internal static CudaAvailability Probe(IDriverProbe driver, string? disableValue)
    {
        if (disableValue is not null && (disableValue == "1" || disableValue.Equals("true", StringComparison.OrdinalIgnoreCase)))
        {
            return Unavailable($"disabled by the environment variable {DisableVariable}={disableValue}");
        }

        try
        {
            CudaResult init = driver.Init();
            if (init != CudaResult.Success)
            {
                return Unavailable(new CudaException(init, "cuInit").Message);
            }

            CudaResult version = driver.GetDriverVersion(out int driverVersion);
            if (version != CudaResult.Success)
            {
                return Unavailable(new CudaException(version, "cuDriverGetVersion").Message);
            }

            CudaResult count = driver.GetDeviceCount(out int deviceCount);
            if (count != CudaResult.Success)
            {
                return Unavailable(new CudaException(count, "cuDeviceGetCount").Message);
            }

            if (deviceCount <= 0)
            {
                return Unavailable($"no CUDA device found (driver {FormatVersion(driverVersion)} reports {deviceCount} devices)");
            }

            return new CudaAvailability(true, null, driverVersion, deviceCount);
        }
        catch (DllNotFoundException)
        {
            return Unavailable(LibraryNotFoundReason);
        }
        catch (EntryPointNotFoundException e)
        {
            return Unavailable($"the NVIDIA driver library libcuda.so.1 is too old ({e.Message})");
        }
        catch (BadImageFormatException e)
        {
            return Unavailable($"the NVIDIA driver library libcuda.so.1 could not be loaded ({e.Message})");
        }
    }

    /// <summary>12040 → "12.4".</summary>
    internal static string FormatVersion(int version) => $"{version / 1000}.{version % 1000 / 10}";

    private static CudaAvailability Unavailable(string reason) => new(false, reason, 0, 0);
}
