using System;
using System.Diagnostics;
using System.Threading;

namespace Bench;

/// <summary>
/// Extra memory of a call: bytes the GC allocated during one call (exact, all threads), and the peak rise of
/// the process's working set over its value before a second call (sampled every millisecond on a background
/// thread; two calls, because the sampler's own allocations would otherwise count).
/// </summary>
internal static class MemoryProbe
{
    public static (long GcBytes, long PeakWorkingSetDelta) Measure(Action call)
    {
        Collect();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        call();
        long gcBytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;

        Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        long before = process.WorkingSet64, peak = before;
        bool done = false;
        var sampler = new Thread(() =>
        {
            using var self = Process.GetCurrentProcess();
            while (!Volatile.Read(ref done))
            {
                self.Refresh();
                peak = Math.Max(peak, self.WorkingSet64);
                Thread.Sleep(1);
            }
        }) { IsBackground = true };
        sampler.Start();
        call();
        Volatile.Write(ref done, true);
        sampler.Join();
        return (gcBytes, Math.Max(0, peak - before));
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
