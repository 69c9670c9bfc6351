using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Bench;

/// <summary>
/// The machine's fp32 FMA peak, cores × lanes × FMA units × 2 × clock, with the clock and the FMA units
/// measured here rather than taken from a data sheet:
/// - clock: a chain of dependent 512-bit FMAs runs one FMA per FMA latency; with the latency of Zen 4/5
///   (4 cycles, AMD's optimisation guide), chain FMAs per second × 4 = cycles per second;
/// - FMA units: 12 independent FMA chains saturate the FMA pipes; FMAs per second / clock = units.
/// Both single-threaded (the best of several tries, so a busy neighbour cannot drag the clock down).
/// </summary>
internal static class FmaPeak
{
    public const int AssumedFmaLatencyCycles = 4;

    public static (double ClockGHz, double FmaPerCycle) Measure()
    {
        double bestChain = 0, bestThroughput = 0;
        for (int attempt = 0; attempt < 7; attempt++)
        {
            const long steps = 50_000_000;
            var timer = Stopwatch.StartNew();
            Sink(DependentChain(steps));
            bestChain = System.Math.Max(bestChain, 4.0 * steps / timer.Elapsed.TotalSeconds);
            timer.Restart();
            Sink(IndependentChains(steps / 2));
            bestThroughput = System.Math.Max(bestThroughput, 12.0 * (steps / 2) / timer.Elapsed.TotalSeconds);
        }

        double clock = bestChain * AssumedFmaLatencyCycles;
        return (clock / 1e9, bestThroughput / clock);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Sink(float value) => _ = value;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float DependentChain(long steps)
    {
        var a = Vector512.Create(1f);
        var m = Vector512.Create(0.999999f);
        var c = Vector512.Create(1e-7f);
        for (long i = 0; i < steps; i++)
        {
            a = Vector512.FusedMultiplyAdd(a, m, c);
            a = Vector512.FusedMultiplyAdd(a, m, c);
            a = Vector512.FusedMultiplyAdd(a, m, c);
            a = Vector512.FusedMultiplyAdd(a, m, c);
        }

        return a.ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float IndependentChains(long steps)
    {
        var m = Vector512.Create(0.999999f);
        var c = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0 + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c;
        Vector512<float> a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
        for (long i = 0; i < steps; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c);
            a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c);
            a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c);
            a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c);
            a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c);
            a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c);
            a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }

        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).ToScalar();
    }
}
