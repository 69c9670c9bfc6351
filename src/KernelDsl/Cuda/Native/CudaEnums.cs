namespace KernelDsl.Cuda.Native;

// Values from cuda.h (stable across driver versions; the driver ABI never renumbers them).

/// <summary>CUdevice_attribute: the subset the runtime queries.</summary>
internal enum DeviceAttribute
{
    MaxThreadsPerBlock = 1,
    MaxSharedMemoryPerBlock = 8,
    WarpSize = 10,
    MaxRegistersPerBlock = 12,
    ClockRateKHz = 13,
    MultiprocessorCount = 16,
    MemoryClockRateKHz = 36,
    GlobalMemoryBusWidthBits = 37,
    L2CacheSize = 38,
    MaxThreadsPerMultiprocessor = 39,
    ComputeCapabilityMajor = 75,
    ComputeCapabilityMinor = 76,
    MaxSharedMemoryPerMultiprocessor = 81,
    MaxRegistersPerMultiprocessor = 82,
    MaxSharedMemoryPerBlockOptIn = 97,
}

/// <summary>CUjit_option: the options cuModuleLoadDataEx is given.</summary>
internal enum JitOption
{
    WallTime = 2,
    InfoLogBuffer = 3,
    InfoLogBufferSizeBytes = 4,
    ErrorLogBuffer = 5,
    ErrorLogBufferSizeBytes = 6,
    LogVerbose = 12,
}

/// <summary>CUfunction_attribute.</summary>
internal enum FunctionAttribute
{
    MaxThreadsPerBlock = 0,
    SharedSizeBytes = 1,
    ConstSizeBytes = 2,
    LocalSizeBytes = 3,
    NumRegs = 4,
    PtxVersion = 5,
    BinaryVersion = 6,
    MaxDynamicSharedSizeBytes = 8,
}

/// <summary>CUstreamCaptureMode: which API calls the driver refuses while a stream captures (unsafe ones would run, not be recorded).</summary>
internal enum StreamCaptureMode
{
    /// <summary>Unsafe calls are refused from every thread.</summary>
    Global = 0,

    /// <summary>Unsafe calls are refused from the capturing thread only.</summary>
    ThreadLocal = 1,

    Relaxed = 2,
}

/// <summary>CUstreamCaptureStatus.</summary>
internal enum StreamCaptureStatus
{
    None = 0,
    Active = 1,

    /// <summary>The capture was invalidated (an unsafe call, or a dependency on work outside it); EndCapture will fail.</summary>
    Invalidated = 2,
}
