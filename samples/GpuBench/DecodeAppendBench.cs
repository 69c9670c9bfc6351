using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using KernelDsl;
using KernelDsl.Cuda;

namespace GpuBench;

/// <summary>
/// GpuBench --decode-append (issue 12): one decode step with rotary and KV append, three ways on the same paged bf16 cache
/// (D = 128, causal, LSE, half-split rotary), timed with CUDA events (DeviceTiming):
/// <list type="bullet">
/// <item>fused: the generated DecodeAppend — one launch (plus the split-KV merge) rotates q and k, writes k and v into their
/// pages and attends;</item>
/// <item>unfused: our own launches in sequence — RotateAppend (rotary of q into a tensor, rotated k and v into their pages: the
/// rotary kernel and the cache copy in one launch, so this baseline has one launch fewer than rotary, copy, decode) then Decode;</item>
/// <item>decode alone: Decode over the same cache (the new tokens already in it) — the fused step's floor.</item>
/// </list>
/// Each shape is measured twice in ABBA order (fused, unfused, decode, then decode, unfused, fused); the mean of the two medians
/// is reported. Shapes: the decode grid's Hq/Hkv = 32/8, page 16, B ∈ {1, 4, 16, 64} × L ∈ {1k, 4k, 16k} with one new token per
/// sequence, plus 4 new tokens (verification) at B 16 × 4k. Bars (issue 12): unfused / fused ≥ 1.2; goal fused / decode ≤ 1.05.
/// </summary>
internal static class DecodeAppendBench
{
    private const int D = 128;

    public static int Run(string outPath, bool quick)
    {
        var device = Cuda.GetDevice();
        Console.WriteLine($"KernelDsl fused decode step (rotary + append + decode) on {device}, driver {Cuda.DriverVersionText}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var shapes = new List<(int B, int L, int Q)>();
        foreach (int b in quick ? new[] { 1, 16 } : new[] { 1, 4, 16, 64 })
        {
            foreach (int l in quick ? new[] { 4096 } : new[] { 1024, 4096, 16384 })
            {
                shapes.Add((b, l, 1));
            }
        }

        shapes.Add((16, 4096, 4));
        var random = new Random(20261203);
        RunShape(shapes[0], random); // the process's first launches (module loads) untimed
        Console.WriteLine($"{"B",3} {"L",6} {"q",3} {"splits",6} {"fused us",9} {"unfused us",10} {"decode us",9} {"unfused/fused",13} {"fused/decode",12}");
        var results = new List<Dictionary<string, object?>>();
        foreach (var shape in shapes)
        {
            var row = RunShape(shape, random);
            results.Add(row);
            Console.WriteLine($"{shape.B,3} {shape.L,6} {shape.Q,3} {row["splits"],6} {(double)row["fused_us"]!,9:F1} {(double)row["unfused_us"]!,10:F1} {(double)row["decode_us"]!,9:F1} {(double)row["unfused_over_fused"]!,13:F2} {(double)row["fused_over_decode"]!,12:F3}");
        }

        File.WriteAllText(outPath, JsonSerializer.Serialize(new { device = device.ToString(), date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm"), head_dim = D, dtype = "bf16", heads_q = 32, heads_kv = 8, page_size = 16, results }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {outPath}");
        return 0;
    }

    private static Dictionary<string, object?> RunShape((int B, int L, int Q) shape, Random random)
    {
        const int headsQ = 32, headsKv = 8, pageSize = 16;
        var (b, l, q) = shape;
        int pagesPer = (l + pageSize - 1) / pageSize;
        int totalPages = b * pagesPer;
        var order = Enumerable.Range(0, totalPages).OrderBy(_ => random.Next()).ToArray();
        var offsets = Enumerable.Range(0, b + 1).Select(s => s * q).ToArray();
        var after = new PagedKvBatch(offsets, Enumerable.Repeat(l, b).ToArray(), order, pagesPer); // L includes the q new tokens
        var geometry = new PagedKvGeometry(totalPages, pageSize, headsKv, D, D);
        using var cache = DevicePagedKvCache<BFloat16>.Create(geometry);
        cache.Keys.Fill((BFloat16)0.03125f);
        cache.Values.Fill((BFloat16)0.5f);
        using var dafter = after.ToDevice(geometry, DecodeAppendBf16D128.Serving.MaxQueriesPerSequence);
        int tokens = b * q;
        using var dq = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, tokens, 1, headsQ, D);
        using var dqRot = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, tokens, 1, headsQ, D);
        using var dk = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, tokens, 1, headsKv, D);
        using var dv = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, tokens, 1, headsKv, D);
        dq.Fill((BFloat16)0.25f);
        dk.Fill((BFloat16)0.125f);
        dv.Fill((BFloat16)0.5f);
        using var o = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, tokens, 1, headsQ, D);
        using var lse = new DeviceBuffer<float>((long)tokens * headsQ);
        Action fused = () => DecodeAppendBf16D128.DecodeAppend(dq, dk, dv, cache, o, lse, dafter, headsQ);
        Action unfused = () =>
        {
            DecodeAppendBf16D128.RotateAppend(dq, dk, dv, cache, dqRot, dafter, headsQ);
            DecodeAppendBf16D128.Decode(dqRot, cache, o, lse, dafter, headsQ);
        };
        Action decode = () => DecodeAppendBf16D128.Decode(dqRot, cache, o, lse, dafter, headsQ);
        double f1 = Us(fused), u1 = Us(unfused), d1 = Us(decode);
        double d2 = Us(decode), u2 = Us(unfused), f2 = Us(fused);
        int splits = DecodeLauncher.LastPlan.Splits;
        double f = (f1 + f2) / 2, u = (u1 + u2) / 2, d = (d1 + d2) / 2;
        double bytes = (double)after.TotalKvTokens * headsKv * (D + D) * 2;
        return new Dictionary<string, object?>
        {
            ["batch"] = b, ["length"] = l, ["new_tokens"] = q, ["splits"] = splits, ["kv_bytes"] = bytes,
            ["fused_us"] = f, ["unfused_us"] = u, ["decode_us"] = d, ["fused_runs_us"] = new[] { f1, f2 }, ["unfused_runs_us"] = new[] { u1, u2 }, ["decode_runs_us"] = new[] { d1, d2 },
            ["unfused_over_fused"] = u / f, ["fused_over_decode"] = f / d, ["fused_gbps"] = bytes / (f * 1e-6) / 1e9,
        };
    }

    private static double Us(Action run) => DeviceTiming.MedianMilliseconds(run) * 1000;
}
