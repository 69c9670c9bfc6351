using System;
using KernelDsl.Cuda.Handles;
using KernelDsl.Cuda.Native;

namespace KernelDsl.Cuda;

/// <summary>
/// A CUDA graph captured from the launches made on a stream, instantiated and ready to replay: one
/// <see cref="Launch"/> enqueues all of them for about the host cost of a single launch. Capture records launches
/// instead of running them; a replay reads the device memory the captured launches were given, as it is at replay
/// time (upload new inputs into the same tensors between replays; the graph keeps no copies).
/// </summary>
/// <remarks>
/// What may run inside <see cref="Capture"/>: device <c>Forward</c> calls (and any <see cref="CudaKernel"/> launch) on
/// the capturing stream. What may not: anything that synchronizes or allocates (uploads, downloads, <c>Fill</c>, new
/// tensors, <see cref="CudaStream.Synchronize"/>), launches on the legacy default stream (a null stream), and a
/// spec's first call in the process (its PTX is JIT-compiled and loaded then; call it once before capturing). The
/// driver refuses such calls from the capturing thread (capture mode thread-local) and the capture fails with a
/// <see cref="CudaException"/> naming the call.
/// </remarks>
public sealed class CudaGraph : IDisposable
{
    private readonly GraphHandle _graph;
    private readonly GraphExecHandle _exec;

    private CudaGraph(CudaContext context, GraphHandle graph, GraphExecHandle exec, int nodeCount)
    {
        Context = context;
        _graph = graph;
        _exec = exec;
        NodeCount = nodeCount;
    }

    public CudaContext Context { get; }

    /// <summary>Number of operations (kernel launches) the graph replays.</summary>
    public int NodeCount { get; }

    /// <summary>
    /// Runs <paramref name="record"/> with <paramref name="stream"/> capturing, and instantiates what it enqueued. If
    /// <paramref name="record"/> throws, the capture is ended and discarded, and the exception propagates.
    /// </summary>
    public static CudaGraph Capture(CudaStream stream, Action<CudaStream> record)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(record);
        var context = stream.Context;
        context.MakeCurrent();
        CudaException.Check(CudaDriver.cuStreamBeginCapture_v2(stream.Handle, StreamCaptureMode.ThreadLocal), "cuStreamBeginCapture_v2");
        nint raw;
        try
        {
            record(stream);
        }
        catch
        {
            // Leave the stream usable: end the capture and drop whatever it recorded.
            context.MakeCurrent();
            if (CudaDriver.cuStreamEndCapture(stream.Handle, out raw) == CudaResult.Success && raw != 0)
            {
                CudaDriver.cuGraphDestroy(raw);
            }

            throw;
        }

        context.MakeCurrent();
        CudaException.Check(
            CudaDriver.cuStreamEndCapture(stream.Handle, out raw), "cuStreamEndCapture",
            "the capture was invalidated: something inside it synchronized, allocated, or used the legacy default stream (pass the capturing stream to every launch)");
        var graph = new GraphHandle(context.Handle);
        graph.Attach(raw);
        try
        {
            nuint nodes = 0;
            CudaException.Check(CudaDriver.cuGraphGetNodes(raw, 0, ref nodes), "cuGraphGetNodes");
            CudaException.Check(CudaDriver.cuGraphInstantiateWithFlags(out nint exec, raw, 0), "cuGraphInstantiateWithFlags");
            var execHandle = new GraphExecHandle(context.Handle);
            execHandle.Attach(exec);
            return new CudaGraph(context, graph, execHandle, checked((int)nodes));
        }
        catch
        {
            graph.Dispose();
            throw;
        }
    }

    /// <summary>True while <paramref name="stream"/> is capturing (inside <see cref="Capture"/>).</summary>
    public static bool IsCapturing(CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Context.MakeCurrent();
        CudaException.Check(CudaDriver.cuStreamIsCapturing(stream.Handle, out StreamCaptureStatus status), "cuStreamIsCapturing");
        return status != StreamCaptureStatus.None;
    }

    /// <summary>Enqueues one replay of the whole graph on <paramref name="stream"/> (null: the legacy default stream).</summary>
    public void Launch(CudaStream? stream = null)
    {
        ObjectDisposedException.ThrowIf(_exec.IsClosed, this);
        nint handle = CudaStream.HandleFor(stream, Context);
        Context.MakeCurrent();
        CudaException.Check(CudaDriver.cuGraphLaunch(_exec.DangerousGetHandle(), handle), "cuGraphLaunch");
    }

    public void Dispose()
    {
        _exec.Dispose();
        _graph.Dispose();
    }
}
