using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using FlexBench;
using GpuBench;
using KernelDsl;
using KernelDsl.Cuda;

// Issue 4's variants on the GPU: each spec timed with CUDA events (DeviceTiming: warm-up, median of 7 groups) on
// fresh random inputs, TFLOP/s counted on kept (q, kv) pairs only (4·D per pair), and each spec's first call
// (PTX JIT + module load + one run). flex_variants.py measures FlexAttention on the same variants and shapes in
// the same device call; compare_variants.py joins the two. Usage: FlexBench [output.json] [--quick]
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string outPath = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "kerneldsl-variants.json";
bool quick = args.Contains("--quick");
if (!Cuda.IsAvailable)
{
    Console.WriteLine($"No CUDA GPU: {Cuda.UnavailableReason}");
    return 1;
}

const int D = 128, H = 16, Tokens = 16384;
var device = Cuda.GetDevice();
Console.WriteLine($"KernelDsl variant benchmark on {device}, driver {Cuda.DriverVersionText}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
int[] seqs = quick ? [4096] : [4096, 16384];

var variants = new List<(string Name, string DType, Action<object, object, object, object> Forward, Func<int, long> KeptPairsPerHead)>();
void Add<T>(string name, string dtype, Action<DeviceTensor<T>, DeviceTensor<T>, DeviceTensor<T>, DeviceTensor<T>> forward, Func<int, long> kept)
    where T : unmanaged =>
    variants.Add((name, dtype, (q, k, v, o) => forward((DeviceTensor<T>)q, (DeviceTensor<T>)k, (DeviceTensor<T>)v, (DeviceTensor<T>)o), kept));

Add<Half>("causal", "FP16", (q, k, v, o) => CausalFp16.Forward(q, k, v, o), KeptPairs.Causal);
Add<BFloat16>("causal", "BF16", (q, k, v, o) => CausalBf16.Forward(q, k, v, o), KeptPairs.Causal);
Add<Half>("sliding1024", "FP16", (q, k, v, o) => Sliding1024Fp16.Forward(q, k, v, o), s => KeptPairs.CausalWindow(s, 1024));
Add<BFloat16>("sliding1024", "BF16", (q, k, v, o) => Sliding1024Bf16.Forward(q, k, v, o), s => KeptPairs.CausalWindow(s, 1024));
Add<Half>("alibi", "FP16", (q, k, v, o) => AlibiFp16.Forward(q, k, v, o), KeptPairs.Causal);
Add<BFloat16>("alibi", "BF16", (q, k, v, o) => AlibiBf16.Forward(q, k, v, o), KeptPairs.Causal);
Add<Half>("softcap", "FP16", (q, k, v, o) => SoftcapFp16.Forward(q, k, v, o), KeptPairs.Causal);
Add<BFloat16>("softcap", "BF16", (q, k, v, o) => SoftcapBf16.Forward(q, k, v, o), KeptPairs.Causal);

var random = new Random(Environment.TickCount);
var results = new List<Dictionary<string, object>>();
Console.WriteLine($"{"variant",-12} {"dtype",5} {"S",6} {"B",3} {"ms",9} {"TFLOP/s",8} {"first call ms",14}");
foreach (var (name, dtype, forward, keptPerHead) in variants)
{
    bool firstOfSpec = true;
    foreach (int s in seqs)
    {
        int b = Tokens / s;
        var (q, k, v, o, dispose) = dtype == "FP16" ? DeviceTiming.Allocate<Half>(b, s, H, D, random) : DeviceTiming.Allocate<BFloat16>(b, s, H, D, random);
        double firstMs = double.NaN;
        if (firstOfSpec)
        {
            var first = Stopwatch.StartNew();
            forward(q, k, v, o);
            Cuda.Synchronize();
            firstMs = first.Elapsed.TotalMilliseconds;
            firstOfSpec = false;
        }

        double ms = DeviceTiming.MedianMilliseconds(() => forward(q, k, v, o));
        long kept = keptPerHead(s);
        double tflops = 4.0 * D * b * H * kept / (ms * 1e-3) / 1e12;
        Console.WriteLine($"{name,-12} {dtype,5} {s,6} {b,3} {ms,9:F4} {tflops,8:F1} {(double.IsNaN(firstMs) ? "" : firstMs.ToString("F1")),14}");
        var row = new Dictionary<string, object> { ["variant"] = name, ["dtype"] = dtype, ["S"] = s, ["B"] = b, ["H"] = H, ["D"] = D, ["kept_pairs_per_head"] = kept, ["ms"] = ms, ["tflops"] = tflops };
        if (!double.IsNaN(firstMs))
        {
            row["first_call_ms"] = firstMs;
        }

        results.Add(row);
        dispose();
    }
}

File.WriteAllText(outPath, JsonSerializer.Serialize(new { device = device.ToString(), date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm"), results }, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"wrote {outPath}");
return 0;
