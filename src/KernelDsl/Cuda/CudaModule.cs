using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using KernelDsl.Cuda.Handles;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>
/// A PTX module JIT-compiled and loaded into a context. Keeps the JIT's info log (with LOG_VERBOSE it lists
/// registers, spills and shared memory per kernel) and how long the first load took, which is the first-call
/// latency a benchmark reports. Normally obtained from <see cref="CudaModuleCache"/>, which owns it.
/// </summary>
public sealed class CudaModule : IDisposable
{
    /// <summary>Bytes reserved for each JIT log; the driver truncates beyond this.</summary>
    private const int LogCapacity = 64 * 1024;

    private readonly CudaModuleHandle _handle;
    private readonly ConcurrentDictionary<string, CudaKernel> _kernels = new(StringComparer.Ordinal);

    private CudaModule(CudaContext context, CudaModuleHandle handle, string infoLog, float jitWallTimeMs, TimeSpan loadTime)
    {
        Context = context;
        _handle = handle;
        InfoLog = infoLog;
        JitWallTimeMilliseconds = jitWallTimeMs;
        LoadTime = loadTime;
    }

    public CudaContext Context { get; }

    /// <summary>The JIT's info log (verbose): per-kernel registers, spill stores/loads, shared memory.</summary>
    public string InfoLog { get; }

    /// <summary>Time the driver reports spending in the JIT compiler (CU_JIT_WALL_TIME), in ms.</summary>
    public float JitWallTimeMilliseconds { get; }

    /// <summary>Wall time of the whole cuModuleLoadDataEx call (JIT + load), measured with a Stopwatch.</summary>
    public TimeSpan LoadTime { get; }

    internal nint Handle => _handle.DangerousGetHandle();

    /// <summary>
    /// JIT-compiles and loads PTX text into a context. Throws <see cref="CudaJitException"/> (with the JIT's
    /// error log in its message) when the PTX is rejected. Prefer <see cref="CudaModuleCache.GetOrLoad"/>.
    /// </summary>
    public static unsafe CudaModule Load(CudaContext context, string ptx)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrEmpty(ptx);

        // The driver reads the image as a NUL-terminated C string.
        byte[] image = new byte[Encoding.UTF8.GetByteCount(ptx) + 1];
        Encoding.UTF8.GetBytes(ptx, image);
        byte[] infoLog = new byte[LogCapacity];
        byte[] errorLog = new byte[LogCapacity];

        const int OptionCount = 6;
        JitOption* options = stackalloc JitOption[OptionCount]
        {
            JitOption.InfoLogBuffer, JitOption.InfoLogBufferSizeBytes,
            JitOption.ErrorLogBuffer, JitOption.ErrorLogBufferSizeBytes,
            JitOption.LogVerbose, JitOption.WallTime,
        };
        void** values = stackalloc void*[OptionCount];

        context.MakeCurrent();
        var handle = new CudaModuleHandle(context.Handle);
        CudaResult result;
        long started;
        long finished;
        nint module;
        fixed (byte* imagePointer = image)
        fixed (byte* infoPointer = infoLog)
        fixed (byte* errorPointer = errorLog)
        {
            // Integer options travel in the pointer-sized slot itself, not behind a pointer.
            values[0] = infoPointer;
            values[1] = (void*)(nint)LogCapacity;
            values[2] = errorPointer;
            values[3] = (void*)(nint)LogCapacity;
            values[4] = (void*)(nint)1;
            values[5] = null;

            started = Stopwatch.GetTimestamp();
            result = CudaDriver.cuModuleLoadDataEx(out module, imagePointer, OptionCount, options, values);
            finished = Stopwatch.GetTimestamp();
        }

        // The driver wrote the wall time (a float) into the low bytes of its slot.
        float wallTime = *(float*)&values[5];
        string info = DecodeLog(infoLog);
        if (result != CudaResult.Success)
        {
            throw new CudaJitException(result, DecodeLog(errorLog), info);
        }

        handle.Attach(module);
        return new CudaModule(context, handle, info, wallTime, Stopwatch.GetElapsedTime(started, finished));
    }

    /// <summary>The kernel with the given .entry name (looked up once, then cached).</summary>
    public CudaKernel GetKernel(string entryName)
    {
        ArgumentException.ThrowIfNullOrEmpty(entryName);
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        return _kernels.GetOrAdd(entryName, static (name, module) => CudaKernel.Create(module, name), this);
    }

    /// <summary>Unloads the module; its kernels become unusable. Modules owned by a cache are never disposed.</summary>
    public void Dispose() => _handle.Dispose();

    private static string DecodeLog(byte[] log)
    {
        int length = Array.IndexOf(log, (byte)0);
        return Encoding.UTF8.GetString(log, 0, length < 0 ? log.Length : length).TrimEnd();
    }
}
