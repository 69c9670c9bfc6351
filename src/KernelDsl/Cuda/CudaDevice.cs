using System;
using System.Runtime.InteropServices;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>
/// What the runtime and the planner need to know about a device: name, compute capability, SM count,
/// shared-memory limits (default per block, opt-in per block, per SM), registers and memory.
/// </summary>
public sealed record CudaDevice(
    int Ordinal,
    string Name,
    int ComputeCapabilityMajor,
    int ComputeCapabilityMinor,
    int MultiprocessorCount,
    int SharedMemoryPerBlock,
    int SharedMemoryPerBlockOptIn,
    int SharedMemoryPerMultiprocessor,
    int RegistersPerMultiprocessor,
    int MaxThreadsPerBlock,
    int WarpSize,
    int L2CacheBytes,
    int ClockRateKHz,
    int MemoryClockRateKHz,
    int MemoryBusWidthBits,
    long TotalMemoryBytes)
{
    /// <summary>The PTX target name of this device, e.g. "sm_90".</summary>
    public string Architecture => $"sm_{ComputeCapabilityMajor}{ComputeCapabilityMinor}";

    /// <summary>Compute capability as a comparable number: 8.0 → 80, 9.0 → 90.</summary>
    public int ComputeCapability => (ComputeCapabilityMajor * 10) + ComputeCapabilityMinor;

    public override string ToString() =>
        $"{Name} ({Architecture}, {MultiprocessorCount} SMs, {TotalMemoryBytes / (1024.0 * 1024 * 1024):F1} GiB, " +
        $"shared memory {SharedMemoryPerBlockOptIn / 1024} KiB/block opt-in, {SharedMemoryPerMultiprocessor / 1024} KiB/SM)";

    internal static unsafe CudaDevice Query(int ordinal)
    {
        CudaException.Check(CudaDriver.cuDeviceGet(out int device, ordinal), "cuDeviceGet", $"device ordinal {ordinal}");

        const int NameLength = 256;
        byte* name = stackalloc byte[NameLength];
        CudaException.Check(CudaDriver.cuDeviceGetName(name, NameLength, device), "cuDeviceGetName");
        CudaException.Check(CudaDriver.cuDeviceTotalMem_v2(out nuint totalMemory, device), "cuDeviceTotalMem_v2");

        int Attribute(DeviceAttribute attribute)
        {
            CudaException.Check(CudaDriver.cuDeviceGetAttribute(out int value, attribute, device), "cuDeviceGetAttribute", attribute.ToString());
            return value;
        }

        return new CudaDevice(
            ordinal,
            (Marshal.PtrToStringUTF8((nint)name) ?? string.Empty).Trim(),
            Attribute(DeviceAttribute.ComputeCapabilityMajor),
            Attribute(DeviceAttribute.ComputeCapabilityMinor),
            Attribute(DeviceAttribute.MultiprocessorCount),
            Attribute(DeviceAttribute.MaxSharedMemoryPerBlock),
            Attribute(DeviceAttribute.MaxSharedMemoryPerBlockOptIn),
            Attribute(DeviceAttribute.MaxSharedMemoryPerMultiprocessor),
            Attribute(DeviceAttribute.MaxRegistersPerMultiprocessor),
            Attribute(DeviceAttribute.MaxThreadsPerBlock),
            Attribute(DeviceAttribute.WarpSize),
            Attribute(DeviceAttribute.L2CacheSize),
            Attribute(DeviceAttribute.ClockRateKHz),
            Attribute(DeviceAttribute.MemoryClockRateKHz),
            Attribute(DeviceAttribute.GlobalMemoryBusWidthBits),
            checked((long)totalMemory));
    }
}
