using System;
using System.Diagnostics;
using KernelDsl;
using KernelDsl.Reference;

namespace Bench;

/// <summary>
/// `--small`: the CPU Forward's cost per call when the compute is tiny (host overhead: argument checks, scheduling,
/// scratch), and the managed bytes it allocates per call after warm-up, on every thread
/// (GC.GetTotalAllocatedBytes(precise: true)). The same calls back to back, fresh random inputs, median of groups.
/// A medium shape is timed too: the hardening of non-finite inputs is measured on it (kernel time, not overhead).
/// </summary>
internal static class SmallCalls
{
    private const int Groups = 9;

    public static int Run()
    {
        Console.WriteLine($"CPU Forward, fp32, D = 64, {Environment.ProcessorCount} cores, {(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "AVX-512" : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "AVX2" : "128-bit")}");
        Console.WriteLine($"{"shape",-26} {"calls",6} {"us/call",9} {"min",9} {"bytes/call",11} {"gen0",5} {"gen2",5}");
        Measure(new AttentionShape(1, 1, 1, 1, 1, 64, 64), 20_000);
        Measure(new AttentionShape(1, 16, 16, 1, 1, 64, 64), 20_000);
        Measure(new AttentionShape(1, 64, 64, 4, 4, 64, 64), 5_000);
        Measure(new AttentionShape(1, 1024, 1024, 8, 8, 64, 64), 20);
        Measure(new AttentionShape(1, 1024, 1024, 8, 8, 64, 64), 20, causal: true);
        return 0;
    }

    private static void Measure(AttentionShape shape, int calls, bool causal = false)
    {
        ForwardCall forward = causal ? (q, k, v, o, s) => Fp32D64Causal.Forward(q, k, v, o, s) : (q, k, v, o, s) => Fp32D64.Forward(q, k, v, o, s);
        var random = new Random(1234);
        int qCount = shape.Batch * shape.SeqQ * shape.HeadsQ * shape.HeadDim;
        int kvCount = shape.Batch * shape.SeqKv * shape.HeadsKv * shape.HeadDim;
        float[] q = RandomTensors.Uniform<float>(random, qCount), k = RandomTensors.Uniform<float>(random, kvCount), v = RandomTensors.Uniform<float>(random, kvCount);
        var output = new float[qCount];
        for (int i = 0; i < Math.Max(100, calls / 10); i++)
        {
            forward(q, k, v, output, shape);
        }

        var perGroup = new double[Groups];
        long bytes = 0;
        int gen0 = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
        for (int g = 0; g < Groups; g++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < calls; i++)
            {
                forward(q, k, v, output, shape);
            }

            perGroup[g] = Stopwatch.GetElapsedTime(start).TotalMicroseconds / calls;
            bytes += GC.GetTotalAllocatedBytes(precise: true) - before;
        }

        Array.Sort(perGroup);
        string name = $"B{shape.Batch} Sq{shape.SeqQ} Skv{shape.SeqKv} H{shape.HeadsQ}{(causal ? " causal" : string.Empty)}";
        Console.WriteLine($"{name,-26} {calls,6} {perGroup[Groups / 2],9:F2} {perGroup[0],9:F2} {(double)bytes / (calls * Groups),11:F0} {GC.CollectionCount(0) - gen0,5} {GC.CollectionCount(2) - gen2,5}");
    }
}

internal delegate void ForwardCall(float[] q, float[] k, float[] v, float[] output, AttentionShape shape);
