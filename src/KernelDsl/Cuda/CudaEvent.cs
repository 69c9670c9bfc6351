using System;
using KernelDsl.Cuda.Handles;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>A CUDA event with timing enabled: a marker in a stream whose completion time the GPU records.</summary>
public sealed class CudaEvent : IDisposable
{
    private readonly EventHandle _handle;

    public CudaEvent(CudaContext? context = null)
    {
        Context = context ?? Cuda.DefaultContext;
        Context.MakeCurrent();
        _handle = new EventHandle(Context.Handle);
        CudaException.Check(CudaDriver.cuEventCreate(out nint @event, 0), "cuEventCreate");
        _handle.Attach(@event);
    }

    public CudaContext Context { get; }

    internal nint Handle => _handle.DangerousGetHandle();

    /// <summary>Enqueues the event on a stream (null: the legacy default stream).</summary>
    public void Record(CudaStream? stream = null)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        Context.MakeCurrent();
        CudaException.Check(CudaDriver.cuEventRecord(Handle, CudaStream.HandleFor(stream, Context)), "cuEventRecord");
    }

    /// <summary>Blocks until the GPU has passed this event.</summary>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        Context.MakeCurrent();
        CudaException.Check(CudaDriver.cuEventSynchronize(Handle), "cuEventSynchronize");
    }

    /// <summary>GPU time from <paramref name="start"/> to this event, in ms (resolution about 0.5 µs); waits for this event.</summary>
    public float ElapsedMillisecondsSince(CudaEvent start)
    {
        ArgumentNullException.ThrowIfNull(start);
        Synchronize();
        CudaException.Check(CudaDriver.cuEventElapsedTime(out float milliseconds, start.Handle, Handle), "cuEventElapsedTime");
        return milliseconds;
    }

    public void Dispose() => _handle.Dispose();
}
