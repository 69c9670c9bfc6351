using System;
using System.Diagnostics;

namespace Serving;

/// <summary>The machine's copy bandwidth in bytes read per second (the reference the KV bandwidth is compared with).</summary>
internal static class CopyBandwidth
{
    public static double Measure(int bytes)
    {
        int Bytes = bytes; // the sample's tests measure a small buffer (fast), a run 256 MiB (past the caches)
        var source = GC.AllocateUninitializedArray<byte>(Bytes, pinned: true);
        var destination = GC.AllocateUninitializedArray<byte>(Bytes, pinned: true);
        new Random(1).NextBytes(source);
        source.AsSpan().CopyTo(destination); // warm-up: pages touched
        double best = 0;
        for (int run = 0; run < 5; run++)
        {
            var clock = Stopwatch.StartNew();
            source.AsSpan().CopyTo(destination);
            best = Math.Max(best, Bytes / clock.Elapsed.TotalSeconds);
        }

        return best;
    }
}
