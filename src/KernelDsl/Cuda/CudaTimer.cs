using System;

namespace KernelDsl.Cuda;

/// <summary>
/// Times GPU work with a pair of events: Start, enqueue work, Stop, then <see cref="ElapsedMilliseconds"/>.
/// Measures time on the GPU between the two markers, not host time, so launch overhead of the host thread
/// is excluded once the queue is full. Reusable for repeated measurements.
/// </summary>
public sealed class CudaTimer : IDisposable
{
    private readonly CudaEvent _start;
    private readonly CudaEvent _stop;
    private bool _started;
    private bool _stopped;

    public CudaTimer(CudaContext? context = null)
    {
        _start = new CudaEvent(context);
        _stop = new CudaEvent(_start.Context);
    }

    public void Start(CudaStream? stream = null)
    {
        _start.Record(stream);
        _started = true;
        _stopped = false;
    }

    public void Stop(CudaStream? stream = null)
    {
        if (!_started)
        {
            throw new InvalidOperationException("CudaTimer.Stop was called before Start.");
        }

        _stop.Record(stream);
        _stopped = true;
    }

    /// <summary>Milliseconds between Start and Stop on the GPU; waits for the Stop marker.</summary>
    public float ElapsedMilliseconds()
    {
        if (!_stopped)
        {
            throw new InvalidOperationException("CudaTimer.ElapsedMilliseconds needs Start and then Stop first.");
        }

        return _stop.ElapsedMillisecondsSince(_start);
    }

    public void Dispose()
    {
        _start.Dispose();
        _stop.Dispose();
    }
}
