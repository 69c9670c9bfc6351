using System;
using KernelDsl.Cuda.Handles;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>
/// A CUDA stream. Created as a blocking stream (flags 0), so it stays ordered with the legacy default stream
/// that the synchronous copies and memsets of <see cref="DeviceBuffer{T}"/> use: an upload, a launch on this
/// stream and a download happen in program order without extra synchronization.
/// A null <see cref="CudaStream"/> wherever one is accepted means the legacy default stream.
/// A stream another library created can be wrapped without taking it over (<see cref="Wrap"/>, CudaStream.External.cs).
/// </summary>
public sealed partial class CudaStream : IDisposable
{
    private readonly ContextBoundHandle _handle;

    private CudaStream(CudaContext context, ContextBoundHandle handle)
    {
        Context = context;
        _handle = handle;
    }

    public CudaContext Context { get; }

    internal nint Handle => _handle.DangerousGetHandle();

    public static CudaStream Create(CudaContext? context = null)
    {
        context ??= Cuda.DefaultContext;
        context.MakeCurrent();
        var handle = new StreamHandle(context.Handle);
        CudaException.Check(CudaDriver.cuStreamCreate(out nint stream, 0), "cuStreamCreate");
        handle.Attach(stream);
        return new CudaStream(context, handle);
    }

    /// <summary>Waits for all work queued on this stream; asynchronous kernel faults surface here.</summary>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        Context.MakeCurrent();
        CudaException.Check(CudaDriver.cuStreamSynchronize(Handle), "cuStreamSynchronize");
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>The raw handle of a stream, 0 for the legacy default stream, after checking it belongs to the context.</summary>
    internal static nint HandleFor(CudaStream? stream, CudaContext context)
    {
        if (stream is null)
        {
            return 0;
        }

        ObjectDisposedException.ThrowIf(stream._handle.IsClosed, stream);
        if (!ReferenceEquals(stream.Context, context))
        {
            throw new ArgumentException($"The stream belongs to device {stream.Context.Device.Ordinal}, not to device {context.Device.Ordinal}.", nameof(stream));
        }

        return stream.Handle;
    }
}
