using System;
using System.Threading;
using System.Threading.Tasks;

namespace KernelDsl.Cpu;

/// <summary>
/// Runs a kernel's work items on every core. Each worker gets one fp32 scratch buffer (64-byte aligned,
/// allocated once per call and reused for all the items it takes) and pulls items from a shared counter, so
/// uneven items (causal masks) balance out.
/// </summary>
public static unsafe class CpuWorkers
{
    /// <summary>One work item: its index and the calling worker's scratch.</summary>
    public delegate void WorkItem(int item, float* scratch);

    private const int AlignmentFloats = 16; // 64 bytes: one cache line, one AVX-512 vector

    public static void Run(int items, int scratchFloats, WorkItem body)
    {
        int workers = Math.Min(Environment.ProcessorCount, items);
        int next = -1;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ =>
        {
            // A pinned GC array (not native memory) so the allocation shows in GC statistics; aligned by hand.
            float[] buffer = GC.AllocateUninitializedArray<float>(scratchFloats + AlignmentFloats, pinned: true);
            fixed (float* start = buffer)
            {
                float* scratch = (float*)(((nuint)start + (AlignmentFloats * sizeof(float)) - 1) & ~(nuint)((AlignmentFloats * sizeof(float)) - 1));
                for (int item = Interlocked.Increment(ref next); item < items; item = Interlocked.Increment(ref next))
                {
                    body(item, scratch);
                }
            }
        });
    }

    /// <summary>Rounds a buffer size up to whole cache lines, so buffers carved one after another stay aligned.</summary>
    public static int Aligned(int floats) => (floats + AlignmentFloats - 1) / AlignmentFloats * AlignmentFloats;
}
