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
/// GpuBench --varlen (issue 11): the generated device ForwardVarlen against the same spec's dense Forward at the same total
/// tokens, in the same run. Grid: 16384 tokens in all, H·D = 2048 (Hq = Hkv), D ∈ {64, 128}, bf16, causal (bottom-right) and
/// not; nominal length S ∈ {512 … 16384}. Each row is one batch of sequences:
/// - uniform: 16384 / S sequences of S tokens (the varlen kernel on exactly the dense call's work);
/// - ragged: 16384 / S sequences of lengths drawn uniformly in [1, 2S) and rescaled to sum to 16384 (same tokens, same mean).
/// Timed for each (CUDA events, DeviceTiming): the varlen call and the dense Forward on [16384 / S, S], each with the default
/// kernel family (sm_90a on Hopper where the spec has one) and with the sm_80 family forced (GpuKernelSelection.ForcedFamily);
/// and the dense Forward padded to the batch's longest sequence (what a caller without varlen pays). TFLOP/s = 4·D·H·(kept
/// query-key pairs) / time, pairs counted exactly — L(L+1)/2 per causal sequence of L queries and L keys, L² otherwise — on the
/// batch's real (unpadded) sequences for the varlen and padded columns, and on the dense call's own [16384 / S, S] for the
/// dense columns (a ragged batch of mean S holds more pairs than the uniform one: E[L²] > S²). The ratios printed are varlen
/// TFLOP/s ÷ dense TFLOP/s within one family (issue 11's bar: ≥ 0.90).
/// </summary>
internal static class VarlenBench
{
    private const int TotalTokens = 16384;

    private const int HeadsTimesDim = 2048;

    public static int Run(string outPath, bool quick)
    {
        var device = Cuda.GetDevice();
        Console.WriteLine($"KernelDsl varlen benchmark on {device}, driver {Cuda.DriverVersionText}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        var random = new Random(20261203);
        int[] seqs = quick ? [1024, 8192] : [512, 1024, 2048, 4096, 8192, 16384];
        var results = new List<Dictionary<string, object?>>();
        Console.WriteLine($"{"D",4} {"causal",6} {"S",6} {"batch",7} {"varlen",8} {"dense",8} {"varl80",8} {"dense80",8} {"padded",8}  TFLOP/s (dense: its own pairs; others: real pairs) | varlen/dense TFLOP/s, same family: default, sm_80");
        var total = Stopwatch.StartNew();
        foreach (int d in new[] { 64, 128 })
        {
            foreach (bool causal in new[] { false, true })
            {
                foreach (int s in seqs)
                {
                    int b = TotalTokens / s;
                    foreach (bool ragged in new[] { false, true })
                    {
                        var lengths = ragged ? Ragged(random, b, s) : Enumerable.Repeat(s, b).ToArray();
                        var row = RunRow(d, causal, s, lengths, ragged, random);
                        results.Add(row);
                        Console.WriteLine($"{d,4} {(causal ? "yes" : ""),6} {s,6} {(ragged ? "ragged" : "uniform"),7} {Tflops(row, "varlen_ms"),8:F1} {Tflops(row, "dense_ms"),8:F1} {Tflops(row, "varlen_sm80_ms"),8:F1} {Tflops(row, "dense_sm80_ms"),8:F1} {Tflops(row, "padded_ms"),8:F1}  {Tflops(row, "varlen_ms") / Tflops(row, "dense_ms"),6:F2} {Tflops(row, "varlen_sm80_ms") / Tflops(row, "dense_sm80_ms"),6:F2}");
                    }
                }
            }
        }

        Console.WriteLine($"{results.Count} rows in {total.Elapsed.TotalSeconds:F0} s");
        File.WriteAllText(outPath, JsonSerializer.Serialize(new { device = device.ToString(), sms = device.MultiprocessorCount, date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm"), dtype = "bf16", total_tokens = TotalTokens, results }, new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"wrote {outPath}");
        return 0;
    }

    /// <summary>TFLOP/s of one column: the dense columns on the dense call's own pairs, the others (varlen, padded) on the batch's real pairs.</summary>
    private static double Tflops(Dictionary<string, object?> row, string time) =>
        (double)row[time.StartsWith("dense", StringComparison.Ordinal) ? "dense_flops" : "flops"]! / ((double)row[time]! * 1e-3) / 1e12;

    /// <summary>
    /// b lengths drawn uniformly in [1, 2s), rescaled to sum to exactly b·s: the cut points are the rounded cumulative sums, so
    /// the total is exact (a length may round to 0: an empty sequence, which varlen allows).
    /// </summary>
    private static int[] Ragged(Random random, int b, int s)
    {
        var raw = Enumerable.Range(0, b).Select(_ => 1.0 + random.Next((2 * s) - 1)).ToArray();
        double sum = raw.Sum(), running = 0;
        var lengths = new int[b];
        int previous = 0;
        for (int i = 0; i < b; i++)
        {
            running += raw[i];
            int cut = i == b - 1 ? b * s : (int)Math.Round(running / sum * b * s);
            lengths[i] = cut - previous;
            previous = cut;
        }

        return lengths;
    }

    private static Dictionary<string, object?> RunRow(int d, bool causal, int s, int[] lengths, bool ragged, Random random)
    {
        int h = HeadsTimesDim / d, b = lengths.Length, tokens = lengths.Sum(), longest = lengths.Max();
        if (tokens != b * s)
        {
            throw new InvalidOperationException($"the batch holds {tokens} tokens, not {b} x {s}: the dense view would read past it");
        }

        double pairs = lengths.Sum(l => causal ? l * (l + 1.0) / 2 : (double)l * l);
        double densePairs = b * (causal ? s * (s + 1.0) / 2 : (double)s * s);
        var offsets = new int[b + 1];
        for (int i = 0; i < b; i++)
        {
            offsets[i + 1] = offsets[i] + lengths[i];
        }

        var forward = Calls(d, causal);
        using var batch = new VarlenBatch(offsets, offsets).ToDevice();
        using var q = Random(random, 1, tokens, h, d);
        using var k = Random(random, 1, tokens, h, d);
        using var v = Random(random, 1, tokens, h, d);
        using var o = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, 1, tokens, h, d);
        double varlenMs = DeviceTiming.MedianMilliseconds(() => forward.Varlen(q, k, v, o, batch, h));
        // The dense call on the same total tokens: [b, s] when uniform; for a ragged batch, the uniform batch of its mean length.
        using var dq = View(q, b, s, h, d);
        using var dk = View(k, b, s, h, d);
        using var dv = View(v, b, s, h, d);
        using var dout = View(o, b, s, h, d);
        double denseMs = DeviceTiming.MedianMilliseconds(() => forward.Dense(dq, dk, dv, dout));
        string? previous = GpuKernelSelection.ForcedFamily;
        GpuKernelSelection.ForcedFamily = "sm_80";
        double dense80Ms, varlen80Ms;
        try
        {
            varlen80Ms = DeviceTiming.MedianMilliseconds(() => forward.Varlen(q, k, v, o, batch, h));
            dense80Ms = DeviceTiming.MedianMilliseconds(() => forward.Dense(dq, dk, dv, dout));
        }
        finally
        {
            GpuKernelSelection.ForcedFamily = previous;
        }

        // Padded to the longest sequence: what the same batch costs without varlen.
        double paddedMs = denseMs;
        if (ragged)
        {
            using var pq = Random(random, b, longest, h, d);
            using var pk = Random(random, b, longest, h, d);
            using var pv = Random(random, b, longest, h, d);
            using var po = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, b, longest, h, d);
            paddedMs = DeviceTiming.MedianMilliseconds(() => forward.Dense(pq, pk, pv, po));
        }

        return new Dictionary<string, object?>
        {
            ["head_dim"] = d, ["heads"] = h, ["causal"] = causal, ["nominal_length"] = s, ["ragged"] = ragged, ["sequences"] = b,
            ["longest"] = longest, ["lengths"] = ragged ? lengths : null, ["pairs"] = pairs, ["flops"] = 4.0 * d * h * pairs, ["dense_flops"] = 4.0 * d * h * densePairs,
            ["varlen_ms"] = varlenMs, ["varlen_sm80_ms"] = varlen80Ms, ["dense_ms"] = denseMs, ["dense_sm80_ms"] = dense80Ms, ["padded_ms"] = paddedMs,
        };
    }

    private sealed record SpecCalls(
        Action<DeviceTensor<BFloat16>, DeviceTensor<BFloat16>, DeviceTensor<BFloat16>, DeviceTensor<BFloat16>, DeviceVarlenBatch, int> Varlen,
        Action<DeviceTensor<BFloat16>, DeviceTensor<BFloat16>, DeviceTensor<BFloat16>, DeviceTensor<BFloat16>> Dense);

    private static SpecCalls Calls(int d, bool causal) => (d, causal) switch
    {
        (64, false) => new((q, k, v, o, batch, h) => VarlenD64Bf16Dense.ForwardVarlen(q, k, v, o, batch, h, h), (q, k, v, o) => VarlenD64Bf16Dense.Forward(q, k, v, o)),
        (64, true) => new((q, k, v, o, batch, h) => VarlenD64Bf16Causal.ForwardVarlen(q, k, v, o, batch, h, h), (q, k, v, o) => VarlenD64Bf16Causal.Forward(q, k, v, o)),
        (128, false) => new((q, k, v, o, batch, h) => VarlenD128Bf16Dense.ForwardVarlen(q, k, v, o, batch, h, h), (q, k, v, o) => VarlenD128Bf16Dense.Forward(q, k, v, o)),
        _ => new((q, k, v, o, batch, h) => VarlenD128Bf16Causal.ForwardVarlen(q, k, v, o, batch, h, h), (q, k, v, o) => VarlenD128Bf16Causal.Forward(q, k, v, o)),
    };

    /// <summary>The packed [1, b·s, h, d] tensor seen as [b, s, h, d] (the same memory, not owned).</summary>
    private static DeviceTensor<BFloat16> View(DeviceTensor<BFloat16> packed, int b, int s, int h, int d) =>
        DeviceTensor<BFloat16>.Wrap(packed.DevicePointer, TensorLayout.BSHD, [b, s, h, d], packed.Context);

    /// <summary>A BSHD bf16 tensor of uniform values in [−1, 1).</summary>
    private static DeviceTensor<BFloat16> Random(Random random, int b, int s, int h, int d)
    {
        var tensor = DeviceTensor<BFloat16>.Create(TensorLayout.BSHD, b, s, h, d);
        var host = new BFloat16[tensor.Length];
        for (int i = 0; i < host.Length; i++)
        {
            host[i] = (BFloat16)(float)((random.NextDouble() * 2) - 1);
        }

        tensor.Upload(host);
        return tensor;
    }
}
