using System;
using System.Threading;

namespace KernelDsl.Cuda;

/// <summary>
/// Entry point of the GPU runtime: whether CUDA can run here, and if not, why. The driver is probed once,
/// lazily, on first use; the probe never throws, so code without a GPU can ask freely and fall back to the CPU.
/// Everything else that needs the GPU throws <see cref="CudaUnavailableException"/> (stating the reason)
/// when <see cref="IsAvailable"/> is false.
/// </summary>
public static class Cuda
{
    private static readonly Lazy<CudaAvailability> State = new(
        () => CudaAvailability.Probe(new NativeDriverProbe(), Environment.GetEnvironmentVariable(CudaAvailability.DisableVariable)),
        LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True when libcuda.so.1 loads, cuInit succeeds and at least one device exists.</summary>
    public static bool IsAvailable => State.Value.IsAvailable;

    /// <summary>Why CUDA cannot run (null when it can), e.g. "NVIDIA driver library libcuda.so.1 not found".</summary>
    public static string? UnavailableReason => State.Value.Reason;

    /// <summary>The driver's CUDA version as an integer (12040 = 12.4); 0 when unavailable.</summary>
    public static int DriverVersion => State.Value.DriverVersion;

    /// <summary>The driver's CUDA version as text ("12.4"); empty when unavailable.</summary>
    public static string DriverVersionText => IsAvailable ? CudaAvailability.FormatVersion(DriverVersion) : string.Empty;

    /// <summary>Number of CUDA devices; 0 when unavailable.</summary>
    public static int DeviceCount => State.Value.DeviceCount;

    /// <summary>The primary context of device 0, which the runtime uses unless told otherwise.</summary>
    public static CudaContext DefaultContext => CudaContext.ForDevice(0);

    /// <summary>Throws <see cref="CudaUnavailableException"/> with the reason unless CUDA can run.</summary>
    public static void RequireAvailable()
    {
        CudaAvailability state = State.Value;
        if (!state.IsAvailable)
        {
            throw new CudaUnavailableException(state.Reason ?? "unknown reason");
        }
    }

    /// <summary>Properties of one device (queried once, then cached).</summary>
    public static CudaDevice GetDevice(int ordinal = 0) => CudaContext.ForDevice(ordinal).Device;

    /// <summary>Waits for all work on the default context (cuCtxSynchronize); surfaces asynchronous kernel faults.</summary>
    public static void Synchronize() => DefaultContext.Synchronize();
}
