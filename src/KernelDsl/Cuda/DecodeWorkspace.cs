using System.Collections.Concurrent;

namespace KernelDsl.Cuda;

/// <summary>
/// The split-KV workspace of the device <c>Decode</c>: partial O (fp32 [splits, totalQ, Hq, Dv]) then partial LSE (fp32
/// [splits, totalQ, Hq]), one buffer per (context, stream) so calls on different streams never share one, kept and grown
/// (never shrunk): a steady-state call finds it by a struct key and allocates nothing. Growing waits for the stream first,
/// since kernels queued on it may still read the old buffer.
/// </summary>
internal static class DecodeWorkspace
{
    private static readonly ConcurrentDictionary<(CudaContext Context, nint Stream), DeviceBuffer<float>> Buffers = new();

    public static DeviceBuffer<float> For(CudaContext context, CudaStream? stream, long floats)
    {
        nint handle = CudaStream.HandleFor(stream, context);
        var key = (context, handle);
        if (Buffers.TryGetValue(key, out var buffer) && buffer.Length >= floats)
        {
            return buffer;
        }

        lock (Buffers)
        {
            if (Buffers.TryGetValue(key, out buffer) && buffer.Length >= floats)
            {
                return buffer;
            }

            if (buffer is not null)
            {
                if (stream is null)
                {
                    context.Synchronize();
                }
                else
                {
                    stream.Synchronize();
                }

                buffer.Dispose();
            }

            // Grow by half again, so a batch growing a little per step does not reallocate every step.
            var grown = new DeviceBuffer<float>(System.Math.Max(floats, floats + (floats / 2)), context);
            Buffers[key] = grown;
            return grown;
        }
    }
}
