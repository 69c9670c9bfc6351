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
var arguments = KernelDsl.Samples.BenchArguments.Parse(
    args,
    "Issue 4's variants on the GPU (causal, sliding window 1024, document mask, ALiBi, softcap; D = 128, H = 16, "
    + "B·S = 16384, fp16 and bf16), TFLOP/s on kept pairs; writes JSON for compare_variants.py and samples/PlotResults.",
    "S = 4096 only (default: 4096 and 16384).",
    smallHelp: null,
    out int exitCode);
if (arguments is null)
{
    return exitCode;
}

string outPath = arguments.OutputPath ?? "kerneldsl-variants.json";
bool quick = arguments.Quick;
if (!Cuda.IsAvailable)
{
    Console.WriteLine($"No CUDA GPU: {Cuda.UnavailableReason}");
    return 1;
}

const int D = 128, H = 16, Tokens = 16384;
var console = KernelDsl.Samples.BenchConsole.ForStandardOutput();
var device = Cuda.GetDevice();
console.Line($"KernelDsl variant benchmark on {device}, driver {Cuda.DriverVersionText}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
int[] seqs = quick ? [4096] : [4096, 16384];

// Each variant prepares, per sequence length, its forward call, its kept-pair count and what to dispose afterwards.
var variants = new List<(string Name, string DType, Func<int, Prepared> Prepare)>();
void Add<T>(string name, string dtype, Action<DeviceTensor<T>, DeviceTensor<T>, DeviceTensor<T>, DeviceTensor<T>> forward, Func<int, long> kept)
    where T : unmanaged =>
    variants.Add((name, dtype, s => new Prepared((q, k, v, o) => forward((DeviceTensor<T>)q, (DeviceTensor<T>)k, (DeviceTensor<T>)v, (DeviceTensor<T>)o), kept(s), null)));

// Document masking: random document lengths summing to S (uniform in [S/32, S/4], the last one cut), the same for
// every batch entry; flex_variants.py reads them from the JSON, so both systems mask the same documents. The
// block mask is built once per S (CreateGpuBlockMask on the CPU, then uploaded): that is part of the first call.
var documentLengths = new Dictionary<string, int[]>();
int[] Documents(int s)
{
    // One layout per S, shared by the fp16 and bf16 runs (and by FlexAttention through the JSON).
    if (documentLengths.TryGetValue(s.ToString(CultureInfo.InvariantCulture), out var known))
    {
        return known;
    }

    var lengths = new List<int>();
    var lengthRandom = new Random(s + Environment.TickCount);
    for (int left = s; left > 0;)
    {
        int length = Math.Min(left, lengthRandom.Next(s / 32, (s / 4) + 1));
        lengths.Add(length);
        left -= length;
    }

    documentLengths[s.ToString(CultureInfo.InvariantCulture)] = lengths.ToArray();
    return lengths.ToArray();
}

void AddDocuments<T>(string dtype, Func<AttentionShape, int[], BlockMask> createMaskOnCpu, Func<AttentionShape, DeviceBuffer<int>, BlockMask> createMaskOnGpu,
    Action<DeviceTensor<T>, DeviceTensor<T>, DeviceTensor<T>, DeviceTensor<T>, DeviceBuffer<int>, DeviceBlockMask> forward)
    where T : unmanaged =>
    variants.Add(("document", dtype, s =>
    {
        var lengths = Documents(s);
        var ids = new int[s];
        for (int d = 0, at = 0; d < lengths.Length; at += lengths[d], d++)
        {
            ids.AsSpan(at, lengths[d]).Fill(d);
        }

        // The block mask is built by the generated GPU builder kernel (what the first call reports); the CPU builder's
        // time is printed next to it, and its mask must be the same.
        var shape = new AttentionShape(Tokens / s, s, s, H, H, D, D);
        var build = Stopwatch.StartNew();
        var deviceIds = DeviceBuffer<int>.From(ids);
        var mask = createMaskOnGpu(shape, deviceIds);
        var deviceMask = mask.ToDevice();
        double buildMs = build.Elapsed.TotalMilliseconds;
        var cpuBuild = Stopwatch.StartNew();
        var cpuMask = createMaskOnCpu(shape, ids);
        double cpuBuildMs = cpuBuild.Elapsed.TotalMilliseconds;
        if (!cpuMask.Counts.Span.SequenceEqual(mask.Counts.Span) || !cpuMask.Indices.Span.SequenceEqual(mask.Indices.Span))
        {
            throw new InvalidOperationException($"the GPU-built block mask differs from the CPU-built one at S = {s}");
        }

        long kept = lengths.Sum(n => (long)n * (n + 1) / 2);
        console.Line($"  documents at S = {s}: {lengths.Length} ({string.Join(" ", lengths)}); block mask {mask.BlockQ}x{mask.BlockKV}, {mask.Density:P1} dense, built on the GPU + uploaded in {buildMs:F1} ms (CPU builder {cpuBuildMs:F1} ms, same mask)");
        return new Prepared((q, k, v, o) => forward((DeviceTensor<T>)q, (DeviceTensor<T>)k, (DeviceTensor<T>)v, (DeviceTensor<T>)o, deviceIds, deviceMask), kept,
            () => { deviceMask.Dispose(); deviceIds.Dispose(); }, buildMs, mask.Density);
    }));

Add<Half>("causal", "FP16", (q, k, v, o) => CausalFp16.Forward(q, k, v, o), KeptPairs.Causal);
Add<BFloat16>("causal", "BF16", (q, k, v, o) => CausalBf16.Forward(q, k, v, o), KeptPairs.Causal);
Add<Half>("sliding1024", "FP16", (q, k, v, o) => Sliding1024Fp16.Forward(q, k, v, o), s => KeptPairs.CausalWindow(s, 1024));
Add<BFloat16>("sliding1024", "BF16", (q, k, v, o) => Sliding1024Bf16.Forward(q, k, v, o), s => KeptPairs.CausalWindow(s, 1024));
AddDocuments<Half>("FP16", (shape, ids) => DocumentFp16.CreateGpuBlockMask(shape, ids), (shape, ids) => DocumentFp16.CreateGpuBlockMaskOnDevice(shape, ids),
    (q, k, v, o, ids, mask) => DocumentFp16.Forward(q, k, v, o, ids, blockMask: mask));
AddDocuments<BFloat16>("BF16", (shape, ids) => DocumentBf16.CreateGpuBlockMask(shape, ids), (shape, ids) => DocumentBf16.CreateGpuBlockMaskOnDevice(shape, ids),
    (q, k, v, o, ids, mask) => DocumentBf16.Forward(q, k, v, o, ids, blockMask: mask));
Add<Half>("alibi", "FP16", (q, k, v, o) => AlibiFp16.Forward(q, k, v, o), KeptPairs.Causal);
Add<BFloat16>("alibi", "BF16", (q, k, v, o) => AlibiBf16.Forward(q, k, v, o), KeptPairs.Causal);
Add<Half>("softcap", "FP16", (q, k, v, o) => SoftcapFp16.Forward(q, k, v, o), KeptPairs.Causal);
Add<BFloat16>("softcap", "BF16", (q, k, v, o) => SoftcapBf16.Forward(q, k, v, o), KeptPairs.Causal);

var random = new Random(Environment.TickCount);
var results = new List<Dictionary<string, object>>();
console.Run("variants", variants.Count * seqs.Length, progress =>
{
    foreach (var (name, dtype, prepare) in variants)
    {
        bool firstOfSpec = true;
        foreach (int s in seqs)
        {
            int b = Tokens / s;
            progress.Starting(VariantOutput.Describe(name, dtype, s));
            var (q, k, v, o, dispose) = dtype == "FP16" ? DeviceTiming.Allocate<Half>(b, s, H, D, random) : DeviceTiming.Allocate<BFloat16>(b, s, H, D, random);
            var prepared = prepare(s);
            var forward = prepared.Forward;
            double firstMs = double.NaN;
            if (firstOfSpec)
            {
                // PTX JIT + module load + one launch (+ the block mask's build and upload, for variants that have one).
                var first = Stopwatch.StartNew();
                forward(q, k, v, o);
                Cuda.Synchronize();
                firstMs = first.Elapsed.TotalMilliseconds + prepared.PrepareMs;
                firstOfSpec = false;
            }

            double ms = DeviceTiming.MedianMilliseconds(() => forward(q, k, v, o));
            long kept = prepared.KeptPairsPerHead;
            double tflops = 4.0 * D * b * H * kept / (ms * 1e-3) / 1e12;
            var row = new Dictionary<string, object> { ["variant"] = name, ["dtype"] = dtype, ["S"] = s, ["B"] = b, ["H"] = H, ["D"] = D, ["kept_pairs_per_head"] = kept, ["ms"] = ms, ["tflops"] = tflops };
            if (!double.IsNaN(firstMs))
            {
                row["first_call_ms"] = firstMs;
            }

            if (prepared.BlockDensity is double density)
            {
                row["block_density"] = density;
            }

            results.Add(row);
            progress.Finished(KernelDsl.Samples.BenchConsole.RowLine(VariantOutput.Columns, row));
            prepared.Dispose?.Invoke();
            dispose();
        }
    }
});

File.WriteAllText(outPath, JsonSerializer.Serialize(new { device = device.ToString(), date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm"), document_lengths = documentLengths, results }, new JsonSerializerOptions { WriteIndented = true }));
console.Line($"wrote {outPath}");
console.Table($"KernelDsl variants on {device}", VariantOutput.Columns, results);
VariantOutput.Plot(console, outPath, device.Name, results);
return 0;

/// <summary>A variant ready to run at one sequence length.</summary>
internal sealed record Prepared(Action<object, object, object, object> Forward, long KeptPairsPerHead, Action? Dispose, double PrepareMs = 0, double? BlockDensity = null);
