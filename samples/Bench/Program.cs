using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.Intrinsics;
using Bench;
using KernelDsl;
using KernelDsl.Reference;

// The CPU benchmark of NOTES.md: fused generated kernel vs unfused TensorPrimitives baseline, one process,
// same inputs. GFLOP/s = 4·B·H·Sq·Skv·D / median time (and / best time, which a busy machine disturbs least).
// Pass --quick for S ≤ 1024 only; --fp32 or --bf16 to run one input type.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
bool quick = args.Contains("--quick");
bool[] inputTypes = args.Contains("--fp32") ? [false] : args.Contains("--bf16") ? [true] : [false, true];
int[] seqs = quick ? [512, 1024] : [512, 1024, 2048, 4096];
const int Heads = 16;
int seed = Environment.TickCount;
var random = new Random(seed);

Console.WriteLine($"KernelDsl CPU bench — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {RuntimeDescription()}");
Console.WriteLine($"SIMD: Vector512 accelerated = {Vector512.IsHardwareAccelerated}, Vector256 = {Vector256.IsHardwareAccelerated}; load average before: {LoadAverage()}; seed {seed}");
Console.Write("Measuring the FMA peak (single thread) ... ");
var (clockGHz, fmaPerCycle) = FmaPeak.Measure();
int lanes = Vector512.IsHardwareAccelerated ? Vector512<float>.Count : Vector256<float>.Count;
int fmaUnits = (int)Math.Round(fmaPerCycle);
double peakGflops = Environment.ProcessorCount * lanes * fmaUnits * 2 * clockGHz;
Console.WriteLine($"clock {clockGHz:F2} GHz (dependent FMA chain, latency {FmaPeak.AssumedFmaLatencyCycles} cycles), {fmaPerCycle:F2} FMA/cycle measured -> {fmaUnits} units");
Console.WriteLine($"fp32 FMA peak = {Environment.ProcessorCount} cores x {lanes} lanes x {fmaUnits} FMA units x 2 flops x {clockGHz:F2} GHz = {peakGflops:F0} GFLOP/s");
Console.WriteLine();

var rows = new List<string>();
string header = "| dtype | D | S | fused ms | fused GFLOP/s | % of peak | fused best GFLOP/s | unfused ms | unfused GFLOP/s | speed-up | fused extra memory (GC / WS) | unfused extra memory (GC / WS) | fused vs unfused rel. diff |";
Console.WriteLine(header);
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
foreach (int dim in new[] { 64, 128 })
{
    foreach (bool bf16 in inputTypes)
    {
        foreach (int seq in seqs)
        {
            string row = bf16
                ? Measure<BFloat16>("bf16", seq, dim, x => (BFloat16)x, x => x, FusedBf16(dim))
                : Measure<float>("fp32", seq, dim, x => x, x => x, FusedFp32(dim));
            Console.WriteLine(row);
            rows.Add(row);
        }
    }
}

Console.WriteLine();
Console.WriteLine($"load average after: {LoadAverage()}");

string Measure<T>(string dtype, int seq, int dim, Func<float, T> narrow, Func<T, float> widen, Fused<T> fused)
    where T : unmanaged
{
    var shape = new AttentionShape(1, seq, seq, Heads, Heads, dim, dim);
    int count = seq * Heads * dim;
    T[] q = RandomTensor(count, narrow), k = RandomTensor(count, narrow), v = RandomTensor(count, narrow);
    var fusedOut = new T[count];
    var baselineOut = new T[count];
    double flops = 4.0 * Heads * seq * (double)seq * dim;
    Console.Error.Write($"  {dtype} D={dim} S={seq}: fused ");
    var (fusedTime, fusedBest) = MedianSeconds(() => fused(q, k, v, fusedOut, shape), warmups: 3, runs: 9);
    Console.Error.Write($"{fusedTime * 1e3:F1} ms, unfused ");
    var (baseTime, _) = MedianSeconds(() => UnfusedBaseline.Run(q, k, v, baselineOut, seq, Heads, dim, widen, narrow), warmups: 1, runs: seq >= 4096 ? 3 : 5);
    Console.Error.WriteLine($"{baseTime * 1e3:F1} ms");
    var fusedMemory = MemoryProbe.Measure(() => fused(q, k, v, fusedOut, shape));
    var baseMemory = MemoryProbe.Measure(() => UnfusedBaseline.Run(q, k, v, baselineOut, seq, Heads, dim, widen, narrow));
    double agreement = ErrorMetrics.RelativeError<T>(fusedOut, baselineOut.Select(x => (double)widen(x)).ToArray());
    double fusedGflops = flops / fusedTime / 1e9, baseGflops = flops / baseTime / 1e9;
    return $"| {dtype} | {dim} | {seq} | {fusedTime * 1e3:F1} | {fusedGflops:F1} | {100 * fusedGflops / peakGflops:F0}% | {flops / fusedBest / 1e9:F1} | {baseTime * 1e3:F0} | {baseGflops:F1} | {baseTime / fusedTime:F1}x | "
           + $"{Bytes(fusedMemory.GcBytes)} / {Bytes(fusedMemory.PeakWorkingSetDelta)} | {Bytes(baseMemory.GcBytes)} / {Bytes(baseMemory.PeakWorkingSetDelta)} | {agreement:E1} |";
}

T[] RandomTensor<T>(int count, Func<float, T> narrow)
{
    var data = new T[count];
    for (int i = 0; i < count; i++)
    {
        data[i] = narrow((float)((random.NextDouble() * 2) - 1));
    }

    return data;
}

static (double Median, double Best) MedianSeconds(Action call, int warmups, int runs)
{
    for (int i = 0; i < warmups; i++)
    {
        call();
    }

    var times = new double[runs];
    for (int i = 0; i < runs; i++)
    {
        var timer = Stopwatch.StartNew();
        call();
        times[i] = timer.Elapsed.TotalSeconds;
        Console.Error.Write('.');
    }

    Array.Sort(times);
    return (times[runs / 2], times[0]);
}

static Fused<float> FusedFp32(int dim) => dim == 64
    ? (q, k, v, o, s) => Fp32D64.Forward(q, k, v, o, s)
    : (q, k, v, o, s) => Fp32D128.Forward(q, k, v, o, s);

static Fused<BFloat16> FusedBf16(int dim) => dim == 64
    ? (q, k, v, o, s) => Bf16D64.Forward(q, k, v, o, s)
    : (q, k, v, o, s) => Bf16D128.Forward(q, k, v, o, s);

static string Bytes(long bytes) => bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):F1} MiB" : $"{bytes / 1024.0:F0} KiB";

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static string RuntimeDescription() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription + ", " + System.Runtime.InteropServices.RuntimeInformation.OSDescription;

internal delegate void Fused<T>(T[] q, T[] k, T[] v, T[] output, AttentionShape shape);
