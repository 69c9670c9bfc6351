using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using KernelDsl;
using KernelDsl.Cuda;

namespace GpuBench;

/// <summary>
/// <c>GpuBench --small OUT.json</c>: the cost of small calls (issue 9, item 6). Per shape (fp16, BHSD, D = 64, dense):
/// device µs per call back to back (CUDA events around groups of launches, median of 7 groups), host µs per call
/// (Stopwatch around launches without a sync), managed bytes allocated per call, and the µs per call of a CUDA graph
/// replaying 100 captured calls; on the legacy default stream and on a created stream; for the automatic kernel
/// choice and, on Hopper, the sm_80 family forced. Next to them the same numbers for an empty kernel launched
/// through the same binding. torch_small.py measures PyTorch's SDPA on the same shapes; compare_small.py joins them.
/// </summary>
internal static class SmallCalls
{
    /// <summary>The shapes of issue 9: tiny, two small ones, and a decode step (one query row against a cache).</summary>
    internal static readonly (string Name, int B, int H, int Sq, int Skv)[] Shapes =
    [
        ("tiny B1 H8 S64", 1, 8, 64, 64),
        ("small B1 H16 S128", 1, 16, 128, 128),
        ("small B4 H16 S256", 4, 16, 256, 256),
        ("decode B8 H16 Sq1 Skv1024", 8, 16, 1, 1024),
    ];

    private const int D = 64;

    /// <summary>An empty kernel (no parameters), launched through CudaKernel like a Forward, as the floor.</summary>
    private const string EmptyPtx = """
        .version 7.8
        .target sm_80
        .address_size 64
        .visible .entry kdsl_empty()
        {
            ret;
        }
        """;

    public static int Run(string outPath)
    {
        var device = Cuda.GetDevice();
        Console.WriteLine($"KernelDsl small-call benchmark on {device}, driver {Cuda.DriverVersionText}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var rows = new List<Dictionary<string, object>>();
        using var created = CudaStream.Create();
        var streams = new (string Name, CudaStream? Stream)[] { ("default", null), ("created", created) };

        var empty = Cuda.DefaultContext.Modules.GetKernel(EmptyPtx, "kdsl_empty");
        WarmUpProcess(empty, created, device.ComputeCapabilityMajor == 9);
        foreach (var (streamName, stream) in streams)
        {
            void LaunchEmpty()
            {
                var args = new LaunchArguments();
                empty.Launch(new Dim3(1), new Dim3(32), 0, stream, ref args);
            }

            var row = Measure(LaunchEmpty, stream, graphable: true);
            row["name"] = "empty kernel";
            row["stream"] = streamName;
            rows.Add(Print(row));
        }

        bool hopper = device.ComputeCapabilityMajor == 9;
        var random = new Random(Environment.TickCount);
        foreach (var (name, b, h, sq, skv) in Shapes)
        {
            using var q = Filled(DeviceTensor<Half>.Create(TensorLayout.BHSD, b, sq, h, D), random);
            using var k = Filled(DeviceTensor<Half>.Create(TensorLayout.BHSD, b, skv, h, D), random);
            using var v = Filled(DeviceTensor<Half>.Create(TensorLayout.BHSD, b, skv, h, D), random);
            using var o = DeviceTensor<Half>.Create(TensorLayout.BHSD, b, sq, h, D);
            foreach (bool forceSm80 in hopper ? new[] { false, true } : new[] { false })
            {
                GpuKernelSelection.ForcedFamily = forceSm80 ? "sm_80" : null;
                foreach (var (streamName, stream) in streams)
                {
                    var row = Measure(() => D64Fp16Dense.Forward(q, k, v, o, stream), stream, graphable: true);
                    row["name"] = name;
                    row["stream"] = streamName;
                    row["family"] = forceSm80 ? "sm_80 (forced)" : "auto";
                    (row["B"], row["H"], row["Sq"], row["Skv"], row["D"]) = (b, h, sq, skv, D);
                    rows.Add(Print(row));
                }
            }

            GpuKernelSelection.ForcedFamily = GpuKernelSelection.ReadForcedFamily();
        }

        File.WriteAllText(outPath, JsonSerializer.Serialize(
            new { device = device.ToString(), date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm"), dtype = "FP16", layout = "BHSD", results = rows },
            new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {outPath}");
        return 0;
    }

    /// <summary>
    /// Warm-up (2,000 calls and 0.3 s, so the JIT's tier-1 code runs, not tier-0), then: device µs per call (events),
    /// host µs per call (launch only; groups of 200 stay far below the driver's launch queue depth), bytes allocated
    /// per call, and with a created stream the µs per call of a graph replaying 100 captured calls.
    /// </summary>
    private static Dictionary<string, object> Measure(Action call, CudaStream? stream, bool graphable)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 2000 || warm.ElapsedMilliseconds < 300; i++)
        {
            call();
        }

        Cuda.Synchronize();
        double deviceUs = MedianMicroseconds(call, stream, 7, 500);

        var host = new List<double>();
        long allocated = 0;
        const int HostGroup = 200;
        for (int g = 0; g < 15; g++)
        {
            Cuda.Synchronize();
            long before = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < HostGroup; i++)
            {
                call();
            }

            double elapsed = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            host.Add(elapsed / HostGroup);
        }

        Cuda.Synchronize();
        host.Sort();
        var row = new Dictionary<string, object>
        {
            ["device_us"] = deviceUs,
            ["host_us"] = host[host.Count / 2],
            ["host_us_min"] = host[0],
            ["alloc_bytes_per_call"] = allocated / (15.0 * HostGroup),
        };

        if (graphable && stream is not null)
        {
            const int Captured = 100;
            using var graph = CudaGraph.Capture(stream, _ =>
            {
                for (int i = 0; i < Captured; i++)
                {
                    call();
                }
            });
            row["graph_us"] = MedianMicroseconds(() => graph.Launch(stream), stream, 7, 10) / Captured;
        }

        return row;
    }

    /// <summary>
    /// About a second of every launch path (empty kernel, Forward on both streams and, on Hopper, both families) before
    /// the first timed row: .NET promotes methods to optimised (tier-1) code only after enough calls and a delay, and on
    /// 2026-12-03 the first timed row (tiny problem, default stream) took 8.2 us per call against 4.2 us on the same
    /// path measured later, which this warm-up is meant to rule out.
    /// </summary>
    private static void WarmUpProcess(CudaKernel empty, CudaStream created, bool hopper)
    {
        var (name, b, h, sq, skv) = Shapes[0];
        using var q = DeviceTensor<Half>.Create(TensorLayout.BHSD, b, sq, h, D);
        using var k = DeviceTensor<Half>.Create(TensorLayout.BHSD, b, skv, h, D);
        using var v = DeviceTensor<Half>.Create(TensorLayout.BHSD, b, skv, h, D);
        using var o = DeviceTensor<Half>.Create(TensorLayout.BHSD, b, sq, h, D);
        q.Fill(Half.One);
        k.Fill(Half.One);
        v.Fill(Half.One);
        var clock = Stopwatch.StartNew();
        for (int i = 0; clock.ElapsedMilliseconds < 1000; i++)
        {
            var stream = i % 2 == 0 ? created : null;
            GpuKernelSelection.ForcedFamily = hopper && i % 4 >= 2 ? "sm_80" : null;
            D64Fp16Dense.Forward(q, k, v, o, stream);
            var args = new LaunchArguments();
            empty.Launch(new Dim3(1), new Dim3(32), 0, stream, ref args);
            if (i % 256 == 255)
            {
                Cuda.Synchronize();
            }
        }

        Cuda.Synchronize();
        GpuKernelSelection.ForcedFamily = GpuKernelSelection.ReadForcedFamily();
        Console.WriteLine($"warm-up: {clock.ElapsedMilliseconds} ms over every launch path ({name})");
    }

    /// <summary>Median over <paramref name="groups"/> event-timed groups of <paramref name="perGroup"/> back-to-back calls, µs per call.</summary>
    private static double MedianMicroseconds(Action call, CudaStream? stream, int groups, int perGroup)
    {
        using var timer = new CudaTimer();
        var times = new List<double>();
        for (int g = 0; g < groups; g++)
        {
            timer.Start(stream);
            for (int i = 0; i < perGroup; i++)
            {
                call();
            }

            timer.Stop(stream);
            times.Add(timer.ElapsedMilliseconds() * 1000.0 / perGroup);
        }

        times.Sort();
        return times[times.Count / 2];
    }

    private static DeviceTensor<Half> Filled(DeviceTensor<Half> tensor, Random random)
    {
        var host = new Half[tensor.Length];
        for (int i = 0; i < host.Length; i++)
        {
            host[i] = (Half)((random.NextSingle() * 2) - 1);
        }

        tensor.Upload(host);
        return tensor;
    }

    private static Dictionary<string, object> Print(Dictionary<string, object> row)
    {
        string family = row.TryGetValue("family", out var f) ? $" [{f}]" : string.Empty;
        string graph = row.TryGetValue("graph_us", out var gu) ? $", graph {(double)gu,6:F2} us/call" : string.Empty;
        Console.WriteLine($"{row["name"],-28} {row["stream"],-8}{family,-17} device {(double)row["device_us"],7:F2} us/call, host {(double)row["host_us"],6:F2} us/call (min {(double)row["host_us_min"]:F2}), {(double)row["alloc_bytes_per_call"]:F1} B/call{graph}");
        return row;
    }
}
