using System;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace KernelDsl.Cpu;

/// <summary>
/// Runs a kernel's work items on every core, allocation-free in steady state. Each thread keeps one fp32 scratch
/// buffer (pinned, 64-byte aligned, grown when a kernel needs more, then reused by every call on that thread), and the
/// workers pull items from a shared counter, so uneven items (causal masks) balance out. The caller works too; the other
/// workers are thread-pool work items of a pooled job object. The caller waits only for items in flight, never for a
/// queued worker that has not started (that one finds no items left and leaves), so a busy thread pool cannot stall a call.
/// </summary>
public static unsafe class CpuWorkers
{
    /// <summary>One work item: its index and the calling worker's scratch.</summary>
    public delegate void WorkItem(int item, float* scratch);

    /// <summary>The work of one call as a struct (no closure, no delegate): the generated kernels implement it.</summary>
    public interface IWork
    {
        void Execute(int item, float* scratch);
    }

    private const int AlignmentFloats = 16; // 64 bytes: one cache line, one AVX-512 vector

    /// <summary>This thread's scratch: pinned (on the pinned-object heap, so its address never changes), reused.</summary>
    [ThreadStatic]
    private static float[]? t_scratch;

    /// <summary>Runs <paramref name="body"/> for items [0, items) (a delegate: allocates its closure at the call site).</summary>
    public static void Run(int items, int scratchFloats, WorkItem body)
    {
        ArgumentNullException.ThrowIfNull(body);
        Run(items, scratchFloats, new DelegateWork(body));
    }

    /// <summary>Runs <paramref name="work"/> for items [0, items), in parallel; no allocation once each thread has its scratch.</summary>
    public static void Run<TWork>(int items, int scratchFloats, in TWork work)
        where TWork : struct, IWork
    {
        ArgumentOutOfRangeException.ThrowIfNegative(items);
        ArgumentOutOfRangeException.ThrowIfNegative(scratchFloats);
        if (items == 0)
        {
            return;
        }

        int workers = Math.Min(Environment.ProcessorCount, items);
        if (workers == 1)
        {
            float* scratch = Scratch(scratchFloats);
            for (int item = 0; item < items; item++)
            {
                work.Execute(item, scratch);
            }

            return;
        }

        Job<TWork>.Run(items, scratchFloats, work, workers - 1);
    }

    /// <summary>Rounds a buffer size up to whole cache lines, so buffers carved one after another stay aligned.</summary>
    public static int Aligned(int floats) => (floats + AlignmentFloats - 1) / AlignmentFloats * AlignmentFloats;

    /// <summary>Total items of (a · b · c) work, checked: the kernels index items with an int.</summary>
    public static int Items(int a, int b, int c)
    {
        long items = (long)a * b * c;
        if (items > int.MaxValue)
        {
            throw new ArgumentException($"The call has {a} x {b} x {c} = {items} work items, more than the {int.MaxValue} the CPU kernel indexes; split it into several calls.", "shape");
        }

        return (int)items;
    }

    private static float* Scratch(int floats)
    {
        var buffer = t_scratch;
        if (buffer is null || buffer.Length < floats + AlignmentFloats)
        {
            buffer = GC.AllocateUninitializedArray<float>(floats + AlignmentFloats, pinned: true);
            t_scratch = buffer;
        }

        nuint start = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (float*)((start + (AlignmentFloats * sizeof(float)) - 1) & ~(nuint)((AlignmentFloats * sizeof(float)) - 1));
    }

    private readonly struct DelegateWork(WorkItem body) : IWork
    {
        public void Execute(int item, float* scratch) => body(item, scratch);
    }

    /// <summary>
    /// One parallel call: the work, the item counter, and the count of workers inside it (−1 once the caller has closed
    /// it). One instance per work type is cached and reused; a worker that starts after the close sees −1 and leaves, and
    /// one that starts after the next call opened the same instance simply helps with that call.
    /// </summary>
    private sealed class Job<TWork> : IThreadPoolWorkItem
        where TWork : struct, IWork
    {
        private static Job<TWork>? s_cached;

        private TWork _work;
        private int _items;
        private int _scratchFloats;
        private long _next;
        private int _running = -1;
        private ExceptionDispatchInfo? _error;

        public static void Run(int items, int scratchFloats, in TWork work, int helpers)
        {
            var job = Interlocked.Exchange(ref s_cached, null) ?? new Job<TWork>();
            job._work = work;
            job._items = items;
            job._scratchFloats = scratchFloats;
            job._error = null;
            Volatile.Write(ref job._next, -1);
            Volatile.Write(ref job._running, 1); // the caller; opens the job to helpers (stale ones included)
            for (int i = 0; i < helpers; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(job, preferLocal: false);
            }

            job.Work();
            Interlocked.Decrement(ref job._running);

            // Every item is claimed now; wait for those in flight, then close (0 -> -1) so no late helper enters.
            var spinner = default(SpinWait);
            while (Interlocked.CompareExchange(ref job._running, -1, 0) != 0)
            {
                spinner.SpinOnce();
            }

            var error = job._error;
            job._work = default;
            job._error = null;
            Volatile.Write(ref s_cached, job);
            error?.Throw();
        }

        /// <summary>A helper: enters unless the job is closed, works, leaves.</summary>
        void IThreadPoolWorkItem.Execute()
        {
            int running = Volatile.Read(ref _running);
            while (true)
            {
                if (running < 0)
                {
                    return;
                }

                int seen = Interlocked.CompareExchange(ref _running, running + 1, running);
                if (seen == running)
                {
                    break;
                }

                running = seen;
            }

            Work();
            Interlocked.Decrement(ref _running);
        }

        private void Work()
        {
            try
            {
                float* scratch = Scratch(_scratchFloats);
                for (long item = Interlocked.Increment(ref _next); item < _items; item = Interlocked.Increment(ref _next))
                {
                    _work.Execute((int)item, scratch);
                }
            }
            catch (Exception exception)
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(exception), null);
                Volatile.Write(ref _next, _items); // stop the other workers at their next claim
            }
        }
    }
}
