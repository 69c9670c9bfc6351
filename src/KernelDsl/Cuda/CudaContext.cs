using System;
using System.Collections.Concurrent;
using KernelDsl.Cuda.Handles;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>
/// A device's primary context, retained once for the life of the process and shared by every user in it
/// (including other libraries on the CUDA runtime). Driver calls act on the calling thread's current context,
/// so every operation here first makes this context current: callers may use any thread.
/// </summary>
public sealed class CudaContext
{
    private static readonly ConcurrentDictionary<int, Lazy<CudaContext>> Contexts = new();

    private readonly Lazy<CudaModuleCache> _modules;

    private CudaContext(int ordinal)
    {
        Cuda.RequireAvailable();
        if (ordinal < 0 || ordinal >= Cuda.DeviceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(ordinal), ordinal, $"There are {Cuda.DeviceCount} CUDA devices.");
        }

        Device = CudaDevice.Query(ordinal);
        CudaException.Check(CudaDriver.cuDeviceGet(out int device, ordinal), "cuDeviceGet");
        Handle = PrimaryContextHandle.Retain(device);
        _modules = new Lazy<CudaModuleCache>(() => new CudaModuleCache(this));
    }

    /// <summary>The device this context runs on.</summary>
    public CudaDevice Device { get; }

    /// <summary>The PTX modules loaded into this context, each JIT-compiled once.</summary>
    public CudaModuleCache Modules => _modules.Value;

    internal PrimaryContextHandle Handle { get; }

    /// <summary>
    /// The primary context of a device (created on first request; a failure is not cached, so a later call
    /// retries). Throws <see cref="CudaUnavailableException"/> when CUDA cannot run.
    /// </summary>
    public static CudaContext ForDevice(int ordinal)
    {
        Cuda.RequireAvailable();
        Lazy<CudaContext> entry = Contexts.GetOrAdd(ordinal, o => new Lazy<CudaContext>(() => new CudaContext(o)));
        try
        {
            return entry.Value;
        }
        catch
        {
            Contexts.TryRemove(new(ordinal, entry));
            throw;
        }
    }

    /// <summary>Makes this context current on the calling thread.</summary>
    public void MakeCurrent() => Handle.MakeCurrent();

    /// <summary>Waits for all work in this context; asynchronous kernel faults surface here as <see cref="CudaException"/>.</summary>
    public void Synchronize()
    {
        MakeCurrent();
        CudaException.Check(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    /// <summary>Free and total device memory in bytes (cuMemGetInfo).</summary>
    public (long Free, long Total) GetMemoryInfo()
    {
        MakeCurrent();
        CudaException.Check(CudaDriver.cuMemGetInfo_v2(out nuint free, out nuint total), "cuMemGetInfo_v2");
        return ((long)free, (long)total);
    }
}
