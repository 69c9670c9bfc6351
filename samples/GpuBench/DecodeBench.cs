using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using KernelDsl;
using KernelDsl.Cuda;

namespace GpuBench;

/// <summary>
/// GpuBench --decode (issue 11): one decode step (one new token per sequence) of the generated device Decode over a paged
/// bf16 cache, D = 128, causal bottom-right, with LSE, timed with CUDA events (DeviceTiming). Shapes: B ∈ {1, 4, 16, 64} ×
/// cache length ∈ {1k, 4k, 16k, 64k} × Hq/Hkv ∈ {32/8, 64/8, 16/16}, page size 16 (and 256 for 32/8), plus a ragged variant
/// (32/8, page 16, B ∈ {4, 16, 64}, lengths uniform in [1, 32k)). Trimmed: shapes whose pool would exceed
/// PagedKvGeometry's limit of Array.MaxLength elements per pool (B·L·Hkv·D > 2^31 − 57: B 64 × 64k everywhere, and at
/// Hkv 16 every shape of 2^20 tokens) — about 10 shapes; page size 256 only for 32/8 (the page size changes the addressing,
/// not the bytes). Pages of each sequence are shuffled across the pool; the pools are filled with a constant (the kernel
/// reads every byte whatever its value). Achieved bandwidth = K and V bytes read (Σ L·Hkv·(D + Dv)·2) ÷ time. Writes JSON
/// with every shape (and the ragged lengths) for torch_decode.py, which times PyTorch on the same tokens.
/// </summary>
internal static class DecodeBench
{
    private const int D = 128;

    public static int Run(string outPath, bool quick)
    {
        var device = Cuda.GetDevice();
        Console.WriteLine($"KernelDsl decode benchmark on {device}, driver {Cuda.DriverVersionText}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var random = new Random(20261203);
        var shapes = Shapes(quick, random).ToList();
        var results = new List<Dictionary<string, object?>>();
        Console.WriteLine($"{"Hq/Hkv",7} {"B",3} {"L",6} {"ragged",6} {"page",4} {"splits",6} {"us/step",9} {"GB/s",8}");
        var total = Stopwatch.StartNew();
        // The process's first decode launch loads the module and pays cold costs that one warm-up call of the measured shape
        // does not cover (2026-12-03 19:32: the first shape took 29.8 us, against 11.7 us when it was not first): run the first
        // shape once, untimed and with its own pages, before measuring anything.
        RunShape(shapes[0], new Random(1));
        foreach (var shape in shapes)
        {
            var row = RunShape(shape, random);
            results.Add(row);
            Console.WriteLine($"{shape.HeadsQ + "/" + shape.HeadsKv,7} {shape.Lengths.Length,3} {shape.NominalLength,6} {(shape.Ragged ? "yes" : ""),6} {shape.PageSize,4} {row["splits"],6} {(double)row["ms"]! * 1000,9:F1} {(double)row["gbps"]!,8:F0}");
        }

        Console.WriteLine($"{results.Count} shapes in {total.Elapsed.TotalSeconds:F0} s");
        File.WriteAllText(outPath, JsonSerializer.Serialize(new { device = device.ToString(), sms = device.MultiprocessorCount, date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm"), head_dim = D, dtype = "bf16", results }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {outPath}");
        return 0;
    }

    /// <summary>
    /// The split-count sweep (<c>GpuBench --decode --split-sweep</c>): bandwidth-bound equal-length shapes (32/8, page 16) timed
    /// with the split count forced to 1, 2, 4, … 64 next to the rule's own count, to tell a tail of one long wave (more, shorter
    /// CTAs would help) from a per-byte cost of the kernel (no count helps). Writes the rows, each with its forced count.
    /// </summary>
    public static int RunSplitSweep(string outPath)
    {
        var device = Cuda.GetDevice();
        Console.WriteLine($"KernelDsl decode split sweep on {device}, driver {Cuda.DriverVersionText}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var results = new List<Dictionary<string, object?>>();
        var shapes = new[] { (B: 4, L: 65536), (B: 16, L: 16384), (B: 16, L: 65536), (B: 64, L: 16384) }
            .Select(x => new Shape(32, 8, Enumerable.Repeat(x.L, x.B).ToArray(), x.L, 16, false)).ToList();
        RunShape(shapes[0], new Random(1));
        Console.WriteLine($"{"B",3} {"L",6} {"forced",6} {"splits",6} {"us/step",9} {"GB/s",8}");
        foreach (var shape in shapes)
        {
            foreach (int? forced in new int?[] { null, 1, 2, 4, 8, 16, 32, 64 })
            {
                DecodeSplits.Forced = forced;
                Dictionary<string, object?> row;
                try
                {
                    row = RunShape(shape, new Random(20261203));
                }
                finally
                {
                    DecodeSplits.Forced = null;
                }

                row["forced_splits"] = forced;
                results.Add(row);
                Console.WriteLine($"{shape.Lengths.Length,3} {shape.NominalLength,6} {(forced?.ToString() ?? "rule"),6} {row["splits"],6} {(double)row["ms"]! * 1000,9:F1} {(double)row["gbps"]!,8:F0}");
            }
        }

        File.WriteAllText(outPath, JsonSerializer.Serialize(new { device = device.ToString(), sms = device.MultiprocessorCount, date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm"), head_dim = D, dtype = "bf16", results }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {outPath}");
        return 0;
    }

    private sealed record Shape(int HeadsQ, int HeadsKv, int[] Lengths, int NominalLength, int PageSize, bool Ragged);

    private static IEnumerable<Shape> Shapes(bool quick, Random random)
    {
        int[] batches = quick ? [1, 16] : [1, 4, 16, 64];
        int[] lengths = quick ? [4096, 16384] : [1024, 4096, 16384, 65536];
        foreach (var (hq, hkv) in new[] { (32, 8), (64, 8), (16, 16) })
        {
            foreach (int pageSize in hq == 32 ? new[] { 16, 256 } : new[] { 16 })
            {
                foreach (int b in batches)
                {
                    foreach (int l in lengths)
                    {
                        if (Fits(b * (long)l, hkv))
                        {
                            yield return new Shape(hq, hkv, Enumerable.Repeat(l, b).ToArray(), l, pageSize, false);
                        }
                    }
                }
            }
        }

        foreach (int b in quick ? new[] { 16 } : new[] { 4, 16, 64 })
        {
            var ragged = Enumerable.Range(0, b).Select(_ => 1 + random.Next(32767)).ToArray();
            yield return new Shape(32, 8, ragged, 16384, 16, true);
        }
    }

    /// <summary>A pool of this many tokens (plus a page per sequence of rounding) stays within PagedKvGeometry's Array.MaxLength elements.</summary>
    private static bool Fits(long tokens, int headsKv) => (tokens + 4096) * headsKv * D <= Array.MaxLength;

    private static Dictionary<string, object?> RunShape(Shape shape, Random random)
    {
        int b = shape.Lengths.Length;
        var pagesPer = shape.Lengths.Select(l => (l + shape.PageSize - 1) / shape.PageSize).ToArray();
        int totalPages = pagesPer.Sum();
        int maxPages = pagesPer.Max();
        var order = Enumerable.Range(0, totalPages).OrderBy(_ => random.Next()).ToArray();
        var table = new int[b * maxPages];
        int next = 0;
        for (int s = 0; s < b; s++)
        {
            for (int p = 0; p < pagesPer[s]; p++)
            {
                table[(s * maxPages) + p] = order[next++];
            }
        }

        var offsets = Enumerable.Range(0, b + 1).ToArray();
        var batch = new PagedKvBatch(offsets, shape.Lengths, table, maxPages);
        var geometry = new PagedKvGeometry(totalPages, shape.PageSize, shape.HeadsKv, D, D);
        using var cache = DevicePagedKvCache<BFloat16>.Create(geometry);
        cache.Keys.Fill((BFloat16)0.03125f);
        cache.Values.Fill((BFloat16)0.5f);
        using var dbatch = batch.ToDevice(geometry, DecodeBf16D128.Serving.MaxQueriesPerSequence);
        using var q = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, b, 1, shape.HeadsQ, D);
        q.Fill((BFloat16)0.25f);
        using var o = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, b, 1, shape.HeadsQ, D);
        using var lse = new DeviceBuffer<float>((long)b * shape.HeadsQ);
        double ms = DeviceTiming.MedianMilliseconds(() => DecodeBf16D128.Decode(q, cache, o, lse, dbatch, shape.HeadsQ));
        int splits = DecodeLauncher.LastPlan.Splits;
        double bytes = (double)batch.TotalKvTokens * shape.HeadsKv * (D + D) * 2;
        return new Dictionary<string, object?>
        {
            ["heads_q"] = shape.HeadsQ, ["heads_kv"] = shape.HeadsKv, ["batch"] = b, ["length"] = shape.NominalLength,
            ["ragged"] = shape.Ragged, ["lengths"] = shape.Ragged ? shape.Lengths : null, ["page_size"] = shape.PageSize,
            ["tokens"] = batch.TotalKvTokens, ["kv_bytes"] = bytes, ["splits"] = splits, ["ms"] = ms, ["gbps"] = bytes / (ms * 1e-3) / 1e9,
        };
    }
}
