using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.Intrinsics;
using KernelDsl;
using KernelDsl.Reference;
using KernelDsl.Samples;
using Spectre.Console;

namespace Bench;

internal sealed record BenchOptions(bool Quick, string DType, string JsonPath, string PlotFormat, bool Markdown);

/// <summary>One (dtype, D, S) measurement: fused and unfused times, throughput, memory and their agreement.</summary>
internal sealed record BenchRow(
    string DType, int HeadDim, int Seq, double FusedMs, double FusedGflops, double PercentOfPeak, double FusedBestGflops,
    double UnfusedMs, double UnfusedGflops, double SpeedUp, long FusedGcBytes, long FusedWorkingSetBytes,
    long UnfusedGcBytes, long UnfusedWorkingSetBytes, double FusedVsUnfusedRelativeDifference);

/// <summary>Runs the grid with a progress bar, then prints the table and writes the JSON and the plot.</summary>
internal static class CpuBenchmark
{
    private const int Heads = 16;

    public static int Run(BenchOptions options)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 220; // a log file: keep table rows whole
        }

        bool[] inputTypes = options.DType switch { "fp32" => [false], "bf16" => [true], _ => [false, true] };
        int[] seqs = options.Quick ? [512, 1024] : [512, 1024, 2048, 4096];
        int seed = Environment.TickCount;
        var random = new Random(seed);
        string loadBefore = LoadAverage();

        AnsiConsole.MarkupLine($"[bold]KernelDsl CPU bench[/] — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {Markup.Escape(RuntimeDescription())}");
        AnsiConsole.MarkupLine($"SIMD: Vector512 accelerated = {Vector512.IsHardwareAccelerated}, Vector256 = {Vector256.IsHardwareAccelerated}; load average before: {loadBefore}; seed {seed}");
        var (clockGHz, fmaPerCycle) = AnsiConsole.Status().Start("Measuring the FMA peak (single thread) ...", _ => FmaPeak.Measure());
        int lanes = Vector512.IsHardwareAccelerated ? Vector512<float>.Count : Vector256<float>.Count;
        int fmaUnits = (int)Math.Round(fmaPerCycle);
        double peakGflops = Environment.ProcessorCount * lanes * fmaUnits * 2 * clockGHz;
        AnsiConsole.MarkupLine($"clock {clockGHz:F2} GHz (dependent FMA chain, latency {FmaPeak.AssumedFmaLatencyCycles} cycles), {fmaPerCycle:F2} FMA/cycle measured -> {fmaUnits} units");
        AnsiConsole.MarkupLine($"fp32 FMA peak = {Environment.ProcessorCount} cores x {lanes} lanes x {fmaUnits} FMA units x 2 flops x {clockGHz:F2} GHz = {peakGflops:F0} GFLOP/s");

        var grid = (from dim in new[] { 64, 128 } from bf16 in inputTypes from seq in seqs select (dim, bf16, seq)).ToArray();
        var rows = new List<BenchRow>();
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask("benchmark", maxValue: grid.Length);
                foreach (var (dim, bf16, seq) in grid)
                {
                    task.Description = $"{(bf16 ? "bf16" : "fp32")} D={dim} S={seq}";
                    rows.Add(bf16
                        ? Measure<BFloat16>("bf16", seq, dim, random, peakGflops, x => x, FusedBf16(dim))
                        : Measure<float>("fp32", seq, dim, random, peakGflops, x => x, FusedFp32(dim)));
                    task.Increment(1);
                }
            });

        AnsiConsole.Write(Table(rows));
        string loadAfter = LoadAverage();
        AnsiConsole.MarkupLine($"load average after: {loadAfter}");
        if (options.Markdown)
        {
            Console.WriteLine(MarkdownTable(rows));
        }

        ResultJson.Write(options.JsonPath, new
        {
            date = DateTime.UtcNow,
            cores = Environment.ProcessorCount,
            runtime = RuntimeDescription(),
            seed,
            peakGflops,
            loadBefore,
            loadAfter,
            rows,
        });
        string plotPath = Path.ChangeExtension(options.JsonPath, options.PlotFormat);
        var points = rows.SelectMany(row => new[]
        {
            new PlotPoint($"fused {row.DType} D={row.HeadDim}", row.Seq, row.FusedGflops),
            new PlotPoint($"unfused {row.DType} D={row.HeadDim}", row.Seq, row.UnfusedGflops),
        }).ToList();
        ResultPlot.Save(plotPath, $"CPU attention, {Environment.ProcessorCount} cores, {Heads} heads (peak {peakGflops:F0} GFLOP/s)",
            "sequence length", "GFLOP/s", points);
        AnsiConsole.MarkupLine($"results: {Markup.Escape(options.JsonPath)}; plot: {Markup.Escape(plotPath)}");
        return 0;
    }

    private static BenchRow Measure<T>(string dtype, int seq, int dim, Random random, double peakGflops, Func<T, float> widen, Fused<T> fused)
        where T : unmanaged
    {
        var shape = new AttentionShape(1, seq, seq, Heads, Heads, dim, dim);
        int count = seq * Heads * dim;
        T[] q = RandomTensors.Uniform<T>(random, count), k = RandomTensors.Uniform<T>(random, count), v = RandomTensors.Uniform<T>(random, count);
        var fusedOut = new T[count];
        var baselineOut = new T[count];
        double flops = 4.0 * Heads * seq * (double)seq * dim;
        Func<float, T> narrow = RandomTensors.FromFloat<T>;
        var (fusedTime, fusedBest) = MedianSeconds(() => fused(q, k, v, fusedOut, shape), warmups: 3, runs: 9);
        var (baseTime, _) = MedianSeconds(() => UnfusedBaseline.Run(q, k, v, baselineOut, seq, Heads, dim, widen, narrow), warmups: 1, runs: seq >= 4096 ? 3 : 5);
        var fusedMemory = MemoryProbe.Measure(() => fused(q, k, v, fusedOut, shape));
        var baseMemory = MemoryProbe.Measure(() => UnfusedBaseline.Run(q, k, v, baselineOut, seq, Heads, dim, widen, narrow));
        double agreement = ErrorMetrics.RelativeError<T>(fusedOut, baselineOut.Select(x => (double)widen(x)).ToArray());
        double fusedGflops = flops / fusedTime / 1e9, baseGflops = flops / baseTime / 1e9;
        return new BenchRow(dtype, dim, seq, fusedTime * 1e3, fusedGflops, 100 * fusedGflops / peakGflops, flops / fusedBest / 1e9,
            baseTime * 1e3, baseGflops, baseTime / fusedTime, fusedMemory.GcBytes, fusedMemory.PeakWorkingSetDelta,
            baseMemory.GcBytes, baseMemory.PeakWorkingSetDelta, agreement);
    }

    private static Table Table(IReadOnlyList<BenchRow> rows)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("fused (generated) vs unfused (TensorPrimitives)");
        foreach (string column in new[] { "dtype", "D", "S", "fused ms", "fused GFLOP/s", "% of peak", "best GFLOP/s", "unfused ms", "unfused GFLOP/s", "speed-up", "fused extra memory (GC / WS)", "unfused extra memory (GC / WS)", "rel. diff" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (var r in rows)
        {
            table.AddRow(r.DType, $"{r.HeadDim}", $"{r.Seq}", $"{r.FusedMs:F1}", $"{r.FusedGflops:F1}", $"{r.PercentOfPeak:F0}%", $"{r.FusedBestGflops:F1}",
                $"{r.UnfusedMs:F0}", $"{r.UnfusedGflops:F1}", $"{r.SpeedUp:F1}x", $"{Bytes(r.FusedGcBytes)} / {Bytes(r.FusedWorkingSetBytes)}",
                $"{Bytes(r.UnfusedGcBytes)} / {Bytes(r.UnfusedWorkingSetBytes)}", $"{r.FusedVsUnfusedRelativeDifference:E1}");
        }

        return table;
    }

    private static string MarkdownTable(IReadOnlyList<BenchRow> rows) =>
        "| dtype | D | S | fused ms | fused GFLOP/s | % of peak | fused best GFLOP/s | unfused ms | unfused GFLOP/s | speed-up | fused extra memory (GC / WS) | unfused extra memory (GC / WS) | fused vs unfused rel. diff |\n"
        + "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        + string.Join("\n", rows.Select(r =>
            $"| {r.DType} | {r.HeadDim} | {r.Seq} | {r.FusedMs:F1} | {r.FusedGflops:F1} | {r.PercentOfPeak:F0}% | {r.FusedBestGflops:F1} | {r.UnfusedMs:F0} | {r.UnfusedGflops:F1} | {r.SpeedUp:F1}x | "
            + $"{Bytes(r.FusedGcBytes)} / {Bytes(r.FusedWorkingSetBytes)} | {Bytes(r.UnfusedGcBytes)} / {Bytes(r.UnfusedWorkingSetBytes)} | {r.FusedVsUnfusedRelativeDifference:E1} |"));

    private static (double Median, double Best) MedianSeconds(Action call, int warmups, int runs)
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
        }

        Array.Sort(times);
        return (times[runs / 2], times[0]);
    }

    private static Fused<float> FusedFp32(int dim) => dim == 64
        ? (q, k, v, o, s) => Fp32D64.Forward(q, k, v, o, s)
        : (q, k, v, o, s) => Fp32D128.Forward(q, k, v, o, s);

    private static Fused<BFloat16> FusedBf16(int dim) => dim == 64
        ? (q, k, v, o, s) => Bf16D64.Forward(q, k, v, o, s)
        : (q, k, v, o, s) => Bf16D128.Forward(q, k, v, o, s);

    private static string Bytes(long bytes) => bytes >= 1 << 20 ? $"{bytes / (double)(1 << 20):F1} MiB" : $"{bytes / 1024.0:F0} KiB";

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string RuntimeDescription() =>
        System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription + ", " + System.Runtime.InteropServices.RuntimeInformation.OSDescription;
}

internal delegate void Fused<T>(T[] q, T[] k, T[] v, T[] output, AttentionShape shape);
